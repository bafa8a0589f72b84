//! The local runner (not deployed, not in the template): serves every API function of
//! `template.yaml` on one port, feeds every queue-triggered function from its queue, and fires
//! scheduled functions, against the AWS emulator and the local Postgres.
//!
//! ```text
//! local-runner [serve]                 provision the emulator, migrate, seed demo data, run (default)
//! local-runner migrate                 apply migrations to DATABASE_ADMIN_URL and exit
//! local-runner check                   check template, binaries and registry agree, and exit
//! local-runner generate [--check]      write (or check) what the registry generates: binaries,
//!                                      event samples, OpenAPI path list, policy table, stacks
//! local-runner generate --manifest     print the registry as JSON (for the deployment check)
//! local-runner generate --synthetic N [--concentrated] --out DIR
//!                                      the templates of a registry padded to N functions (headroom;
//!                                      --concentrated puts every added function in one context)
//! local-runner openapi                 print the OpenAPI 3.1 document and exit
//! local-runner provision               create the template's resources in the emulator and exit
//! local-runner invoke FN [EVENT] [--runs N] [--binary PATH]
//!                                      run FN's real binary under a Lambda Runtime API emulator
//! ```
//! Settings (environment): PORT (3000), HOST (127.0.0.1), STACK_NAME (gateway-local), TEMPLATE,
//! DATABASE_URL (application role), DATABASE_OPS_URL (cross-tenant role), DATABASE_ADMIN_URL
//! (schema owner), AWS_ENDPOINT_URL, DEMO_FILE (.local/demo.json), SEED (1), CFN_PARAM_<Name>
//! (template parameter overrides), LOCAL_SCHEDULES (on), LOCAL_VISIBILITY_TIMEOUT (seconds).
//! While serving, `POST /_local/functions/{name}/invoke` runs a task function now (JSON body = event).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use axum::extract::{Path, State};
use axum::routing::post;
use gateway::platform::aws::Aws;
use gateway::platform::config::DbRole;
use gateway::platform::db::Db;
use gateway::platform::telemetry;
use gateway::{AppState, Env};
use gateway_functions::local::{self, LocalStack, demo, lambda_rie, provision, runtime, template};

fn main() -> Result<()> {
    let env = Env::from_process();
    telemetry::init(&env);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().cloned().unwrap_or_else(|| "serve".into());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        match command.as_str() {
            "serve" => serve(env).await,
            "migrate" => migrate(&env).await.map(|_| ()),
            "check" => {
                local::check_topology(&load_template(&env)?, &local::repo_root().join("functions/src/bin"))?;
                println!("template, binaries and registry agree");
                Ok(())
            }
            "generate" => generate(&args[1..]),
            "openapi" => {
                println!("{}", serde_json::to_string_pretty(gateway::registry::openapi::document())?);
                Ok(())
            }
            "invoke" => invoke(&env, &args[1..]).await,
            "provision" => {
                let stack = LocalStack::from_env(load_template(&env)?, &env);
                let made = provision::provision(
                    &Aws::load().await,
                    &stack.template,
                    &stack.resolver(),
                    &Default::default(),
                )
                .await?;
                println!(
                    "stack {}: {} tables, {} queues, {} rules",
                    stack.name,
                    made.tables.len(),
                    made.queues.len(),
                    made.rules.len()
                );
                Ok(())
            }
            other => bail!(
                "unknown command {other:?}: expected serve, migrate, check, generate, openapi, provision or invoke"
            ),
        }
    })
}

fn generate(args: &[String]) -> Result<()> {
    use gateway_functions::local::generate as g;
    let root = local::repo_root();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    if let Some(total) = flag("--synthetic") {
        let out = PathBuf::from(flag("--out").ok_or_else(|| anyhow!("--synthetic needs --out DIR"))?);
        let concentrated = args.iter().any(|a| a == "--concentrated");
        let specs = g::synthetic_specs(total.parse().context("--synthetic N")?, concentrated)?;
        std::fs::create_dir_all(out.join("infra/stacks"))?;
        std::fs::create_dir_all(out.join("functions/src/bin"))?;
        std::fs::copy(root.join("template.yaml"), out.join("template.yaml"))?;
        let generated = g::generate(&out, &specs)?;
        for (path, text) in &generated.files {
            if path.extension().is_some_and(|e| e == "yaml") {
                std::fs::write(out.join(path), text)?;
            }
        }
        println!(
            "{} functions in {} stacks written to {}",
            specs.len(),
            g::stacks(&specs).len(),
            out.display()
        );
        return Ok(());
    }
    let specs = g::registry_specs()?;
    if args.iter().any(|a| a == "--manifest") {
        println!("{}", serde_json::to_string_pretty(&g::manifest(&specs))?);
        return Ok(());
    }
    let generated = g::generate(&root, &specs)?;
    if args.iter().any(|a| a == "--check") {
        let stale = generated.stale(&root);
        if !stale.is_empty() {
            bail!(
                "generated files are out of date (run `cargo run --bin local-runner -- generate`):\n  {}",
                stale.join("\n  ")
            );
        }
        println!("generated files are current");
        return Ok(());
    }
    if !generated.problems.is_empty() {
        bail!("event samples disagree with their functions:\n  {}", generated.problems.join("\n  "));
    }
    for path in generated.write(&root)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn load_template(env: &Env) -> Result<template::Template> {
    let path =
        env.get("TEMPLATE").map(PathBuf::from).unwrap_or_else(|| local::repo_root().join("template.yaml"));
    template::Template::load(&path)
}

async fn migrate(env: &Env) -> Result<Db> {
    let db = AppState::from_env(env)?.connect_db(DbRole::Admin).await?;
    let applied = db.migrate().await.context("migrating")?;
    println!("migrations: {} applied", applied.len());
    Ok(db)
}

async fn serve(process_env: Env) -> Result<()> {
    let stack = LocalStack::from_env(load_template(&process_env)?, &process_env);
    local::check_topology(&stack.template, &local::repo_root().join("functions/src/bin"))?;
    let env = stack.env(&process_env)?;
    let overrides = provision::Overrides {
        visibility_timeout_seconds: env.get("LOCAL_VISIBILITY_TIMEOUT").map(str::parse).transpose()?,
    };
    let made = provision::provision(&Aws::load().await, &stack.template, &stack.resolver(), &overrides)
        .await
        .context("provisioning the AWS emulator")?;
    let admin = migrate(&env).await?;
    let (tenants, users) =
        if env.get("SEED").unwrap_or("1") == "1" { demo::seed(&admin).await? } else { Default::default() };

    let state = match env.get("CLOCK_OFFSET_FILE") {
        // Tests racing two runners move one clock both read (never set outside tests).
        Some(file) => {
            AppState::new(gateway::Config::from_env(&env)?, Arc::new(gateway::OffsetFileClock::new(file)))
        }
        None => AppState::from_env(&env)?,
    };
    let options = runtime::Options { schedules: env.get("LOCAL_SCHEDULES").unwrap_or("on") != "off" };
    let events = Arc::new(
        runtime::Runtime::start(
            state.clone(),
            &stack.template,
            &stack.resolver(),
            Default::default(),
            &options,
        )
        .await?,
    );
    let control = axum::Router::new()
        .route(
            "/_local/functions/{name}/invoke",
            post(
                |State(rt): State<Arc<runtime::Runtime>>,
                 Path(name): Path<String>,
                 body: axum::body::Bytes| async move {
                    let event = if body.is_empty() {
                        serde_json::json!({})
                    } else {
                        gateway::platform::http::parse_json(&body)?
                    };
                    rt.invoke(&name, event).await.map(axum::Json).map_err(|e| match e {
                        runtime::InvokeError::Unknown(_) => gateway::ApiError::NotFound(e.to_string()),
                        runtime::InvokeError::Failed(cause) => gateway::ApiError::internal(cause),
                    })
                },
            ),
        )
        .with_state(events.clone());
    let app = local::router_with(&state, control).await?;
    let host = env.get("HOST").unwrap_or("127.0.0.1");
    let port: u16 = env.get("PORT").unwrap_or("3000").parse().context("PORT")?;
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("binding {host}:{port}"))?;
    let api = format!("http://{}", listener.local_addr()?);

    let mut tenants = tenants;
    let mut sandboxes = None;
    if env.get("SEED").unwrap_or("1") == "1" {
        demo::seed_channels(&state, &admin, &api, &mut tenants).await?;
        sandboxes = demo::seed_payments(&state, &admin, &env, &stack.name).await?;
        demo::seed_inventory(&state, &admin).await?;
    }
    let demo = serde_json::json!({ "api": api, "users": users, "tenants": tenants, "sandboxes": sandboxes });
    let path = env
        .get("DEMO_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| local::repo_root().join(".local/demo.json"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&demo)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("demo credentials: {}", path.display());
    println!(
        "stack {}: tables {:?}, queues {:?}, rules {:?}, buses {:?}, buckets {:?}",
        stack.name, made.tables, made.queues, made.rules, made.buses, made.buckets
    );
    for f in stack.template.functions()? {
        for r in &f.routes {
            println!("  {:<7} {api}{}  ({})", r.method, r.path, f.binary);
        }
        if let Some(q) = &f.queue {
            println!(
                "  queue   {} -> {} (batch {}, window {}s)",
                q.queue_logical_id, f.binary, q.batch_size, q.window_seconds
            );
        }
        for s in &f.schedules {
            let how =
                if options.schedules { "fires" } else { "off; fire with POST /_local/functions/…/invoke" };
            println!("  {s:<15} -> {} ({how})", f.binary);
        }
    }
    println!("local runner listening on {api}");
    // The peer address stands in for API Gateway's sourceIp (sessions, login attempts, audit).
    let app = app.layer(axum::middleware::map_request(|mut req: axum::extract::Request| async move {
        let peer =
            req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        if let Some(ip) = peer {
            req.extensions_mut().insert(gateway::platform::http::ClientIp(ip.to_string()));
        }
        req
    }));
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
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

/// `invoke FN [EVENT] [--runs N] [--binary PATH]`: the function's real binary (beside this one
/// unless --binary) under the runtime API emulator, with the local stack's environment.
async fn invoke(process_env: &Env, args: &[String]) -> Result<()> {
    let mut positional = Vec::new();
    let (mut runs, mut binary) = (1usize, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().ok_or_else(|| anyhow!("--runs N"))?.parse()?,
            "--binary" => binary = Some(PathBuf::from(it.next().ok_or_else(|| anyhow!("--binary PATH"))?)),
            _ => positional.push(a.clone()),
        }
    }
    let function =
        positional.first().ok_or_else(|| anyhow!("usage: local-runner invoke FUNCTION [EVENT_FILE]"))?;
    let event_path = positional
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| local::repo_root().join(format!("events/{function}.json")));
    let event: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&event_path).with_context(|| format!("reading {}", event_path.display()))?,
    )
    .with_context(|| format!("parsing {}", event_path.display()))?;
    let binary = match binary {
        Some(b) => b,
        None => std::env::current_exe()?.with_file_name(function),
    };
    let stack = LocalStack::from_env(load_template(process_env)?, process_env);
    let env: std::collections::BTreeMap<String, String> =
        stack.env(process_env)?.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    let (mut inits, mut totals) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..runs.max(1) {
        let inv = lambda_rie::invoke(&binary, function, &event, &env, Duration::from_secs(60)).await?;
        inits.push(inv.init);
        totals.push(inv.total);
        last = Some(inv.result);
    }
    match last {
        Some(Ok(v)) => println!("{}", serde_json::to_string_pretty(&v)?),
        Some(Err(e)) => {
            eprintln!("{}", serde_json::to_string_pretty(&e)?);
            bail!("{function} returned an error");
        }
        None => {}
    }
    inits.sort();
    totals.sort();
    let median = |v: &[Duration]| v[v.len() / 2].as_secs_f64() * 1000.0;
    eprintln!(
        "{function}: runs {runs}, init median {:.1} ms, exec→response median {:.1} ms",
        median(&inits),
        median(&totals)
    );
    Ok(())
}
