//! The local runner's library: reads `template.yaml`, checks that it, the binaries and the registry
//! describe the same functions and routes, provisions the emulator, and builds one router serving
//! every API function through the same handlers the Lambda binaries run.

pub mod demo;
pub mod generate;
pub mod lambda_rie;
pub mod provision;
pub mod runtime;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use axum::Router;
use gateway::platform::http::finish;
use gateway::registry::{HTTP_FUNCTIONS, HttpFunction, QUEUE_FUNCTIONS, TASK_FUNCTIONS};
use gateway::{AppState, Env};

use template::{Route, Template};

/// The binary that is the local runner itself: not a Lambda function, not in the template.
pub const RUNNER_BINARY: &str = "local-runner";

/// The repository root (where `template.yaml` is), known at compile time.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The routes one registry entry serves, read from its OpenAPI annotations.
pub fn registry_routes(f: &HttpFunction) -> Vec<Route> {
    f.operations().into_iter().map(|r| Route { method: r.method, path: r.path }).collect()
}

/// The function binaries in `functions/src/bin` (without the runner).
pub fn binaries(bin_dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(bin_dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".rs") {
            if stem != RUNNER_BINARY {
                out.insert(stem.to_owned());
            }
        }
    }
    Ok(out)
}

/// Fails, naming every discrepancy, unless the template, the binaries and the registry agree:
/// each template function has a binary and a registry handler, each binary is in the template,
/// each HTTP function's routes match its handler's, and no route is claimed twice.
pub fn check_topology(template: &Template, bin_dir: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let functions = template.functions()?;
    let bins = binaries(bin_dir)?;
    let http: BTreeMap<&str, &HttpFunction> = HTTP_FUNCTIONS.iter().map(|f| (f.name(), *f)).collect();
    let tasks: BTreeSet<&str> = TASK_FUNCTIONS.iter().map(|f| f.name).collect();
    let queues: BTreeSet<&str> = QUEUE_FUNCTIONS.iter().map(|f| f.name).collect();
    let mut claimed: BTreeMap<Route, String> = BTreeMap::new();
    let mut in_template = BTreeSet::new();
    for f in &functions {
        in_template.insert(f.binary.clone());
        if !bins.contains(&f.binary) {
            problems.push(format!("{}: no binary functions/src/bin/{}.rs", f.logical_id, f.binary));
        }
        let name = f.binary.as_str();
        let id = &f.logical_id;
        match (http.get(name), tasks.contains(name), queues.contains(name)) {
            (Some(h), _, _) => {
                let mut declared = f.routes.clone();
                declared.sort();
                let handled = registry_routes(h);
                if declared != handled {
                    problems.push(format!(
                        "{id}: template routes {:?} differ from the handler's {:?}",
                        declared.iter().map(Route::to_string).collect::<Vec<_>>(),
                        handled.iter().map(Route::to_string).collect::<Vec<_>>()
                    ));
                }
                if f.queue.is_some() || !f.schedules.is_empty() {
                    problems.push(format!("{id}: an API function cannot have SQS or Schedule events"));
                }
            }
            (None, true, _) => {
                if !f.routes.is_empty() || f.queue.is_some() {
                    problems.push(format!("{id}: a task function has only Schedule events (or none)"));
                }
            }
            (None, false, true) => {
                if f.queue.is_none() || !f.routes.is_empty() || !f.schedules.is_empty() {
                    problems
                        .push(format!("{id}: a queue function has exactly one SQS event and nothing else"));
                }
                if f.queue.as_ref().is_some_and(|q| !q.report_batch_item_failures) {
                    problems.push(format!("{id}: its SQS event must report batch item failures"));
                }
            }
            (None, false, false) => problems.push(format!("{id}: no handler named {name:?} in the registry")),
        }
        for route in &f.routes {
            if let Some(other) = claimed.insert(route.clone(), f.logical_id.clone()) {
                problems.push(format!("{route} is claimed by both {other} and {}", f.logical_id));
            }
        }
    }
    for b in bins.difference(&in_template) {
        problems.push(format!("binary {b} is not a function in template.yaml"));
    }
    for name in http.keys().copied().chain(tasks.iter().copied()).chain(queues.iter().copied()) {
        if !in_template.contains(name) {
            problems.push(format!("registry function {name} is not in template.yaml"));
        }
    }
    if !problems.is_empty() {
        bail!("template, binaries and registry disagree:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

/// The template's resolved environment laid over `base` (the process environment): what every
/// function in the local stack reads its configuration from.
pub fn stack_env(resolver: &template::Resolver<'_>, base: &Env) -> Result<Env> {
    Ok(base.clone().overlay(&Env::from_map(resolver.stack_env()?)))
}

/// One local stack: the template, the stack name every resource name is derived from, and the
/// parameter overrides (`CFN_PARAM_<Name>`).
pub struct LocalStack {
    pub template: Template,
    pub name: String,
    pub region: String,
    pub overrides: BTreeMap<String, String>,
}

impl LocalStack {
    /// Reads `STACK_NAME` (gateway-local), `AWS_REGION` (us-east-1) and `CFN_PARAM_*` from `env`.
    pub fn from_env(template: Template, env: &Env) -> Self {
        Self {
            template,
            name: env.get("STACK_NAME").unwrap_or("gateway-local").to_owned(),
            region: env.get("AWS_REGION").unwrap_or("us-east-1").to_owned(),
            overrides: env
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("CFN_PARAM_")?.to_owned(), v.to_owned())))
                .collect(),
        }
    }

    pub fn resolver(&self) -> template::Resolver<'_> {
        template::Resolver::new(&self.template, &self.name, &self.region, self.overrides.clone())
    }

    /// What every function of this stack reads its configuration from.
    pub fn env(&self, base: &Env) -> Result<Env> {
        stack_env(&self.resolver(), base)
    }
}

/// Every API function's routes behind the platform layers, sharing one state.
pub async fn router(state: &AppState) -> Result<Router> {
    router_with(state, Router::new()).await
}

/// [`router`], plus routes of the runner's own (its control endpoint).
pub async fn router_with(state: &AppState, extra: Router) -> Result<Router> {
    let mut routes = extra;
    for f in HTTP_FUNCTIONS {
        // Each function's handlers see only what it declared, as in its own Lambda function.
        let state = state.for_function(f.name(), f.capabilities);
        (f.warm)(&state).await.map_err(|e| anyhow::anyhow!("{}: {e}", f.name()))?;
        routes = routes.merge((f.routes)().split_for_parts().0.with_state(state));
    }
    Ok(finish(routes, state.config().body_limit_bytes))
}
