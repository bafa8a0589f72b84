//! Writes everything that follows from the registry's declarations: one binary per function, the
//! `events/` samples, the OpenAPI document's path list and tags, the route policy table, one nested
//! stack per context (`infra/stacks/<context>.yaml`) and the part of `template.yaml` that includes
//! them. `local-runner generate` writes; `local-runner generate --check` (run by `scripts/test`)
//! fails naming every stale file. Event samples are the one exception: written when missing, then
//! edited by hand (a login body), and checked against the declaration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use gateway::identity::policy::Access;
use gateway::platform::capability::{Capabilities, Capability};
use gateway::registry::{HTTP_FUNCTIONS, QUEUE_FUNCTIONS, Settings, TASK_FUNCTIONS};
use serde_yaml::{Mapping, Value};

use super::template::tagged;

/// Projected resources per nested stack after the SAM transform (see [`resources`]): a context
/// that would pass it is split into parts. The deployment check counts the real figure and fails
/// above 400 (CloudFormation refuses 500).
pub const RESOURCES_PER_STACK: usize = 360;
/// Longest function name: `<stack name>_<function>` must fit Lambda's 64 characters, so the root
/// stack's name may have 64 - 1 - 28 = 35.
pub const MAX_NAME: usize = 28;
pub const MAX_STACK_NAME: usize = 64 - 1 - MAX_NAME;

const BEGIN: &str =
    "  # ---------------------------------------------------------------- generated: nested stacks";
const END: &str =
    "  # ---------------------------------------------------------------- end of generated part";

/// What kind of function, with what that kind declares.
#[derive(Debug, Clone)]
pub enum Kind {
    Http { method: String, path: String, summary: String, access: Access, tag: Option<String> },
    Task { description: String, schedule: Option<String> },
    Queue { description: String, consumes: Vec<String> },
}

/// One function as the generator sees it (from the registry, or made up for the headroom check).
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub context: String,
    pub kind: Kind,
    pub capabilities: Capabilities,
    pub settings: Settings,
    /// The handler's path type for the OpenAPI document (`crate::orders::api::orders::create`).
    pub handler: Option<String>,
}

impl Spec {
    fn ident(&self) -> String {
        self.name.replace('-', "_").to_ascii_uppercase()
    }
    fn pascal(&self) -> String {
        pascal(&self.name)
    }
}

fn pascal(name: &str) -> String {
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The registry as specs, in declaration order. Fails on a malformed entry (no or several
/// operations, a name too long, a name used twice).
pub fn registry_specs() -> Result<Vec<Spec>> {
    let mut out = Vec::new();
    for f in HTTP_FUNCTIONS {
        let ops = f.operations();
        let [op] = &ops[..] else {
            bail!("an API function serves exactly one route; one entry has {}: {ops:?}", ops.len())
        };
        if op.operation_id.is_none() {
            bail!("{} {}: no operation_id", op.method, op.path);
        }
        let doc = (f.routes)().split_for_parts().1;
        let tag = doc
            .paths
            .paths
            .values()
            .flat_map(|i| [&i.get, &i.post, &i.put, &i.patch, &i.delete])
            .flatten()
            .find_map(|o| o.tags.as_ref().and_then(|t| t.first().cloned()));
        out.push(Spec {
            name: f.name().to_owned(),
            context: f.context.name().to_owned(),
            kind: Kind::Http {
                method: op.method.clone(),
                path: op.path.clone(),
                summary: op.summary.clone().unwrap_or_default(),
                access: f.access,
                tag,
            },
            capabilities: f.capabilities,
            settings: f.settings,
            handler: Some(f.handler.replace(' ', "")),
        });
    }
    for f in TASK_FUNCTIONS {
        out.push(Spec {
            name: f.name.to_owned(),
            context: f.context.name().to_owned(),
            kind: Kind::Task {
                description: f.description.to_owned(),
                schedule: f.schedule.map(str::to_owned),
            },
            capabilities: f.capabilities,
            settings: f.settings,
            handler: None,
        });
    }
    for f in QUEUE_FUNCTIONS {
        out.push(Spec {
            name: f.name.to_owned(),
            context: f.context.name().to_owned(),
            kind: Kind::Queue {
                description: f.description.to_owned(),
                consumes: f.consumes.iter().map(|s| (*s).to_owned()).collect(),
            },
            capabilities: f.capabilities,
            settings: f.settings,
            handler: None,
        });
    }
    let mut seen = BTreeSet::new();
    for s in &out {
        if !seen.insert(s.name.clone()) {
            bail!("function {} is declared twice", s.name);
        }
        if s.name.len() > MAX_NAME {
            bail!("function name {} is longer than {MAX_NAME} characters", s.name);
        }
        if s.name.is_empty()
            || !s.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            bail!("function name {:?} must be lower-case words joined by '-'", s.name);
        }
    }
    Ok(out)
}

/// Everything generated, by path relative to the repository root.
#[derive(Debug, Default)]
pub struct Generated {
    pub files: BTreeMap<PathBuf, String>,
    /// Files that must not exist (binaries of functions no longer declared, stale nested stacks).
    pub remove: Vec<PathBuf>,
    /// Event samples: written only when missing; `problems` names the inconsistent ones.
    pub samples: BTreeMap<PathBuf, String>,
    pub problems: Vec<String>,
}

/// Generates every file for `specs` against the repository at `root` (which supplies the
/// hand-written part of `template.yaml` and the existing samples).
pub fn generate(root: &Path, specs: &[Spec]) -> Result<Generated> {
    let mut g = Generated::default();
    for s in specs {
        g.files.insert(PathBuf::from(format!("functions/src/bin/{}.rs", s.name)), binary(s));
        let sample = PathBuf::from(format!("events/{}.json", s.name));
        match std::fs::read_to_string(root.join(&sample)) {
            Ok(text) => {
                if let Err(e) = check_sample(s, &text) {
                    g.problems.push(format!("{}: {e}", sample.display()));
                }
            }
            Err(_) => {
                g.samples.insert(sample, event_sample(s)?);
            }
        }
    }
    let declared: BTreeSet<String> = specs.iter().map(|s| format!("{}.rs", s.name)).collect();
    for entry in std::fs::read_dir(root.join("functions/src/bin"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs")
            && name != format!("{}.rs", super::RUNNER_BINARY)
            && !declared.contains(&name)
        {
            g.remove.push(PathBuf::from("functions/src/bin").join(name));
        }
    }
    g.files.insert("shared/src/registry/openapi_doc.rs".into(), openapi_doc(specs)?);
    g.files.insert("shared/src/identity/model/policy/table.rs".into(), policy_table(specs));
    let stacks = stacks(specs);
    let mut apps = String::new();
    for stack in &stacks {
        let file = PathBuf::from(format!("infra/stacks/{}.yaml", stack.file));
        let (text, params) = nested_template(stack)?;
        g.files.insert(file.clone(), text);
        apps.push_str(&application(stack, &file, &params));
    }
    let wanted: BTreeSet<String> = stacks.iter().map(|s| format!("{}.yaml", s.file)).collect();
    if let Ok(dir) = std::fs::read_dir(root.join("infra/stacks")) {
        for entry in dir {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") && !wanted.contains(&name) {
                g.remove.push(PathBuf::from("infra/stacks").join(name));
            }
        }
    }
    let root_text = std::fs::read_to_string(root.join("template.yaml")).context("reading template.yaml")?;
    g.files.insert("template.yaml".into(), splice(&root_text, &apps)?);
    Ok(g)
}

impl Generated {
    /// Writes what differs; returns the paths written or removed.
    pub fn write(&self, root: &Path) -> Result<Vec<PathBuf>> {
        let mut changed = Vec::new();
        for (path, text) in self.files.iter().chain(&self.samples) {
            let full = root.join(path);
            if std::fs::read_to_string(&full).ok().as_deref() != Some(text.as_str()) {
                if let Some(dir) = full.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&full, text).with_context(|| format!("writing {}", path.display()))?;
                changed.push(path.clone());
            }
        }
        for path in &self.remove {
            std::fs::remove_file(root.join(path)).with_context(|| format!("removing {}", path.display()))?;
            changed.push(path.clone());
        }
        Ok(changed)
    }

    /// Every stale, missing or extra file, and every inconsistent sample.
    pub fn stale(&self, root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for (path, text) in &self.files {
            match std::fs::read_to_string(root.join(path)) {
                Ok(have) if have == *text => {}
                Ok(_) => out.push(format!("{} is stale", path.display())),
                Err(_) => out.push(format!("{} is missing", path.display())),
            }
        }
        for path in self.samples.keys() {
            out.push(format!("{} is missing", path.display()));
        }
        for path in &self.remove {
            out.push(format!("{} belongs to no declared function or stack", path.display()));
        }
        out.extend(self.problems.iter().cloned());
        out
    }
}

fn binary(s: &Spec) -> String {
    let (error, run) = match s.kind {
        Kind::Http { .. } => ("lambda_http::Error", "run_http"),
        Kind::Task { .. } => ("lambda_runtime::Error", "run_task"),
        Kind::Queue { .. } => ("lambda_runtime::Error", "run_queue"),
    };
    format!(
        "//! Lambda function `{name}`: see `gateway::registry::{ident}` (generated by `local-runner generate`).\n\n\
         fn main() -> Result<(), {error}> {{\n    gateway_functions::{run}(&gateway::registry::{ident})\n}}\n",
        name = s.name,
        ident = s.ident(),
    )
}

const SAMPLE_UUID: &str = "0193a0c0-0000-7000-8000-000000000001";

fn event_sample(s: &Spec) -> Result<String> {
    let value = match &s.kind {
        Kind::Http { method, path, access, .. } => {
            let mut params = serde_json::Map::new();
            let mut raw = String::new();
            for seg in path.split('/').filter(|p| !p.is_empty()) {
                raw.push('/');
                match seg.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => {
                        let v = if name == "id" { SAMPLE_UUID.to_owned() } else { format!("sample-{name}") };
                        raw.push_str(&v);
                        params.insert(name.to_owned(), v.into());
                    }
                    None => raw.push_str(seg),
                }
            }
            let route_key = format!("{method} {path}");
            let mut headers = serde_json::json!({
                "accept": "application/json",
                "host": "abc123.execute-api.us-east-1.amazonaws.com",
                "user-agent": "curl/8.5.0",
                "x-forwarded-for": "203.0.113.10",
                "x-forwarded-proto": "https",
            });
            if !matches!(access, Access::Public) {
                headers["authorization"] = "Bearer <access token from POST /api/v1/auth/login>".into();
            }
            let has_body = method != "GET" && method != "DELETE";
            if has_body {
                headers["content-type"] = "application/json".into();
            }
            let mut event = serde_json::json!({
                "version": "2.0",
                "routeKey": route_key,
                "rawPath": raw,
                "rawQueryString": "",
                "headers": headers,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "abc123",
                    "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                    "domainPrefix": "abc123",
                    "http": {"method": method, "path": raw, "protocol": "HTTP/1.1",
                             "sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
                    "requestId": format!("{}-sample-request-id", s.name),
                    "routeKey": route_key,
                    "stage": "$default",
                    "time": "21/Nov/2026:05:45:04 +0000",
                    "timeEpoch": 1795239904000u64
                },
                "isBase64Encoded": false,
            });
            if has_body {
                event["body"] = "{}".into();
            }
            if !params.is_empty() {
                event["pathParameters"] = params.into();
            }
            event
        }
        Kind::Queue { consumes, .. } => {
            let kind = consumes.first().cloned().unwrap_or_default();
            let body = serde_json::json!({
                "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": kind,
                "source": "regen.gateway", "account": "123456789012", "time": "2026-11-21T06:00:00Z",
                "region": "us-east-1", "resources": [],
                "detail": {"id": "0193a0c0-1111-7000-8000-00000000e001", "type": kind, "version": 1,
                           "tenant_id": SAMPLE_UUID, "occurred_at": "2026-11-21T06:00:00Z", "data": {}}
            });
            serde_json::json!({"Records": [{
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": body.to_string(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795240800000",
                               "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1795240800010"},
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:gateway-local-{}", s.name),
                "awsRegion": "us-east-1"
            }]})
        }
        Kind::Task { .. } => serde_json::json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-21T06:00:00Z",
            "region": "us-east-1",
            "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/gateway-local-{}", s.name)],
            "detail": {}
        }),
    };
    Ok(serde_json::to_string_pretty(&value)? + "\n")
}

/// A hand-edited sample must still be an event for its function.
fn check_sample(s: &Spec, text: &str) -> Result<()> {
    let v: serde_json::Value = serde_json::from_str(text).context("not JSON")?;
    match &s.kind {
        Kind::Http { method, path, .. } => {
            let key = format!("{method} {path}");
            let got = (v["routeKey"].as_str(), v["requestContext"]["routeKey"].as_str());
            if got != (Some(key.as_str()), Some(key.as_str())) {
                bail!("routeKey is {:?}, the function's route is {key:?}", got.0);
            }
            if v["requestContext"]["http"]["method"].as_str() != Some(method.as_str()) {
                bail!("requestContext.http.method is not {method}");
            }
        }
        Kind::Queue { consumes, .. } => {
            let body = v["Records"][0]["body"].as_str().ok_or_else(|| anyhow!("no Records[0].body"))?;
            let body: serde_json::Value = serde_json::from_str(body).context("Records[0].body")?;
            let kind = body["detail-type"].as_str().unwrap_or_default();
            if !consumes.iter().any(|c| c == kind) {
                bail!("detail-type {kind:?} is not one the function consumes ({consumes:?})");
            }
        }
        Kind::Task { .. } => {
            if !v.is_object() {
                bail!("a task's sample is a JSON object");
            }
        }
    }
    Ok(())
}

fn openapi_doc(specs: &[Spec]) -> Result<String> {
    let mut paths = Vec::new();
    let mut tags = BTreeSet::new();
    for s in specs {
        if let (Kind::Http { tag, .. }, Some(h)) = (&s.kind, &s.handler) {
            paths.push(format!("        {h},\n"));
            tags.extend(tag.clone());
        }
    }
    let mut tag_lines = String::new();
    for t in &tags {
        let (_, description) = gateway::platform::openapi::TAGS
            .iter()
            .find(|(n, _)| n == t)
            .ok_or_else(|| anyhow!("tag {t:?} has no description in platform::openapi::TAGS"))?;
        tag_lines.push_str(&format!("        (name = {t:?}, description = {description:?}),\n"));
    }
    Ok(format!(
        "//! The OpenAPI document's path list and tags, generated by `local-runner generate` from the\n\
         //! registry: do not edit.\n\n\
         use utoipa::OpenApi;\n\n\
         use crate::platform::error::{{FieldError, Problem}};\n\
         use crate::platform::openapi::BearerAuth;\n\n\
         #[derive(OpenApi)]\n\
         #[openapi(\n    \
         info(\n        \
         title = \"Regen Therapy Gateway API\",\n        \
         description = \"Commerce operations for the Regen Therapy tenant network. Every error is RFC 9457 problem+json with a stable `code` and the `request_id`.\",\n    \
         ),\n    \
         paths(\n{}    ),\n    \
         components(schemas(Problem, FieldError)),\n    \
         tags(\n{}    ),\n    \
         modifiers(&BearerAuth),\n\
         )]\n\
         pub(crate) struct ApiDoc;\n",
        paths.concat(),
        tag_lines
    ))
}

fn policy_table(specs: &[Spec]) -> String {
    let mut rows = String::new();
    for s in specs {
        if let Kind::Http { method, path, access, .. } = &s.kind {
            let access = match access {
                Access::Public => "Public".to_owned(),
                Access::Session => "Session".to_owned(),
                Access::Permission(p) => format!("Permission({p:?})"),
            };
            rows.push_str(&format!("    r({method:?}, {path:?}, {access}),\n"));
        }
    }
    format!(
        "//! The route policy table, generated by `local-runner generate` from the registry's\n\
         //! declarations: do not edit.\n\n\
         use super::Access::{{Permission, Public, Session}};\n\
         use super::{{RoutePolicy, r}};\n\n\
         pub static ROUTES: &[RoutePolicy] = &[\n{rows}];\n"
    )
}

/// One nested stack: a context, or a part of one past [`RESOURCES_PER_STACK`].
pub struct Stack<'a> {
    pub logical_id: String,
    pub file: String,
    pub context: String,
    pub functions: Vec<&'a Spec>,
}

pub fn stacks(specs: &[Spec]) -> Vec<Stack<'_>> {
    let mut by_context: Vec<(String, Vec<&Spec>)> = Vec::new();
    for s in specs {
        match by_context.iter_mut().find(|(c, _)| *c == s.context) {
            Some((_, list)) => list.push(s),
            None => by_context.push((s.context.clone(), vec![s])),
        }
    }
    let mut out = Vec::new();
    for (context, list) in by_context {
        // Fill a part until the next function would take it past the budget, its role included
        // when its capability set is new to the part.
        let mut parts: Vec<Vec<&Spec>> = Vec::new();
        let mut part: Vec<&Spec> = Vec::new();
        let mut used = 0;
        for s in list {
            let own_role = matches!(s.kind, Kind::Queue { .. });
            let role = usize::from(!own_role && !part.iter().any(|o| shares_role(o, s)));
            if !part.is_empty() && used + resources(s) + role > RESOURCES_PER_STACK {
                parts.push(std::mem::take(&mut part));
                used = resources(s) + usize::from(!own_role);
            } else {
                used += resources(s) + role;
            }
            part.push(s);
        }
        parts.push(part);
        let n = parts.len();
        for (i, functions) in parts.into_iter().enumerate() {
            let file = if n == 1 { context.clone() } else { format!("{context}-{}", i + 1) };
            out.push(Stack {
                logical_id: format!("{}Stack", pascal(&file)),
                file,
                context: context.clone(),
                functions,
            });
        }
    }
    out
}

/// What a function adds to its stack after the SAM transform, its role aside: an API function its
/// function, integration and route; a scheduled task its function, rule and permission; a queue
/// consumer its function, event source mapping, queue, dead-letter queue, rule, queue policy, alarm
/// and its own role.
pub fn resources(s: &Spec) -> usize {
    match &s.kind {
        Kind::Http { .. } => 3,
        Kind::Task { schedule: Some(_), .. } => 3,
        Kind::Task { schedule: None, .. } => 1,
        Kind::Queue { .. } => 8,
    }
}

/// Whether `b` uses the role `a` does (queue consumers have their own).
fn shares_role(a: &Spec, b: &Spec) -> bool {
    let own = |s: &Spec| matches!(s.kind, Kind::Queue { .. });
    !own(a) && !own(b) && a.capabilities == b.capabilities
}

// ---------------------------------------------------------------- YAML building

fn m<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut map = Mapping::new();
    for (k, v) in pairs {
        map.insert(Value::String(k.to_owned()), v);
    }
    Value::Mapping(map)
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn seq(items: Vec<Value>) -> Value {
    Value::Sequence(items)
}

fn r(name: &str) -> Value {
    tagged("!Ref", s(name))
}

fn sub(text: &str) -> Value {
    tagged("!Sub", s(text))
}

fn get_att(id: &str, attr: &str) -> Value {
    tagged("!GetAtt", s(format!("{id}.{attr}")))
}

fn num(n: u64) -> Value {
    Value::Number(n.into())
}

/// Parameters every nested stack takes, with their types, in order. The root passes each as
/// `!Ref <same name>` except where [`root_value`] says otherwise.
const COMMON_PARAMS: &[(&str, &str)] = &[
    ("Prefix", "String"),
    ("Stage", "String"),
    ("FunctionSecurityGroup", "AWS::EC2::SecurityGroup::Id"),
    ("PrivateSubnetIds", "List<AWS::EC2::Subnet::Id>"),
    ("DbProxyEndpoint", "String"),
    ("DbPort", "String"),
    ("DbName", "String"),
    ("PublicApiUrl", "String"),
    ("AppBaseUrl", "String"),
    ("MaxReceiveCount", "String"),
];

fn root_value(param: &str) -> Value {
    match param {
        "Prefix" => r("AWS::StackName"),
        "PrivateSubnetIds" => tagged("!Join", seq(vec![s(","), r("PrivateSubnetIds")])),
        "HttpApiId" => r("HttpApi"),
        "ApiInvokeRoleArn" => get_att("ApiInvokeRole", "Arn"),
        // The bus's name (what `Ref` gives too; moto resolves only this form to the name).
        "EventBus" => get_att("EventBus", "Name"),
        other => r(other),
    }
}

fn policy_document(statements: Vec<Value>) -> Value {
    m([("Version", s("2012-10-17")), ("Statement", seq(statements))])
}

fn caps_id(caps: Capabilities) -> String {
    let names: String = caps.iter().map(|c| c.policy().trim_end_matches("Policy").to_owned()).collect();
    if names.is_empty() { "Basic".to_owned() } else { names }
}

fn role(policies: &[Value], extra: Option<Value>) -> Value {
    let mut arns = vec![
        sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"),
        sub("arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"),
    ];
    arns.extend(policies.iter().cloned());
    let mut props = m([
        (
            "AssumeRolePolicyDocument",
            policy_document(vec![m([
                ("Effect", s("Allow")),
                ("Principal", m([("Service", s("lambda.amazonaws.com"))])),
                ("Action", s("sts:AssumeRole")),
            ])]),
        ),
        ("ManagedPolicyArns", seq(arns)),
    ]);
    if let (Some(extra), Value::Mapping(map)) = (extra, &mut props) {
        map.insert(s("Policies"), extra);
    }
    m([("Type", s("AWS::IAM::Role")), ("Properties", props)])
}

/// A nested stack's template and the parameters it takes.
fn nested_template(stack: &Stack<'_>) -> Result<(String, Vec<String>)> {
    let mut resources = Mapping::new();
    let mut params: Vec<String> = COMMON_PARAMS.iter().map(|(n, _)| (*n).to_owned()).collect();
    let add_param = |params: &mut Vec<String>, p: &str| {
        if !params.iter().any(|q| q == p) {
            params.push(p.to_owned());
        }
    };
    let prefix = pascal(&stack.file);
    let (mut http, mut queues) = (0, 0);
    for f in &stack.functions {
        let id = f.pascal();
        let fid = format!("{id}Function");
        for c in f.capabilities.iter() {
            add_param(&mut params, c.policy());
        }
        let policies: Vec<Value> = f.capabilities.iter().map(|c| r(c.policy())).collect();
        let role_id = match &f.kind {
            Kind::Queue { .. } => format!("{id}Role"),
            _ => format!("{prefix}{}Role", caps_id(f.capabilities)),
        };
        let mut props = Mapping::new();
        // `_` cannot occur in a stack name, so `<stack>_*` (ApiInvokeRole) matches this stack's
        // functions and no other stack's, even one whose name starts with this one's.
        props.insert(s("FunctionName"), sub(&format!("${{Prefix}}_{}", f.name)));
        let description = match &f.kind {
            Kind::Http { method, path, summary, .. } => format!("{method} {path} - {summary}"),
            Kind::Task { description, .. } | Kind::Queue { description, .. } => description.clone(),
        };
        props.insert(s("Description"), s(description));
        props.insert(s("Role"), get_att(&role_id, "Arn"));
        if let Some(t) = f.settings.timeout {
            props.insert(s("Timeout"), num(t.into()));
        }
        if let Some(mem) = f.settings.memory {
            props.insert(s("MemorySize"), num(mem.into()));
        }
        let mut vars = Mapping::new();
        for e in f.capabilities.env() {
            add_param(&mut params, e.from);
            vars.insert(s(e.var), r(e.from));
        }
        if !vars.is_empty() {
            props.insert(s("Environment"), m([("Variables", Value::Mapping(vars))]));
        }
        let mut events = Mapping::new();
        match &f.kind {
            Kind::Http { method, path, .. } => {
                http += 1;
                add_param(&mut params, "HttpApiId");
                add_param(&mut params, "ApiInvokeRoleArn");
                let timeout = f.settings.timeout.unwrap_or(10).min(29);
                resources.insert(
                    s(format!("{id}Integration")),
                    m([
                        ("Type", s("AWS::ApiGatewayV2::Integration")),
                        (
                            "Properties",
                            m([
                                ("ApiId", r("HttpApiId")),
                                ("IntegrationType", s("AWS_PROXY")),
                                ("IntegrationUri", get_att(&fid, "Arn")),
                                ("PayloadFormatVersion", s("2.0")),
                                ("CredentialsArn", r("ApiInvokeRoleArn")),
                                ("TimeoutInMillis", num(u64::from(timeout + 1) * 1000)),
                            ]),
                        ),
                    ]),
                );
                resources.insert(
                    s(format!("{id}Route")),
                    m([
                        ("Type", s("AWS::ApiGatewayV2::Route")),
                        (
                            "Properties",
                            m([
                                ("ApiId", r("HttpApiId")),
                                ("RouteKey", s(format!("{method} {path}"))),
                                ("Target", sub(&format!("integrations/${{{id}Integration}}"))),
                            ]),
                        ),
                    ]),
                );
            }
            Kind::Task { schedule, .. } => {
                if let Some(expr) = schedule {
                    events.insert(
                        s("Schedule"),
                        m([("Type", s("Schedule")), ("Properties", m([("Schedule", s(expr.as_str()))]))]),
                    );
                }
            }
            Kind::Queue { consumes, .. } => {
                queues += 1;
                add_param(&mut params, "EventBus");
                add_param(&mut params, "AlarmTopicArn");
                let timeout = u64::from(f.settings.timeout.unwrap_or(10));
                let (q, dlq, rule) = (format!("{id}Queue"), format!("{id}Dlq"), format!("{id}Rule"));
                resources.insert(
                    s(&q),
                    m([
                        ("Type", s("AWS::SQS::Queue")),
                        (
                            "Properties",
                            m([
                                ("QueueName", sub(&format!("${{Prefix}}-{}", f.name))),
                                // Six times the function's timeout, as Lambda advises for SQS sources.
                                ("VisibilityTimeout", num(6 * timeout)),
                                ("MessageRetentionPeriod", num(345_600)),
                                ("SqsManagedSseEnabled", Value::Bool(true)),
                                (
                                    "RedrivePolicy",
                                    m([
                                        ("deadLetterTargetArn", get_att(&dlq, "Arn")),
                                        ("maxReceiveCount", r("MaxReceiveCount")),
                                    ]),
                                ),
                            ]),
                        ),
                    ]),
                );
                resources.insert(
                    s(&dlq),
                    m([
                        ("Type", s("AWS::SQS::Queue")),
                        (
                            "Properties",
                            m([
                                ("QueueName", sub(&format!("${{Prefix}}-{}-dlq", f.name))),
                                ("MessageRetentionPeriod", num(1_209_600)),
                                ("SqsManagedSseEnabled", Value::Bool(true)),
                            ]),
                        ),
                    ]),
                );
                resources.insert(
                    s(&rule),
                    m([
                        ("Type", s("AWS::Events::Rule")),
                        (
                            "Properties",
                            m([
                                (
                                    "Description",
                                    s(format!("{} to the {} queue", consumes.join(", "), f.name)),
                                ),
                                ("EventBusName", r("EventBus")),
                                (
                                    "EventPattern",
                                    m([
                                        ("source", seq(vec![s("regen.gateway")])),
                                        (
                                            "detail-type",
                                            seq(consumes.iter().map(|c| s(c.as_str())).collect()),
                                        ),
                                    ]),
                                ),
                                (
                                    "Targets",
                                    seq(vec![m([
                                        ("Id", s(f.name.as_str())),
                                        ("Arn", get_att(&q, "Arn")),
                                        (
                                            "RetryPolicy",
                                            m([
                                                ("MaximumRetryAttempts", num(185)),
                                                ("MaximumEventAgeInSeconds", num(86_400)),
                                            ]),
                                        ),
                                        ("DeadLetterConfig", m([("Arn", get_att(&dlq, "Arn"))])),
                                    ])]),
                                ),
                            ]),
                        ),
                    ]),
                );
                resources.insert(
                    s(format!("{id}QueuePolicy")),
                    m([
                        ("Type", s("AWS::SQS::QueuePolicy")),
                        (
                            "Properties",
                            m([
                                ("Queues", seq(vec![r(&q), r(&dlq)])),
                                (
                                    "PolicyDocument",
                                    policy_document(vec![m([
                                        ("Effect", s("Allow")),
                                        ("Principal", m([("Service", s("events.amazonaws.com"))])),
                                        ("Action", s("sqs:SendMessage")),
                                        ("Resource", seq(vec![get_att(&q, "Arn"), get_att(&dlq, "Arn")])),
                                        (
                                            "Condition",
                                            m([("ArnEquals", m([("aws:SourceArn", get_att(&rule, "Arn"))]))]),
                                        ),
                                    ])]),
                                ),
                            ]),
                        ),
                    ]),
                );
                resources.insert(
                    s(format!("{id}DlqAlarm")),
                    m([
                        ("Type", s("AWS::CloudWatch::Alarm")),
                        (
                            "Properties",
                            m([
                                (
                                    "AlarmDescription",
                                    s(format!("{} messages are in the dead-letter queue", f.name)),
                                ),
                                ("Namespace", s("AWS/SQS")),
                                ("MetricName", s("ApproximateNumberOfMessagesVisible")),
                                (
                                    "Dimensions",
                                    seq(vec![m([
                                        ("Name", s("QueueName")),
                                        ("Value", get_att(&dlq, "QueueName")),
                                    ])]),
                                ),
                                ("Statistic", s("Maximum")),
                                ("Period", num(60)),
                                ("EvaluationPeriods", num(1)),
                                ("Threshold", num(0)),
                                ("ComparisonOperator", s("GreaterThanThreshold")),
                                ("TreatMissingData", s("notBreaching")),
                                (
                                    "AlarmActions",
                                    tagged(
                                        "!If",
                                        seq(vec![
                                            s("HasAlarmTopic"),
                                            seq(vec![r("AlarmTopicArn")]),
                                            r("AWS::NoValue"),
                                        ]),
                                    ),
                                ),
                            ]),
                        ),
                    ]),
                );
                events.insert(
                    s("Queue"),
                    m([
                        ("Type", s("SQS")),
                        (
                            "Properties",
                            m([
                                ("Queue", get_att(&q, "Arn")),
                                ("BatchSize", num(10)),
                                ("MaximumBatchingWindowInSeconds", num(1)),
                                ("FunctionResponseTypes", seq(vec![s("ReportBatchItemFailures")])),
                                // Bounded so the consumers never hold more database connections than the proxy allows.
                                ("ScalingConfig", m([("MaximumConcurrency", num(5))])),
                            ]),
                        ),
                    ]),
                );
                let consume = m([
                    ("PolicyName", s("consume-queue")),
                    (
                        "PolicyDocument",
                        policy_document(vec![m([
                            ("Effect", s("Allow")),
                            (
                                "Action",
                                seq(vec![
                                    s("sqs:ReceiveMessage"),
                                    s("sqs:DeleteMessage"),
                                    s("sqs:GetQueueAttributes"),
                                    s("sqs:ChangeMessageVisibility"),
                                ]),
                            ),
                            ("Resource", get_att(&q, "Arn")),
                        ])]),
                    ),
                ]);
                resources.insert(s(&role_id), role(&policies, Some(seq(vec![consume]))));
            }
        }
        if !events.is_empty() {
            props.insert(s("Events"), Value::Mapping(events));
        }
        if !resources.contains_key(role_id.as_str()) {
            resources.insert(s(&role_id), role(&policies, None));
        }
        resources.insert(
            s(&fid),
            m([
                ("Type", s("AWS::Serverless::Function")),
                (
                    "Metadata",
                    m([
                        ("BuildMethod", s("rust-cargolambda")),
                        ("BuildProperties", m([("Binary", s(f.name.as_str()))])),
                    ]),
                ),
                ("Properties", Value::Mapping(props)),
            ]),
        );
    }
    // Roles first, then the rest in declaration order: a reader finds the functions together.
    let mut sorted = Mapping::new();
    for (k, v) in
        resources.iter().filter(|(_, v)| v.get("Type").and_then(Value::as_str) == Some("AWS::IAM::Role"))
    {
        sorted.insert(k.clone(), v.clone());
    }
    for (k, v) in resources.iter() {
        if !sorted.contains_key(k) {
            sorted.insert(k.clone(), v.clone());
        }
    }
    // The common parameters first, then the rest by name.
    params[COMMON_PARAMS.len()..].sort();
    let mut parameters = Mapping::new();
    for p in &params {
        let kind = COMMON_PARAMS.iter().find(|(n, _)| n == p).map_or("String", |(_, t)| t);
        parameters.insert(s(p.as_str()), m([("Type", s(kind))]));
    }
    let env = m([(
        "Variables",
        m([
            ("STAGE", r("Stage")),
            ("DB_HOST", r("DbProxyEndpoint")),
            ("DB_PORT", r("DbPort")),
            ("DB_NAME", r("DbName")),
            ("HTTP_BODY_LIMIT_BYTES", s("1048576")),
            ("PUBLIC_API_URL", r("PublicApiUrl")),
            ("APP_BASE_URL", r("AppBaseUrl")),
            ("MAX_RECEIVE_COUNT", r("MaxReceiveCount")),
        ]),
    )]);
    let globals = m([(
        "Function",
        m([
            ("Runtime", s("provided.al2023")),
            ("Architectures", seq(vec![s("arm64")])),
            ("Handler", s("bootstrap")),
            // The workspace root (this file is infra/stacks/<context>.yaml).
            ("CodeUri", s("../..")),
            ("MemorySize", num(256)),
            ("Timeout", num(10)),
            ("Tracing", s("Active")),
            (
                "LoggingConfig",
                m([
                    ("LogFormat", s("JSON")),
                    ("ApplicationLogLevel", s("INFO")),
                    ("SystemLogLevel", s("WARN")),
                ]),
            ),
            (
                "VpcConfig",
                m([
                    ("SecurityGroupIds", seq(vec![r("FunctionSecurityGroup")])),
                    ("SubnetIds", r("PrivateSubnetIds")),
                ]),
            ),
            ("Environment", env),
        ]),
    )]);
    let mut doc = Mapping::new();
    doc.insert(s("AWSTemplateFormatVersion"), s("2010-09-09"));
    doc.insert(s("Transform"), s("AWS::Serverless-2016-10-31"));
    doc.insert(
        s("Description"),
        s(format!(
            "Regen Therapy Gateway, {} context: {} functions ({http} API, {queues} queue-fed). Generated from the registry by local-runner generate; do not edit.",
            stack.context,
            stack.functions.len()
        )),
    );
    doc.insert(s("Parameters"), Value::Mapping(parameters));
    if queues > 0 {
        doc.insert(
            s("Conditions"),
            m([(
                "HasAlarmTopic",
                tagged("!Not", seq(vec![tagged("!Equals", seq(vec![r("AlarmTopicArn"), s("")]))])),
            )]),
        );
    }
    doc.insert(s("Globals"), globals);
    doc.insert(s("Resources"), Value::Mapping(sorted));
    let text = format!(
        "# Generated by `local-runner generate` from shared/src/registry.rs: do not edit.\n{}",
        quote_versions(&serde_yaml::to_string(&Value::Mapping(doc))?)
    );
    Ok((text, params))
}

/// serde_yaml leaves `2010-09-09` bare, which YAML 1.1 readers (cfn-lint, PyYAML) take for a
/// date: the template and policy versions must stay strings.
fn quote_versions(text: &str) -> String {
    text.replace(": 2010-09-09\n", ": '2010-09-09'\n").replace(": 2012-10-17\n", ": '2012-10-17'\n")
}

fn application(stack: &Stack<'_>, file: &Path, params: &[String]) -> String {
    let mut map = Mapping::new();
    for p in params {
        map.insert(s(p.as_str()), root_value(p));
    }
    let res = m([
        ("Type", s("AWS::Serverless::Application")),
        (
            "Properties",
            m([("Location", s(file.to_string_lossy().into_owned())), ("Parameters", Value::Mapping(map))]),
        ),
    ]);
    let mut outer = Mapping::new();
    outer.insert(s(stack.logical_id.as_str()), res);
    let text = serde_yaml::to_string(&Value::Mapping(outer)).unwrap_or_default();
    text.lines().map(|l| format!("  {l}\n")).collect::<String>() + "\n"
}

/// The root template with its generated part replaced.
fn splice(root: &str, generated: &str) -> Result<String> {
    let start = root.find(BEGIN).ok_or_else(|| anyhow!("template.yaml has no line {BEGIN:?}"))?;
    let end = root.find(END).ok_or_else(|| anyhow!("template.yaml has no line {END:?}"))?;
    if end < start {
        bail!("template.yaml: the generated part's end comes before its start");
    }
    Ok(format!(
        "{}{BEGIN}\n  # One nested stack per context, from the registry (local-runner generate); do not edit.\n{generated}{}",
        &root[..start],
        &root[end..]
    ))
}

/// The specs as JSON (the deployment check compares the deployed topology with it).
pub fn manifest(specs: &[Spec]) -> serde_json::Value {
    let functions: Vec<serde_json::Value> = specs
        .iter()
        .map(|s| {
            let mut v = serde_json::json!({
                "name": s.name,
                "logical_id": format!("{}Function", s.pascal()),
                "capabilities": s.capabilities.iter().map(Capability::name).collect::<Vec<_>>(),
                "timeout": s.settings.timeout.unwrap_or(10),
            });
            match &s.kind {
                Kind::Http { method, path, .. } => {
                    v["kind"] = "http".into();
                    v["route"] = format!("{method} {path}").into();
                }
                Kind::Task { schedule, .. } => {
                    v["kind"] = "task".into();
                    v["schedule"] = schedule.clone().into();
                }
                Kind::Queue { consumes, .. } => {
                    v["kind"] = "queue".into();
                    v["consumes"] = consumes.clone().into();
                }
            }
            v
        })
        .collect();
    let stacks: Vec<serde_json::Value> = stacks(specs)
        .iter()
        .map(|st| {
            serde_json::json!({
                "logical_id": st.logical_id,
                "file": format!("infra/stacks/{}.yaml", st.file),
                "functions": st.functions.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "functions": functions, "stacks": stacks, "max_stack_name": MAX_STACK_NAME })
}

/// A registry padded with made-up functions to `total` (one in five a queue consumer, one in
/// twenty-five a scheduled task, the rest API routes, over five capability sets), spread over the contexts the coming issues
/// add, or all in one (`concentrated`: the worst case, which the split into parts must absorb):
/// the input of the headroom check.
pub fn synthetic_specs(total: usize, concentrated: bool) -> Result<Vec<Spec>> {
    let mut specs = registry_specs()?;
    let spread = ["payments", "inventory", "fulfillment", "webhooks", "finance", "console"];
    let contexts: &[&str] = if concentrated { &spread[..1] } else { &spread };
    use Capability::*;
    let sets = [
        Capabilities::of(&[DbApp, VerifyTokens, RateLimits]),
        Capabilities::of(&[DbApp, VerifyTokens, RateLimits, PublishEvents]),
        Capabilities::of(&[DbApp, VerifyTokens, RateLimits, Idempotency, PublishEvents]),
        Capabilities::of(&[DbApp, DbOps, PublishEvents, CircuitBreakers]),
        Capabilities::of(&[DbApp, VerifyTokens, RateLimits, Files]),
    ];
    let mut i = 0;
    while specs.len() < total {
        let context = contexts[i % contexts.len()];
        let name = format!("{context}-fn-{i}");
        let kind = if i % 5 == 4 {
            Kind::Queue { description: "synthetic consumer".into(), consumes: vec![format!("synthetic.{i}")] }
        } else if i % 25 == 24 {
            Kind::Task { description: "synthetic schedule".into(), schedule: Some("rate(5 minutes)".into()) }
        } else {
            Kind::Http {
                method: "POST".into(),
                path: format!("/api/v1/{context}/synthetic-{i}/{{id}}"),
                summary: "synthetic route".into(),
                access: Access::Permission("orders:read"),
                tag: None,
            }
        };
        specs.push(Spec {
            name,
            context: context.into(),
            kind,
            capabilities: sets[i % sets.len()],
            settings: Settings::default(),
            handler: None,
        });
        i += 1;
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_past_the_limit_is_split_into_parts() -> Result<()> {
        let specs = synthetic_specs(300, true)?;
        let all = stacks(&specs);
        let parts: Vec<&Stack<'_>> = all.iter().filter(|s| s.context == "payments").collect();
        assert!(parts.len() >= 2, "{} parts", parts.len());
        assert_eq!(parts[0].file, "payments-1");
        let total = specs.iter().filter(|s| s.context == "payments").count();
        assert!(total > specs.len() - registry_specs()?.len(), "the synthetic functions and the real ones");
        assert_eq!(parts.iter().map(|p| p.functions.len()).sum::<usize>(), total);
        for p in &parts {
            let roles: BTreeSet<String> = p
                .functions
                .iter()
                .filter(|f| !matches!(f.kind, Kind::Queue { .. }))
                .map(|f| caps_id(f.capabilities))
                .collect();
            let projected = p.functions.iter().map(|f| resources(f)).sum::<usize>() + roles.len();
            assert!(projected <= RESOURCES_PER_STACK, "{}: {projected}", p.file);
        }
        Ok(())
    }

    #[test]
    fn names_become_identifiers_and_logical_ids() {
        let spec = Spec {
            name: "orders-on-mapping".into(),
            context: "orders".into(),
            kind: Kind::Task { description: String::new(), schedule: None },
            capabilities: Capabilities::NONE,
            settings: Settings::default(),
            handler: None,
        };
        assert_eq!(spec.ident(), "ORDERS_ON_MAPPING");
        assert_eq!(spec.pascal(), "OrdersOnMapping");
    }
}
