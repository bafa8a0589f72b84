//! Demo data for the local stack: `infra/seed/demo.sql` (tenants, the platform catalog, each
//! tenant's catalog, SKU mappings for the fixture payloads, prices, promotions), then people who can
//! sign in — a platform super admin, an admin and a user for each demo tenant, the demo vendor's
//! admin, and a consultant who belongs to two tenants — with argon2id hashes made
//! here (a hash is salted, so it cannot live in the SQL). Idempotent. What it made goes to
//! `.local/demo.json`.

use anyhow::{Context, Result};
use gateway::identity::passwords;
use gateway::platform::db::Db;
use secrecy::SecretString;
use serde::Serialize;
use uuid::Uuid;

pub const DEMO_SQL: &str = include_str!("../../../infra/seed/demo.sql");

/// One demo person.
#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub id: Uuid,
    pub email: &'static str,
    pub password: &'static str,
    pub tenant_id: Uuid,
    pub tenant_slug: &'static str,
    pub roles: Vec<&'static str>,
}

pub const DEMO_KEY_NAME: &str = "demo integration";
/// What the demo keys may do: an integration client's work.
pub const DEMO_KEY_PERMISSIONS: &[&str] =
    &["orders:create", "orders:read", "catalog:read", "pricing:read", "users:read"];

pub const PLATFORM_TENANT: Uuid = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000000);
pub const APEX: Uuid = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000001);
pub const NORTHWIND: Uuid = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000002);
/// A marketplace vendor (its product awaits the platform's review).
pub const CRYO_SUPPLY: Uuid = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000003);

pub fn users() -> Vec<DemoUser> {
    let u = |n: u128, email, password, tenant_id, tenant_slug, roles: &[&'static str]| DemoUser {
        id: Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000100 + n),
        email,
        password,
        tenant_id,
        tenant_slug,
        roles: roles.to_vec(),
    };
    vec![
        u(
            0,
            "superadmin@regen-gateway.example",
            "demo super admin passphrase",
            PLATFORM_TENANT,
            "regen-platform",
            &["SUPER_ADMIN"],
        ),
        u(
            1,
            "admin@apex-regen.example",
            "demo apex admin passphrase",
            APEX,
            "apex-regen-clinic",
            &["TENANT_ADMIN"],
        ),
        u(
            2,
            "user@apex-regen.example",
            "demo apex user passphrase",
            APEX,
            "apex-regen-clinic",
            &["TENANT_USER"],
        ),
        u(
            3,
            "admin@northwind.example",
            "demo northwind admin passphrase",
            NORTHWIND,
            "northwind-wellness",
            &["TENANT_ADMIN"],
        ),
        u(
            4,
            "user@northwind.example",
            "demo northwind user passphrase",
            NORTHWIND,
            "northwind-wellness",
            &["TENANT_USER"],
        ),
        u(
            5,
            "admin@cryo-supply.example",
            "demo cryo vendor passphrase",
            CRYO_SUPPLY,
            "cryo-supply",
            &["VENDOR_ADMIN"],
        ),
        // One person in two tenants (the README's switch-tenant example): a consultant to both.
        u(
            6,
            "consultant@regen-partners.example",
            "demo consultant passphrase",
            APEX,
            "apex-regen-clinic",
            &["TENANT_USER"],
        ),
        u(
            6,
            "consultant@regen-partners.example",
            "demo consultant passphrase",
            NORTHWIND,
            "northwind-wellness",
            &["TENANT_USER"],
        ),
    ]
}

/// Loads the demo tenants and people (as the schema owner). Existing people keep their passwords.
pub async fn seed(admin: &Db) -> Result<(Vec<serde_json::Value>, Vec<DemoUser>)> {
    let mut conn = admin.conn().await?;
    conn.batch_execute(DEMO_SQL).await.context("loading demo data")?;
    let people = users();
    let tx = conn.transaction().await?;
    for p in &people {
        let exists = tx.query_opt("SELECT 1 FROM users WHERE id = $1", &[&p.id]).await?.is_some();
        if !exists {
            let hash = passwords::hash(&SecretString::from(p.password.to_owned()))?;
            tx.execute(
                "INSERT INTO users (id, email, display_name, password_hash, password_changed_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, now(), now(), now())",
                &[&p.id, &p.email, &p.email.split('@').next().unwrap_or_default(), &hash],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO tenant_users (tenant_id, user_id, status, created_at, updated_at)
             VALUES ($1, $2, 'active', now(), now()) ON CONFLICT DO NOTHING",
            &[&p.tenant_id, &p.id],
        )
        .await?;
        for role in &p.roles {
            tx.execute(
                "INSERT INTO role_grants (tenant_id, user_id, role_code, granted_at) VALUES ($1, $2, $3, now())
                 ON CONFLICT DO NOTHING",
                &[&p.tenant_id, &p.id, role],
            )
            .await?;
        }
    }
    // One API key per demo tenant, made by its admin: a fresh one each start (the secret of an
    // earlier one cannot be shown again), the earlier ones revoked.
    let mut keys = std::collections::BTreeMap::new();
    for admin in people.iter().filter(|p| p.roles == ["TENANT_ADMIN"]) {
        tx.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND name = $2 AND revoked_at IS NULL",
            &[&admin.tenant_id, &DEMO_KEY_NAME],
        )
        .await?;
        let permissions: Vec<String> = DEMO_KEY_PERMISSIONS.iter().map(|p| p.to_string()).collect();
        let made = gateway::identity::mint_api_key(
            &tx,
            gateway::platform::tenant::TenantId::from_uuid(admin.tenant_id),
            admin.id,
            DEMO_KEY_NAME,
            &permissions,
            None,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo API key: {e}"))?;
        keys.insert(admin.tenant_id, made.key);
    }
    tx.commit().await?;
    let rows = conn.query("SELECT id, slug, kind FROM tenants ORDER BY slug", &[]).await?;
    let tenants = rows
        .iter()
        .map(|r| {
            let id: Uuid = r.get(0);
            let slug: String = r.get(1);
            let kind: String = r.get(2);
            // channels are filled in by the channel issues.
            serde_json::json!({ "id": id, "slug": slug, "kind": kind, "api_key": keys.get(&id), "channels": {} })
        })
        .collect();
    Ok((tenants, people))
}

/// The demo channels of Apex: Shopify and WooCommerce (webhook URLs and secrets for the fixtures)
/// and a custom channel read through a field-mapping profile. Their secrets are demo values, sealed
/// like any channel's; `tenants` (the demo.json entries) get them under `channels`.
pub async fn seed_channels(
    state: &gateway::AppState,
    admin: &Db,
    api: &str,
    tenants: &mut [serde_json::Value],
) -> Result<()> {
    let conn = admin.conn().await?;
    let mut channels = serde_json::Map::new();
    for (n, code, kind, secret) in [
        (1u128, "shopify", "shopify", "demo-apex-shopify-webhook-secret"),
        (2, "woocommerce", "woocommerce", "demo-apex-woocommerce-webhook-secret"),
        (3, "clinic-erp", "custom", "demo-apex-clinic-erp-secret"),
    ] {
        // A channel someone already made with this code keeps its id (its secret is reset to the demo's).
        let id = conn
            .query_opt("SELECT id FROM channels WHERE tenant_id = $1 AND code = $2", &[&APEX, &code])
            .await?
            .map(|r| r.get(0))
            .unwrap_or(Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000700 + n));
        let sealed = gateway::orders::seal_secret(state, id, secret)
            .await
            .map_err(|e| anyhow::anyhow!("sealing a demo channel secret: {e}"))?;
        conn.execute(
            "INSERT INTO channels (id, tenant_id, code, kind, name, secret_sealed) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, kind = EXCLUDED.kind",
            &[&id, &APEX, &code, &kind, &format!("Apex {code}"), &sealed],
        )
        .await?;
        let mut entry = serde_json::json!({ "id": id, "code": code, "kind": kind });
        if kind == "custom" {
            conn.execute(
                "INSERT INTO field_mapping_profiles (id, tenant_id, channel_id, version, rules)
                 SELECT $1, $2, $3, 1, $4 WHERE NOT EXISTS (SELECT 1 FROM field_mapping_profiles WHERE channel_id = $3)
                 ON CONFLICT DO NOTHING",
                &[&Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000710), &APEX, &id, &demo_profile()],
            )
            .await?;
            entry["header"] = serde_json::json!({ "X-Channel": code });
        } else {
            entry["webhook_url"] = format!("{api}/api/v1/webhooks/{kind}/{id}").into();
            entry["secret"] = secret.into();
        }
        channels.insert(if kind == "custom" { "custom".into() } else { kind.into() }, entry);
    }
    if let Some(t) = tenants.iter_mut().find(|t| t["id"] == serde_json::json!(APEX)) {
        t["channels"] = serde_json::Value::Object(channels);
    }
    Ok(())
}

/// The demo custom channel's profile: a clinic system's own order format.
fn demo_profile() -> serde_json::Value {
    serde_json::json!({
        "fields": {
            "external_id": {"path": "$.ref"},
            "currency": {"path": "$.currency", "default": "USD", "transforms": ["trim", "upper"]},
            "customer.email": {"path": "$.patient_contact.email", "transforms": ["trim", "lower"]},
            "customer.name": {"path": "$.patient_contact.name", "transforms": ["trim"]},
            "shipping_address.name": {"path": "$.ship_to.name"},
            "shipping_address.line1": {"path": "$.ship_to.street"},
            "shipping_address.city": {"path": "$.ship_to.city"},
            "shipping_address.state": {"path": "$.ship_to.state", "transforms": ["state"]},
            "shipping_address.postal_code": {"path": "$.ship_to.zip"},
            "shipping_address.country": {"path": "$.ship_to.country", "default": "US", "transforms": ["country"]},
            "payment.source": {"constant": "terms"}
        },
        "lines": {"path": "$.items[*]", "fields": {
            "sku": {"path": "$.item_code", "transforms": ["trim"]},
            "quantity": {"path": "$.count", "transforms": ["integer"]}
        }},
        "required": ["external_id", "customer.email"]
    })
}

/// The demo's payment configuration when the provider sandboxes run (`SANDBOX_NMI_URL`,
/// `SANDBOX_AUTHORIZE_NET_URL`, `SANDBOX_CONTROL_URL`; scripts/dev and scripts/test start them):
/// the platform's sandbox merchant accounts at both gateways (credentials in the emulator's Secrets
/// Manager, under the stack's name), and the platform default set (NMI primary). The
/// `"sandboxes"` entry of demo.json. `None` without sandboxes.
pub async fn seed_payments(
    state: &gateway::AppState,
    admin: &Db,
    env: &gateway::Env,
    stack: &str,
) -> Result<Option<serde_json::Value>> {
    let (Some(nmi), Some(authnet)) = (env.get("SANDBOX_NMI_URL"), env.get("SANDBOX_AUTHORIZE_NET_URL"))
    else {
        return Ok(None);
    };
    let sm = state.aws().await.secretsmanager();
    let conn = admin.conn().await?;
    let mut accounts = serde_json::Map::new();
    for (n, gateway, url, credentials) in [
        (1u128, "nmi", nmi, serde_json::json!({"security_key": "sandbox-nmi-security-key"})),
        (
            2,
            "authorize_net",
            authnet,
            serde_json::json!({"login_id": "sandbox-authnet-login", "transaction_key": "sandbox-authnet-transaction-key"}),
        ),
    ] {
        let secret = format!("{stack}/payments/{gateway}-sandbox");
        let value = credentials.to_string();
        if sm.put_secret_value().secret_id(&secret).secret_string(&value).send().await.is_err() {
            sm.create_secret()
                .name(&secret)
                .secret_string(&value)
                .send()
                .await
                .context("demo payment secret")?;
        }
        let id = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000800 + n);
        conn.execute(
            "INSERT INTO merchant_accounts (id, gateway, name, base_url, credentials_secret) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET base_url = EXCLUDED.base_url, credentials_secret = EXCLUDED.credentials_secret,
                                            enabled = true",
            &[&id, &gateway, &format!("Platform {gateway} sandbox"), &url, &secret],
        )
        .await?;
        accounts.insert(gateway.into(), serde_json::json!({"id": id, "base_url": url}));
    }
    conn.execute(
        "INSERT INTO payment_account_sets (id, name, descriptor, primary_gateway, nmi_account_id, authorize_net_account_id, platform_default)
         VALUES ($1, 'Platform (sandbox)', 'REGEN*GATEWAY', 'nmi', $2, $3, true)
         ON CONFLICT DO NOTHING",
        &[
            &Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000810),
            &Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000801),
            &Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000802),
        ],
    )
    .await?;
    Ok(Some(serde_json::json!({
        "control": env.get("SANDBOX_CONTROL_URL"),
        "nmi": nmi,
        "authorize_net": authnet,
        "merchant_accounts": accounts,
    })))
}

/// The demo's stock: a platform warehouse in Louisville (internal, serving the Midwest and South
/// first) and a 3PL in Phoenix (the West), with stock of most products and 60 days of demand for
/// the 5 ml serum (the forecast's history). RT-EXO-10ML is stocked nowhere: its orders wait as
/// backorders until stock is received. Made once; a later start leaves the stock as it is.
pub async fn seed_inventory(state: &gateway::AppState, admin: &Db) -> Result<()> {
    let platform = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000000);
    let lou = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000901);
    let phx = Uuid::from_u128(0x0193a0c0_0000_7000_8000_000000000902);
    let conn = admin.conn().await?;
    let mut made = 0;
    for (id, code, name, kind, state_code, city, priority, zones) in [
        (
            lou,
            "LOU-1",
            "Louisville fulfillment center",
            "internal",
            "KY",
            "Louisville",
            10,
            vec!["KY", "OH", "IN", "TN", "IL", "WV", "GA", "NY"],
        ),
        (
            phx,
            "PHX-3PL",
            "Desert Logistics (3PL), Phoenix",
            "3pl",
            "AZ",
            "Phoenix",
            20,
            vec!["AZ", "NV", "CA", "UT", "NM", "TX", "CO"],
        ),
    ] {
        let zones: Vec<String> = zones.into_iter().map(str::to_owned).collect();
        let address =
            serde_json::json!({"line1": "1 Dock Rd", "city": city, "state": state_code, "country": "US"});
        made += conn
            .execute(
                "INSERT INTO warehouses (id, owner_tenant_id, code, name, kind, address, priority, zones, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now()) ON CONFLICT DO NOTHING",
                &[&id, &platform, &code, &name, &kind, &address, &priority, &zones],
            )
            .await?;
    }
    if made == 0 {
        return Ok(());
    }
    let ops = state.ops_db().await?;
    // 60 days of 2 to 5 a day, busier lately.
    let history: Vec<i64> = (0..60).map(|d| 2 + (d * 7 % 3) + i64::from(d >= 45)).collect();
    let record = |wh, sku: &'static str, daily: Vec<i64>, on_hand| async move {
        gateway::inventory::record_history(state, ops, wh, sku, &daily, on_hand)
            .await
            .map_err(|e| anyhow::anyhow!("demo stock of {sku}: {e}"))
    };
    record(lou, "RT-EXO-5ML", history, 40).await?;
    for (wh, sku, on_hand) in [
        (phx, "RT-EXO-5ML", 12),
        (lou, "RT-PRP-KIT", 15),
        (lou, "RT-SAMPLE-SACHET", 500),
        (lou, "RT-APPL-TIPS", 200),
        (phx, "RT-HA-2ML", 30),
        (lou, "RT-PEP-BPC", 8),
    ] {
        record(wh, sku, Vec::new(), on_hand).await?;
    }
    Ok(())
}
