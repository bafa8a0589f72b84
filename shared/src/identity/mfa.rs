//! The second factor: TOTP enrolment (secret encrypted at rest with AES-256-GCM, confirmed by a first
//! valid code), one-time codes by email as the alternative, single-use recovery codes (shown once,
//! stored hashed), and the login challenge: a password-verified login whose user has a factor, or
//! whose tenant requires one for the user's roles (tenant setting `mfa.required_roles`), gets a
//! short-lived challenge instead of tokens until `POST /api/v1/auth/mfa/verify` succeeds.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Transaction;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::Principal;
use super::model::{TokenPair, new_secret, parse_secret};
use super::service::sessions::start;
use super::totp;
use crate::notifications::{EmailRequested, EmailTemplate};
use crate::platform::audit::{self, Actor, Entry};
use crate::platform::crypto::{open, random, seal, sealing_key, sha256};
use crate::platform::db::scoped_tx;
use crate::platform::error::{ApiError, FieldError};
use crate::platform::events;
use crate::platform::http::ApiJson;
use crate::platform::http::Caller;
use crate::platform::rate_limit;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
pub const EMAIL_CODE_TTL: Duration = Duration::minutes(10);
/// Wrong codes a challenge tolerates before it is spent.
pub const MAX_ATTEMPTS: i32 = 5;
pub const RECOVERY_CODES: usize = 10;
pub const REQUIRED_ROLES_SETTING: &str = "mfa.required_roles";
const ISSUER: &str = "Regen Therapy Gateway";

/// A user's live (confirmed, not disabled) TOTP factor: id, sealed secret, newest step used.
async fn live_factor(
    tx: &Transaction<'_>,
    user: Uuid,
) -> Result<Option<(Uuid, Vec<u8>, Option<i64>)>, ApiError> {
    Ok(tx
        .query_opt(
            "SELECT id, secret_encrypted, last_step FROM mfa_factors
              WHERE user_id = $1 AND confirmed_at IS NOT NULL AND disabled_at IS NULL",
            &[&user],
        )
        .await?
        .map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// Checks `code` against the live TOTP factor and records its step (so it is never accepted again).
async fn check_totp(
    state: &AppState,
    tx: &Transaction<'_>,
    user: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let Some((factor, sealed, last)) = live_factor(tx, user).await? else { return Ok(false) };
    let secret = open(&sealing_key(state).await?, factor, &sealed)?;
    match totp::verify(&secret, code, totp::step_of(now.timestamp()), last) {
        Some(step) => {
            // Conditional, so two requests racing with the same code cannot both have it.
            let n = tx
                .execute(
                    "UPDATE mfa_factors SET last_step = $2 WHERE id = $1 AND (last_step IS NULL OR last_step < $2)",
                    &[&factor, &step],
                )
                .await?;
            Ok(n == 1)
        }
        None => Ok(false),
    }
}

/// Spends a recovery code if it is one of the user's unused ones.
async fn use_recovery_code(
    tx: &Transaction<'_>,
    user: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let normalized: String =
        code.trim().to_ascii_uppercase().chars().filter(|c| *c != '-' && *c != ' ').collect();
    let n = tx
        .execute(
            "UPDATE mfa_recovery_codes SET used_at = $3
              WHERE id = (SELECT id FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
                           LIMIT 1 FOR UPDATE)",
            &[&user, &sha256(&normalized), &now],
        )
        .await?;
    Ok(n > 0)
}

/// Second-factor tries, like logins: limited per user and per client IP, failing closed.
/// Per client IP first (before anything about the challenge is known)...
async fn limit_ip(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    match &caller.ip {
        Some(ip) => {
            rate_limit::enforce(
                state,
                &format!("mfa-ip:{ip}"),
                rate_limit::LOGIN_PER_IP,
                rate_limit::WhenDown::Closed,
            )
            .await
        }
        None => Ok(()),
    }
}

/// ...then per user, once the challenge proved to be real (so nobody can spend a victim's budget
/// with junk tokens naming their user id).
async fn limit_user(state: &AppState, user: Uuid) -> Result<(), ApiError> {
    rate_limit::enforce(
        state,
        &format!("mfa:{user}"),
        rate_limit::LOGIN_PER_EMAIL,
        rate_limit::WhenDown::Closed,
    )
    .await
}

/// What a login answers when a second factor is needed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// Send with the code to `POST /api/v1/auth/mfa/verify`.
    pub challenge_token: String,
    /// `totp` (an enrolled authenticator), `email` (a code by email: `POST /api/v1/auth/mfa/email`),
    /// `recovery_code`.
    pub methods: Vec<String>,
    pub expires_in: i64,
}

/// Whether a login of `user` into `tenant` needs a second factor; if so, the challenge. `tx` is
/// scoped to the tenant and the user.
pub async fn challenge_if_needed(
    tx: &Transaction<'_>,
    user: Uuid,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Option<MfaChallenge>, ApiError> {
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL
                              AND disabled_at IS NULL),
                    EXISTS (SELECT 1 FROM role_grants g, tenant_settings s
                             WHERE g.tenant_id = $2 AND g.user_id = $1 AND s.tenant_id = $2 AND s.key = $3
                               AND s.value ? g.role_code)",
            &[&user, &tenant.as_uuid(), &REQUIRED_ROLES_SETTING],
        )
        .await?;
    let (enrolled, required): (bool, bool) = (row.get(0), row.get(1));
    if !enrolled && !required {
        return Ok(None);
    }
    let (token, hash) = new_secret(user)?;
    tx.execute(
        "INSERT INTO mfa_challenges (id, user_id, tenant_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&Uuid::now_v7(), &user, &tenant.as_uuid(), &hash, &now, &(now + CHALLENGE_TTL)],
    )
    .await?;
    // With an authenticator the mailbox is not a second factor (a reset already rides on it).
    let methods: Vec<String> =
        if enrolled { vec!["totp".into(), "recovery_code".into()] } else { vec!["email".into()] };
    Ok(Some(MfaChallenge {
        mfa_required: true,
        challenge_token: token,
        methods,
        expires_in: CHALLENGE_TTL.num_seconds(),
    }))
}

/// The live challenge a token names, locked; 401 if there is none.
async fn load_challenge(
    tx: &Transaction<'_>,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(Uuid, TenantId, Option<Vec<u8>>, Option<DateTime<Utc>>), ApiError> {
    let row = tx
        .query_opt(
            "SELECT id, tenant_id, email_code_hash, email_code_expires_at FROM mfa_challenges
              WHERE token_hash = $1 AND completed_at IS NULL AND expires_at > $2 AND attempts < $3
              FOR UPDATE",
            &[&hash, &now, &MAX_ATTEMPTS],
        )
        .await?
        .ok_or_else(|| {
            ApiError::Unauthenticated("the sign-in challenge is invalid, used or expired".into())
        })?;
    Ok((row.get(0), TenantId::from_uuid(row.get(1)), row.get(2), row.get(3)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub challenge_token: String,
    /// A 6-digit code from the authenticator or the email.
    pub code: Option<String>,
    /// One of the recovery codes (each works once).
    pub recovery_code: Option<String>,
}

/// Completes a login with its second factor: tokens, as a login without one would return.
#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", operation_id = "auth_mfa_verify", tag = "identity",
    request_body = Verify,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Wrong code, or the challenge is invalid, used, expired or out of attempts", body = crate::Problem),
        (status = 429, description = "Too many tries for this user", body = crate::Problem),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<Verify>,
) -> Result<Json<TokenPair>, ApiError> {
    let refused = || ApiError::Unauthenticated("the sign-in challenge is invalid, used or expired".into());
    let (user, hash) = parse_secret(&req.challenge_token).ok_or_else(refused)?;
    if req.code.is_none() == req.recovery_code.is_none() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "code",
            "required",
            "send code or recovery_code",
        )]));
    }
    limit_ip(&state, &caller).await?;
    let now = state.clock().now();
    let keys = crate::identity::keys::of(&state).await;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, None, Some(user)).await?;
    let (challenge, tenant, email_hash, email_expires) = load_challenge(&tx, &hash, now).await?;
    limit_user(&state, user).await?;
    let method = if let Some(code) = &req.code {
        if check_totp(&state, &tx, user, code, now).await? {
            Some("totp")
        } else {
            let email_ok = email_hash.as_deref() == Some(&sha256(code.trim())[..])
                && email_expires.is_some_and(|e| e > now);
            email_ok.then_some("email")
        }
    } else if let Some(code) = &req.recovery_code {
        use_recovery_code(&tx, user, code, now).await?.then_some("recovery_code")
    } else {
        None
    };
    crate::platform::db::scope_tenant(&tx, tenant).await?;
    let actor = Actor::person("user", user, Some(tenant), &caller);
    let Some(method) = method else {
        tx.execute("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1", &[&challenge]).await?;
        tx.commit().await?;
        return Err(ApiError::InvalidSecondFactor);
    };
    tx.execute("UPDATE mfa_challenges SET completed_at = $2 WHERE id = $1", &[&challenge, &now]).await?;
    if method == "recovery_code" {
        audit::record_as(&tx, Some(tenant), &actor, now, Entry::new("mfa.recovery_code_used", "user", user))
            .await?;
    }
    let member = tx
        .query_opt(
            "SELECT 1 FROM tenant_users m JOIN tenants t ON t.id = m.tenant_id
              WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.status = 'active' AND t.status = 'active'",
            &[&tenant.as_uuid(), &user],
        )
        .await?;
    if member.is_none() {
        tx.commit().await?;
        return Err(ApiError::Forbidden("no active membership in that tenant any more".into()));
    }
    let tokens = start(&tx, &keys, user, tenant, &caller, now).await?;
    tx.execute("UPDATE sessions SET mfa_verified = true WHERE id = $1", &[&tokens.session_id]).await?;
    let entry =
        Entry::new("session.login", "session", tokens.session_id).after(serde_json::json!({ "mfa": method }));
    audit::record_as(&tx, Some(tenant), &actor, now, entry).await?;
    tx.commit().await?;
    Ok(Json(tokens))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailCodeRequest {
    pub challenge_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sent {
    /// Always `sent`.
    pub status: &'static str,
    pub expires_in: i64,
}

/// Emails a one-time code for a pending login (the alternative to an authenticator).
#[utoipa::path(post, path = "/api/v1/auth/mfa/email", operation_id = "auth_mfa_email", tag = "identity",
    request_body = EmailCodeRequest,
    responses(
        (status = 202, description = "A code is on its way to the user's email", body = Sent),
        (status = 401, description = "The challenge is invalid, used or expired", body = crate::Problem),
    ))]
pub async fn email_code(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<EmailCodeRequest>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let refused = || ApiError::Unauthenticated("the sign-in challenge is invalid, used or expired".into());
    let (user, hash) = parse_secret(&req.challenge_token).ok_or_else(refused)?;
    limit_ip(&state, &caller).await?;
    let now = state.clock().now();
    let db = state.db().await?;
    let mut conn = db.conn().await?;
    let tx = scoped_tx(&mut conn, None, Some(user)).await?;
    let (challenge, tenant, _, _) = load_challenge(&tx, &hash, now).await?;
    limit_user(&state, user).await?;
    if live_factor(&tx, user).await?.is_some() {
        return Err(ApiError::Conflict {
            code: "use_authenticator",
            detail: "this account has an authenticator: use its code or a recovery code".into(),
        });
    }
    let n = u32::from_be_bytes(random::<4>()?) % 1_000_000;
    let code = format!("{n:06}");
    tx.execute(
        "UPDATE mfa_challenges SET email_code_hash = $2, email_code_expires_at = $3 WHERE id = $1",
        &[&challenge, &sha256(&code), &(now + EMAIL_CODE_TTL)],
    )
    .await?;
    let email: String = tx.query_one("SELECT email FROM users WHERE id = $1", &[&user]).await?.get(0);
    crate::platform::db::scope_tenant(&tx, tenant).await?;
    let mut params = serde_json::Map::new();
    params.insert("code".into(), code.into());
    params.insert("expires_minutes".into(), EMAIL_CODE_TTL.num_minutes().into());
    let mail = EmailRequested { to: email, template: EmailTemplate::EmailCode, params };
    let envelope = events::record(&*tx, Some(tenant), state.clock().as_ref(), &mail).await?;
    tx.commit().await?;
    events::publish_committed(&state, &[envelope]).await?;
    Ok((StatusCode::ACCEPTED, Json(Sent { status: "sent", expires_in: EMAIL_CODE_TTL.num_seconds() })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolment {
    pub factor_id: Uuid,
    /// The shared secret, base32 (type it into an authenticator app).
    pub secret: String,
    /// The same as a QR-code-ready `otpauth://totp/...` URI.
    pub otpauth_uri: String,
}

fn uri_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts TOTP enrolment: a new secret, unconfirmed until `POST /api/v1/auth/mfa/confirm`.
#[utoipa::path(post, path = "/api/v1/auth/mfa/setup", operation_id = "auth_mfa_setup", tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The secret to enter in an authenticator", body = Enrolment),
        (status = 409, description = "An authenticator is already enrolled (disable it first)", body = crate::Problem),
    ))]
pub async fn setup(State(state): State<AppState>, principal: Principal) -> Result<Json<Enrolment>, ApiError> {
    let key = sealing_key(&state).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    if live_factor(&tx, principal.user_id).await?.is_some() {
        return Err(ApiError::Conflict {
            code: "mfa_enrolled",
            detail: "an authenticator is already enrolled".into(),
        });
    }
    tx.execute(
        "UPDATE mfa_factors SET disabled_at = $2 WHERE user_id = $1 AND confirmed_at IS NULL AND disabled_at IS NULL",
        &[&principal.user_id, &principal.now],
    )
    .await?;
    let secret = random::<20>()?;
    let factor = Uuid::now_v7();
    tx.execute(
        "INSERT INTO mfa_factors (id, user_id, kind, secret_encrypted, created_at) VALUES ($1, $2, 'totp', $3, $4)",
        &[&factor, &principal.user_id, &seal(&key, factor, &secret)?, &principal.now],
    )
    .await?;
    let email: String =
        tx.query_one("SELECT email FROM users WHERE id = $1", &[&principal.user_id]).await?.get(0);
    tx.commit().await?;
    let b32 = totp::base32(&secret);
    let otpauth_uri = format!(
        "otpauth://totp/{}:{}?secret={b32}&issuer={}&algorithm=SHA1&digits={}&period={}",
        uri_escape(ISSUER),
        uri_escape(&email),
        uri_escape(ISSUER),
        totp::DIGITS,
        totp::STEP_SECONDS
    );
    Ok(Json(Enrolment { factor_id: factor, secret: b32, otpauth_uri }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each works once, instead of a code. Shown only now.
    pub recovery_codes: Vec<String>,
}

/// Confirms TOTP enrolment with a first valid code; answers the recovery codes (shown once).
#[utoipa::path(post, path = "/api/v1/auth/mfa/confirm", operation_id = "auth_mfa_confirm", tag = "identity",
    security(("bearer" = [])),
    request_body = Confirm,
    responses(
        (status = 200, description = "Enrolled", body = RecoveryCodes),
        (status = 401, description = "The code is wrong", body = crate::Problem),
        (status = 409, description = "No enrolment in progress", body = crate::Problem),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<Confirm>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let key = sealing_key(&state).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let pending = tx
        .query_opt(
            "SELECT id, secret_encrypted FROM mfa_factors
              WHERE user_id = $1 AND confirmed_at IS NULL AND disabled_at IS NULL ORDER BY id DESC LIMIT 1 FOR UPDATE",
            &[&principal.user_id],
        )
        .await?
        .ok_or(ApiError::Conflict { code: "no_enrolment", detail: "start with POST /api/v1/auth/mfa/setup".into() })?;
    let (factor, sealed): (Uuid, Vec<u8>) = (pending.get(0), pending.get(1));
    let secret = open(&key, factor, &sealed)?;
    let Some(step) = totp::verify(&secret, &req.code, totp::step_of(principal.now.timestamp()), None) else {
        return Err(ApiError::InvalidSecondFactor);
    };
    tx.execute(
        "UPDATE mfa_factors SET confirmed_at = $2, last_step = $3 WHERE id = $1",
        &[&factor, &principal.now, &step],
    )
    .await?;
    tx.execute(
        "UPDATE mfa_recovery_codes SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        &[&principal.user_id, &principal.now],
    )
    .await?;
    let mut codes = Vec::new();
    for _ in 0..RECOVERY_CODES {
        let raw = totp::base32(&random::<8>()?);
        let code = format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..12]);
        tx.execute(
            "INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
            &[&Uuid::now_v7(), &principal.user_id, &sha256(&code.replace('-', "")), &principal.now],
        )
        .await?;
        codes.push(code);
    }
    audit::record(&tx, &principal, Entry::new("mfa.enrolled", "user", principal.user_id)).await?;
    tx.commit().await?;
    Ok(Json(RecoveryCodes { recovery_codes: codes }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    /// A current authenticator code...
    pub code: Option<String>,
    /// ...or a recovery code.
    pub recovery_code: Option<String>,
}

/// Removes the authenticator; needs a fresh factor (a current code or a recovery code).
#[utoipa::path(post, path = "/api/v1/auth/mfa/disable", operation_id = "auth_mfa_disable", tag = "identity",
    security(("bearer" = [])),
    request_body = Disable,
    responses(
        (status = 204, description = "Disabled; recovery codes void"),
        (status = 401, description = "The code is wrong", body = crate::Problem),
        (status = 409, description = "No authenticator enrolled", body = crate::Problem),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<Disable>,
) -> Result<StatusCode, ApiError> {
    rate_limit::enforce(
        &state,
        &format!("mfa:{}", principal.user_id),
        rate_limit::LOGIN_PER_EMAIL,
        rate_limit::WhenDown::Closed,
    )
    .await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let Some((factor, _, _)) = live_factor(&tx, principal.user_id).await? else {
        return Err(ApiError::Conflict {
            code: "mfa_not_enrolled",
            detail: "no authenticator is enrolled".into(),
        });
    };
    let fresh = match (&req.code, &req.recovery_code) {
        (Some(code), None) => check_totp(&state, &tx, principal.user_id, code, principal.now).await?,
        (None, Some(code)) => {
            let used = use_recovery_code(&tx, principal.user_id, code, principal.now).await?;
            if used {
                audit::record(
                    &tx,
                    &principal,
                    Entry::new("mfa.recovery_code_used", "user", principal.user_id),
                )
                .await?;
            }
            used
        }
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "code",
                "required",
                "send code or recovery_code",
            )]));
        }
    };
    if !fresh {
        return Err(ApiError::InvalidSecondFactor);
    }
    tx.execute("UPDATE mfa_factors SET disabled_at = $2 WHERE id = $1", &[&factor, &principal.now]).await?;
    tx.execute(
        "UPDATE mfa_recovery_codes SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        &[&principal.user_id, &principal.now],
    )
    .await?;
    audit::record(&tx, &principal, Entry::new("mfa.disabled", "user", principal.user_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
