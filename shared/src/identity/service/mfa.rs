//! The second factor: TOTP enrolment (secret encrypted at rest with AES-256-GCM, confirmed by a first
//! valid code), one-time codes by email as the alternative, single-use recovery codes (shown once,
//! stored hashed), and the login challenge: a password-verified login whose user has a factor, or
//! whose tenant requires one for the user's roles (tenant setting `mfa.required_roles`), gets a
//! short-lived challenge instead of tokens until `POST /api/v1/auth/mfa/verify` succeeds.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::identity::model::{
    CHALLENGE_TTL, EMAIL_CODE_TTL, Enrolment, Error, MfaChallenge, Principal, RECOVERY_CODES, RecoveryCodes,
    challenge_methods, email_code, new_secret, normalize_recovery_code, otpauth_uri, recovery_code,
};
use crate::identity::store::mfa as store;
use crate::identity::totp;
use crate::notifications::{EmailRequested, EmailTemplate};
use crate::platform::crypto::{open, random, seal, sealing_key, sha256};
use crate::platform::events::{self, Envelope};
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

pub(crate) use store::Challenge;

/// Checks `code` against the live TOTP factor and records its step (so it is never accepted again).
pub(crate) async fn check_totp(
    state: &AppState,
    tx: &Transaction<'_>,
    user: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let Some((factor, sealed, last)) = store::live_factor(tx, user).await? else { return Ok(false) };
    let secret = open(&sealing_key(state).await?, factor, &sealed)?;
    match totp::verify(&secret, code, totp::step_of(now.timestamp()), last) {
        // Conditional, so two requests racing with the same code cannot both have it.
        Some(step) => Ok(store::advance_step(tx, factor, step).await?),
        None => Ok(false),
    }
}

/// Spends a recovery code if it is one of the user's unused ones.
pub(crate) async fn use_recovery_code(
    tx: &Transaction<'_>,
    user: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    Ok(store::spend_recovery_code(tx, user, &sha256(&normalize_recovery_code(code)), now).await?)
}

/// Whether a login of `user` into `tenant` needs a second factor; if so, the challenge. `tx` is
/// scoped to the tenant and the user.
pub async fn challenge_if_needed(
    tx: &Transaction<'_>,
    user: Uuid,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Option<MfaChallenge>, Error> {
    let (enrolled, required) = store::needs(tx, user, tenant).await?;
    if !enrolled && !required {
        return Ok(None);
    }
    let (token, hash) = new_secret(user)?;
    store::insert_challenge(tx, user, tenant, &hash, now).await?;
    Ok(Some(MfaChallenge {
        mfa_required: true,
        challenge_token: token,
        methods: challenge_methods(enrolled),
        expires_in: CHALLENGE_TTL.num_seconds(),
    }))
}

/// The live challenge a token names, locked; unauthenticated if there is none.
pub(crate) async fn load_challenge(
    tx: &Transaction<'_>,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Challenge, Error> {
    store::challenge(tx, hash, now)
        .await?
        .ok_or_else(|| Error::Unauthenticated("the sign-in challenge is invalid, used or expired".into()))
}

/// Which second factor `code` (or `recovery`) passes for the challenge, if any: `totp`, `email` or
/// `recovery_code`.
pub(crate) async fn second_factor(
    state: &AppState,
    tx: &Transaction<'_>,
    user: Uuid,
    challenge: &Challenge,
    (code, recovery): (Option<&str>, Option<&str>),
    now: DateTime<Utc>,
) -> Result<Option<&'static str>, Error> {
    if let Some(code) = code {
        if check_totp(state, tx, user, code, now).await? {
            return Ok(Some("totp"));
        }
        let email_ok = challenge.email_code_hash.as_deref() == Some(&sha256(code.trim())[..])
            && challenge.email_code_expires_at.is_some_and(|e| e > now);
        return Ok(email_ok.then_some("email"));
    }
    match recovery {
        Some(code) => Ok(use_recovery_code(tx, user, code, now).await?.then_some("recovery_code")),
        None => Ok(None),
    }
}

pub(crate) async fn count_attempt(tx: &Transaction<'_>, challenge: &Challenge) -> Result<(), Error> {
    Ok(store::count_attempt(tx, challenge.id).await?)
}

pub(crate) async fn complete(
    tx: &Transaction<'_>,
    challenge: &Challenge,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    Ok(store::complete(tx, challenge.id, now).await?)
}

/// Whether `user` is still an active member of an active `tenant`.
pub(crate) async fn still_member(tx: &Transaction<'_>, tenant: TenantId, user: Uuid) -> Result<bool, Error> {
    Ok(crate::identity::store::memberships::is_active_in_active_tenant(tx, tenant, user).await?)
}

/// Marks a session as having passed a second factor.
pub(crate) async fn mark_verified(tx: &Transaction<'_>, session: Uuid) -> Result<(), Error> {
    Ok(crate::identity::store::sessions::set_mfa_verified(tx, session).await?)
}

/// Sets an email code on the challenge and records the email to `user` in the outbox (publish the
/// envelope after commit). Refused when the user has an authenticator.
pub(crate) async fn email_code_for(
    state: &AppState,
    tx: &Transaction<'_>,
    user: Uuid,
    challenge: &Challenge,
    now: DateTime<Utc>,
) -> Result<Envelope, Error> {
    if store::live_factor(tx, user).await?.is_some() {
        return Err(Error::Conflict {
            code: "use_authenticator",
            detail: "this account has an authenticator: use its code or a recovery code".into(),
        });
    }
    let code = email_code(random::<4>()?);
    store::set_email_code(tx, challenge.id, &sha256(&code), now + EMAIL_CODE_TTL).await?;
    let email = store::email_of(tx, user).await?;
    crate::platform::db::scope_tenant(tx, challenge.tenant).await?;
    let mut params = serde_json::Map::new();
    params.insert("code".into(), code.into());
    params.insert("expires_minutes".into(), EMAIL_CODE_TTL.num_minutes().into());
    let mail = EmailRequested { to: email, template: EmailTemplate::EmailCode, params };
    Ok(events::record(tx, Some(challenge.tenant), state.clock().as_ref(), &mail).await?)
}

/// Starts TOTP enrolment for `p`: a new secret, unconfirmed until [`confirm`].
pub(crate) async fn setup(
    key: &aws_lc_rs::aead::LessSafeKey,
    tx: &Transaction<'_>,
    p: &Principal,
) -> Result<Enrolment, Error> {
    if store::live_factor(tx, p.user_id).await?.is_some() {
        return Err(Error::Conflict {
            code: "mfa_enrolled",
            detail: "an authenticator is already enrolled".into(),
        });
    }
    store::disable_pending(tx, p.user_id, p.now).await?;
    let secret = random::<20>()?;
    let factor = Uuid::now_v7();
    store::insert_factor(tx, factor, p.user_id, &seal(key, factor, &secret)?, p.now).await?;
    let email = store::email_of(tx, p.user_id).await?;
    let b32 = totp::base32(&secret);
    Ok(Enrolment { factor_id: factor, otpauth_uri: otpauth_uri(&email, &b32), secret: b32 })
}

/// Confirms `p`'s enrolment with a first valid code: new recovery codes (the old ones void).
pub(crate) async fn confirm(
    key: &aws_lc_rs::aead::LessSafeKey,
    tx: &Transaction<'_>,
    p: &Principal,
    code: &str,
) -> Result<RecoveryCodes, Error> {
    let (factor, sealed) = store::pending_factor(tx, p.user_id).await?.ok_or(Error::Conflict {
        code: "no_enrolment",
        detail: "start with POST /api/v1/auth/mfa/setup".into(),
    })?;
    let secret = open(key, factor, &sealed)?;
    let step = totp::verify(&secret, code, totp::step_of(p.now.timestamp()), None)
        .ok_or(Error::InvalidSecondFactor)?;
    store::confirm_factor(tx, factor, step, p.now).await?;
    store::void_recovery_codes(tx, p.user_id, p.now).await?;
    let mut codes = Vec::new();
    for _ in 0..RECOVERY_CODES {
        let code = recovery_code(&random::<8>()?);
        store::insert_recovery_code(tx, p.user_id, &sha256(&code.replace('-', "")), p.now).await?;
        codes.push(code);
    }
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// Removes `p`'s authenticator with a fresh factor (a current code or a recovery code); recovery
/// codes void. Whether a recovery code was used.
pub(crate) async fn disable(
    state: &AppState,
    tx: &Transaction<'_>,
    p: &Principal,
    (code, recovery): (Option<&str>, Option<&str>),
) -> Result<bool, Error> {
    let Some((factor, _, _)) = store::live_factor(tx, p.user_id).await? else {
        return Err(Error::Conflict {
            code: "mfa_not_enrolled",
            detail: "no authenticator is enrolled".into(),
        });
    };
    let (fresh, by_recovery) = match (code, recovery) {
        (Some(code), None) => (check_totp(state, tx, p.user_id, code, p.now).await?, false),
        (None, Some(code)) => (use_recovery_code(tx, p.user_id, code, p.now).await?, true),
        _ => return Err(Error::invalid("code", "required", "send code or recovery_code")),
    };
    if !fresh {
        return Err(Error::InvalidSecondFactor);
    }
    store::disable_factor(tx, factor, p.now).await?;
    store::void_recovery_codes(tx, p.user_id, p.now).await?;
    Ok(by_recovery)
}
