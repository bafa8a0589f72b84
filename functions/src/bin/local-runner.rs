//! The local runner (not deployed, not in the template): serves every API function of
//! `template.yaml` on one port against the AWS emulator and the local Postgres.
//!
//! ```text
//! local-runner [serve]   provision the emulator, migrate, seed demo data, serve (default)
//! local-runner migrate   apply migrations to DATABASE_ADMIN_URL and exit
//! local-runner check     check template, binaries and registry agree, and exit
//! local-runner openapi   print the OpenAPI 3.1 document and exit
//! ```
//! Settings (environment): PORT (3000), HOST (127.0.0.1), STACK_NAME (gateway-local), TEMPLATE,
//! DATABASE_URL (application role), DATABASE_ADMIN_URL (schema owner), AWS_ENDPOINT_URL,
//! DEMO_FILE (.local/demo.json), SEED (1), CFN_PARAM_<Name> (template parameter overrides).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use gateway::platform::aws::Aws;
use gateway::platform::config::DbRole;
use gateway::platform::db::Db;
use gateway::platform::telemetry;
use gateway::{AppState, Env};
use gateway_functions::local::{self, provision, template};

const DEMO_SQL: &str = include_str!("../../../infra/seed/demo.sql");

fn main() -> Result<()> {
    let env = Env::from_process();
    telemetry::init(&env);
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        match command.as_str() {
            "serve" => serve(env).await,
            "migrate" => migrate(&env).await.map(|_| ()),
            "check" => {
                let t = template::Template::load(&template_path(&env))?;
                local::check_topology(&t, &local::repo_root().join("functions/src/bin"))?;
                println!("template, binaries and registry agree");
                Ok(())
            }
            "openapi" => {
                println!("{}", serde_json::to_string_pretty(gateway::platform::openapi::document())?);
                Ok(())
            }
            other => bail!("unknown command {other:?}: expected serve, migrate, check or openapi"),
        }
    })
}

fn template_path(env: &Env) -> PathBuf {
    env.get("TEMPLATE").map(PathBuf::from).unwrap_or_else(|| local::repo_root().join("template.yaml"))
}

async fn migrate(env: &Env) -> Result<Db> {
    let db = AppState::from_env(env)?.connect_db(DbRole::Admin).await?;
    let applied = db.migrate().await.context("migrating")?;
    println!("migrations: {} applied", applied.len());
    Ok(db)
}

async fn seed(db: &Db) -> Result<Vec<serde_json::Value>> {
    let conn = db.conn().await?;
    conn.batch_execute(DEMO_SQL).await.context("loading demo data")?;
    let rows = conn.query("SELECT id, slug FROM tenants ORDER BY slug", &[]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let id: uuid::Uuid = r.get(0);
            let slug: String = r.get(1);
            // api_key and channels are filled in by the identity and channel issues.
            serde_json::json!({ "id": id, "slug": slug, "api_key": null, "channels": {} })
        })
        .collect())
}

async fn serve(process_env: Env) -> Result<()> {
    let tpl = template::Template::load(&template_path(&process_env))?;
    local::check_topology(&tpl, &local::repo_root().join("functions/src/bin"))?;
    let stack = process_env.get("STACK_NAME").unwrap_or("gateway-local").to_owned();
    let region = process_env.get("AWS_REGION").unwrap_or("us-east-1").to_owned();
    let overrides: BTreeMap<String, String> = process_env
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("CFN_PARAM_")?.to_owned(), v.to_owned())))
        .collect();
    let resolver = template::Resolver::new(&tpl, &stack, &region, overrides);
    let env = local::stack_env(&resolver, &process_env)?;

    let aws = Aws::load().await;
    let made = provision::provision(&aws, &tpl, &resolver).await.context("provisioning the AWS emulator")?;
    let admin = migrate(&env).await?;
    let tenants = if env.get("SEED").unwrap_or("1") == "1" { seed(&admin).await? } else { Vec::new() };

    let state = AppState::from_env(&env)?;
    let app = local::router(&state).await?;
    let host = env.get("HOST").unwrap_or("127.0.0.1");
    let port: u16 = env.get("PORT").unwrap_or("3000").parse().context("PORT")?;
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("binding {host}:{port}"))?;
    let addr = listener.local_addr()?;
    let api = format!("http://{addr}");

    let demo = serde_json::json!({ "api": api, "users": [], "tenants": tenants });
    if let Some(path) =
        env.get("DEMO_FILE").map(PathBuf::from).or_else(|| Some(local::repo_root().join(".local/demo.json")))
    {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&demo)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("demo credentials: {}", path.display());
    }
    println!("stack {stack}: tables {:?}, buses {:?}, buckets {:?}", made.tables, made.buses, made.buckets);
    for f in tpl.functions()? {
        for r in &f.routes {
            println!("  {:<7} {api}{}  ({})", r.method, r.path, f.binary);
        }
    }
    println!("local runner listening on {api}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return drop(ctrl_c.await),
            };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        })
        .await
        .map_err(|e| anyhow!(e))
}
