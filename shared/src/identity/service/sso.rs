//! Single sign-on with OpenID Connect: the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, against issuers each tenant configures (Google, Microsoft, Okta are rows of
//! `sso_providers`, not code paths). The provider calls are [`crate::identity::openid`]'s; the
//! user is matched by verified email among the tenant's active members, or provisioned (through
//! the membership service) with the provider's default role when the tenant allows it.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;

use crate::identity::Principal;
use crate::identity::model::new_secret;
use crate::identity::model::{
    Email, Error, LOGIN_TTL, Member, PendingLogin, Provider, SsoProvider, SsoProviderConfig,
    may_provision_with,
};
use crate::identity::openid::{self, AuthorizationRequest, CodeExchange, IdClaims};
use crate::identity::service::memberships;
use crate::identity::store;
use crate::platform::crypto;
use crate::platform::db::scoped_tx;
use crate::platform::state::AppState;
use crate::platform::tenant::TenantId;

/// The role a provisioned member gets when the provider names none.
const DEFAULT_ROLE: &str = "TENANT_USER";

fn local(state: &AppState) -> bool {
    state.config().stage == "local"
}

/// Where provider `name` sends the browser back.
pub(crate) fn callback_url(state: &AppState, name: &str) -> String {
    let base =
        state.config().env.get("PUBLIC_API_URL").unwrap_or("http://127.0.0.1:3000").trim_end_matches('/');
    format!("{base}/api/v1/auth/sso/{name}/callback")
}

/// A tenant by id, or by slug.
pub(crate) async fn resolve_tenant(state: &AppState, raw: &str) -> Result<TenantId, Error> {
    if let Ok(id) = raw.parse::<TenantId>() {
        return Ok(id);
    }
    let conn = state.db().await?.conn().await?;
    store::tenants::by_slug(&**conn, raw).await?.ok_or_else(|| Error::NotFound(format!("tenant {raw}")))
}

/// The tenant's enabled provider `name`, its client secret opened.
async fn provider(
    state: &AppState,
    tx: &Transaction<'_>,
    tenant: TenantId,
    name: &str,
) -> Result<Provider, Error> {
    let row = store::sso::enabled_provider(tx, tenant, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("single sign-on provider {name}")))?;
    let client_secret = match row.client_secret_sealed {
        Some(sealed) => {
            let plain = crypto::open(&crypto::sealing_key(state).await?, tenant.as_uuid(), &sealed)?;
            Some(String::from_utf8(plain).map_err(|e| Error::Internal(e.to_string()))?)
        }
        None => None,
    };
    Ok(Provider {
        issuer: row.issuer,
        client_id: row.client_id,
        client_secret,
        scopes: row.scopes,
        allow_provisioning: row.allow_provisioning,
        default_role: row.default_role,
    })
}

/// A started sign-in: where to send the browser, and the binding its cookie carries.
pub(crate) struct Started {
    pub authorization_url: reqwest::Url,
    pub redirect_uri: String,
    pub binding: String,
}

/// Starts a sign-in with provider `name` of `tenant` (named by id or slug as `raw_tenant`).
pub(crate) async fn begin(state: &AppState, raw_tenant: &str, name: &str) -> Result<Started, Error> {
    let now = state.clock().now();
    let tenant = resolve_tenant(state, raw_tenant).await?;
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    if !store::tenants::is_active(&tx, tenant).await? {
        return Err(Error::NotFound(format!("tenant {raw_tenant}")));
    }
    let p = provider(state, &tx, tenant, name).await?;
    let meta = openid::metadata(&p.issuer, now, false, local(state)).await?;
    let (state_token, state_hash) = new_secret(tenant.as_uuid())?;
    let (nonce, verifier, binding) =
        (crypto::random_token()?, crypto::random_token()?, crypto::random_token()?);
    let redirect_uri = callback_url(state, name);
    let login = store::sso::NewLogin {
        tenant,
        provider: name,
        state_hash: &state_hash,
        nonce: &nonce,
        pkce_verifier: &verifier,
        redirect_uri: &redirect_uri,
        binding_hash: &crypto::sha256(&binding),
        now,
        expires_at: now + LOGIN_TTL,
    };
    store::sso::insert_login(&tx, &login).await?;
    tx.commit().await?;
    let request = AuthorizationRequest {
        client_id: &p.client_id,
        redirect_uri: &redirect_uri,
        scope: &p.scopes,
        state: &state_token,
        nonce: &nonce,
        code_challenge: &openid::pkce_challenge(&verifier),
    };
    let authorization_url = openid::authorization_url(&meta, &request)?;
    Ok(Started { authorization_url, redirect_uri, binding })
}

/// Spends the sign-in's `state` (whatever happens next, a retry needs a new sign-in) for the
/// browser holding `binding`, and reads the provider.
pub(crate) async fn spend_state(
    state: &AppState,
    tenant: TenantId,
    name: &str,
    state_hash: &[u8],
    binding: &str,
    now: DateTime<Utc>,
) -> Result<(PendingLogin, Provider), Error> {
    let mut conn = state.db().await?.conn().await?;
    let tx = scoped_tx(&mut conn, Some(tenant), None).await?;
    let pending =
        store::sso::spend_login(&tx, state_hash, name, &crypto::sha256(binding), now).await?.ok_or_else(
            || Error::Unauthenticated("the single sign-on state is invalid, used or expired".into()),
        )?;
    let p = provider(state, &tx, tenant, name).await?;
    tx.commit().await?;
    Ok((pending, p))
}

/// Exchanges the code with the provider (no transaction open) and answers the verified ID
/// token's claims and the email it vouches for.
pub(crate) async fn identify(
    state: &AppState,
    p: &Provider,
    pending: PendingLogin,
    code: String,
    now: DateTime<Utc>,
) -> Result<(IdClaims, Email), Error> {
    let exchange = CodeExchange {
        code,
        redirect_uri: pending.redirect_uri,
        client_id: p.client_id.clone(),
        code_verifier: pending.pkce_verifier,
        client_secret: p.client_secret.clone(),
    };
    let expected = openid::Expected {
        issuer: &p.issuer,
        client_id: &p.client_id,
        nonce: &pending.nonce,
        now,
        local: local(state),
    };
    let claims = openid::sign_in(exchange, &expected).await?;
    let email = match claims.verified_email() {
        Some(e) => Email::parse(e, "email")?,
        None => return Err(Error::Forbidden("the provider did not vouch for an email address".into())),
    };
    Ok((claims, email))
}

/// The active member of `tenant` with `email`, or — when provider `p` allows it and nobody has the
/// email yet — a new member provisioned with its default role. `tx` is scoped to the tenant.
pub(crate) async fn member(
    tx: &Transaction<'_>,
    tenant: TenantId,
    p: &Provider,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Member, Error> {
    match store::sso::member_by_email(tx, tenant, email.as_str()).await? {
        Some((user, status)) if status == "active" => Ok(Member { user, provisioned: false }),
        Some(_) => Err(Error::Forbidden("the membership is not active".into())),
        None if p.allow_provisioning => provision(tx, tenant, p, email, now).await,
        None => Err(Error::Forbidden(
            "no member of this tenant has that email, and this provider does not provision users".into(),
        )),
    }
}

async fn provision(
    tx: &Transaction<'_>,
    tenant: TenantId,
    p: &Provider,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Member, Error> {
    if !store::tenants::is_active(tx, tenant).await? {
        return Err(Error::Forbidden("the tenant is not active".into()));
    }
    // Only a brand-new person is provisioned: an existing user (of another tenant) joins by
    // invitation, never because some tenant's provider says so.
    if store::users::by_email(tx, email, now).await?.is_some() {
        return Err(Error::Forbidden(
            "this email belongs to an existing user: an admin of the tenant invites them".into(),
        ));
    }
    let role = p.default_role.clone().unwrap_or_else(|| DEFAULT_ROLE.into());
    let user = store::users::ensure(tx, email, now).await?;
    memberships::join(tx, tenant, user, &[role], None, now).await?;
    Ok(Member { user, provisioned: true })
}

/// Saves provider `name` of the acting tenant as `cfg` says, and answers it as saved.
pub(crate) async fn configure(
    state: &AppState,
    tx: &Transaction<'_>,
    principal: &Principal,
    name: &str,
    cfg: &SsoProviderConfig,
) -> Result<SsoProvider, Error> {
    let mut errors = cfg.check(name, local(state));
    if let Some(role) = &cfg.default_role {
        if !may_provision_with(principal, role) {
            errors.push(crate::platform::error::FieldError::new(
                "default_role",
                "not_assignable",
                format!("you cannot grant {role}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let sealed = match &cfg.client_secret {
        Some(secret) => Some(crypto::seal(
            &crypto::sealing_key(state).await?,
            principal.tenant.as_uuid(),
            secret.as_bytes(),
        )?),
        None => None,
    };
    let upsert = store::sso::ProviderUpsert {
        tenant: principal.tenant,
        name,
        issuer: cfg.issuer.trim_end_matches('/'),
        client_id: &cfg.client_id,
        client_secret_sealed: sealed,
        scopes: &cfg.scopes(),
        allow_provisioning: cfg.allow_provisioning.unwrap_or(false),
        default_role: cfg.default_role.as_deref(),
        enabled: cfg.enabled.unwrap_or(true),
        now: principal.now,
    };
    store::sso::put_provider(tx, &upsert).await?;
    providers(state, tx, principal.tenant, Some(name))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("saved provider not found".into()))
}

/// The tenant's providers (or the one named `only`), with their callback URLs.
pub(crate) async fn providers(
    state: &AppState,
    tx: &Transaction<'_>,
    tenant: TenantId,
    only: Option<&str>,
) -> Result<Vec<SsoProvider>, Error> {
    let mut out = store::sso::providers(tx, tenant, only).await?;
    for p in &mut out {
        p.redirect_uri = callback_url(state, &p.name);
    }
    Ok(out)
}
