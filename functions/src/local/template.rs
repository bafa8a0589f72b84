//! Reads `template.yaml` the way CloudFormation would for the parts the local stack needs:
//! functions (binary, HTTP routes, environment), tables, buses, buckets and secrets, with the
//! intrinsic functions (`Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::Join`) resolved to local names.
//! Nested stacks (`AWS::Serverless::Application` with a local `Location`) are read too: their
//! resources are laid into the root's, each reference to one of their parameters replaced by the
//! value the root passes, and their `Globals` environment given to each of their functions, so
//! the rest of the runner sees one flat stack.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use serde_yaml::Value;
use serde_yaml::value::TaggedValue;

pub const LOCAL_ACCOUNT: &str = "123456789012";

#[derive(Debug, Clone)]
pub struct Template {
    root: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub logical_id: String,
    pub binary: String,
    pub routes: Vec<Route>,
    /// The SQS event source, if the function is fed by a queue.
    pub queue: Option<QueueTrigger>,
    /// Schedule expressions (`rate(1 minute)`) of its Schedule events.
    pub schedules: Vec<String>,
}

/// An SQS event source mapping as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTrigger {
    pub queue_logical_id: String,
    pub batch_size: usize,
    pub window_seconds: u64,
    pub report_batch_item_failures: bool,
}

/// The logical id in `!GetAtt X.Arn` or `{"Fn::GetAtt": [X, Arn]}`.
fn get_att_target(v: &Value) -> Option<String> {
    let arg = match v {
        Value::Tagged(t) if t.tag == "!GetAtt" => &t.value,
        Value::Mapping(m) => m.get("Fn::GetAtt")?,
        _ => return None,
    };
    match arg {
        Value::String(s) => s.split_once('.').map(|(id, _)| id.to_owned()),
        Value::Sequence(p) => p.first()?.as_str().map(str::to_owned),
        _ => None,
    }
}

impl Template {
    /// Reads a root template and the nested stacks it includes.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        Self::parse_with_nested(&text, dir).with_context(|| format!("parsing {}", path.display()))
    }

    /// [`Template::parse`], then the nested stacks, their `Location` relative to `dir`.
    pub fn parse_with_nested(text: &str, dir: &std::path::Path) -> Result<Self> {
        let mut t = Self::parse(text)?;
        t.inline_nested(dir)?;
        Ok(t)
    }

    /// The nested stacks' `(logical id, location)` as the root declares them.
    pub fn nested_stacks(&self) -> Vec<(String, String)> {
        self.resources_of("AWS::Serverless::Application")
            .filter_map(|(id, r)| {
                let loc = r.get("Properties")?.get("Location")?.as_str()?;
                Some((id.to_owned(), loc.to_owned()))
            })
            .collect()
    }

    fn inline_nested(&mut self, dir: &std::path::Path) -> Result<()> {
        let mut added = Vec::new();
        for (id, location) in self.nested_stacks() {
            let path = dir.join(&location);
            let text = std::fs::read_to_string(&path).with_context(|| format!("{id}: reading {location}"))?;
            let child: Value =
                serde_yaml::from_str(&text).with_context(|| format!("{id}: parsing {location}"))?;
            let app = self.resource(&id).and_then(|r| r.get("Properties"));
            let mut passed = BTreeMap::new();
            for (k, v) in
                app.and_then(|p| p.get("Parameters")).and_then(Value::as_mapping).into_iter().flatten()
            {
                passed.insert(k.as_str().unwrap_or_default().to_owned(), v.clone());
            }
            let declared: Vec<String> = child
                .get("Parameters")
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                .collect();
            for p in &declared {
                if !passed.contains_key(p) {
                    bail!("{id}: the root passes no value for {location}'s parameter {p}");
                }
            }
            let globals_env = child
                .get("Globals")
                .and_then(|g| g.get("Function"))
                .and_then(|f| f.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default();
            let resources = child
                .get("Resources")
                .and_then(Value::as_mapping)
                .ok_or_else(|| anyhow!("{location}: no Resources"))?;
            for (k, v) in resources {
                let mut v = substitute(v, &passed);
                if v.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function") {
                    let vars = v
                        .get_mut("Properties")
                        .and_then(Value::as_mapping_mut)
                        .ok_or_else(|| anyhow!("{location}: {k:?} has no Properties"))?
                        .entry(Value::String("Environment".into()))
                        .or_insert_with(|| Value::Mapping(Default::default()))
                        .as_mapping_mut()
                        .ok_or_else(|| anyhow!("{location}: {k:?} Environment"))?
                        .entry(Value::String("Variables".into()))
                        .or_insert_with(|| Value::Mapping(Default::default()))
                        .as_mapping_mut()
                        .ok_or_else(|| anyhow!("{location}: {k:?} Variables"))?;
                    for (name, value) in &globals_env {
                        if !vars.contains_key(name) {
                            vars.insert(name.clone(), substitute(value, &passed));
                        }
                    }
                }
                added.push((k.clone(), v, location.clone()));
            }
        }
        let resources = self
            .root
            .get_mut("Resources")
            .and_then(Value::as_mapping_mut)
            .ok_or_else(|| anyhow!("template has no Resources"))?;
        for (k, v, location) in added {
            if resources.contains_key(&k) {
                bail!("{location}: logical id {k:?} is already defined");
            }
            resources.insert(k, v);
        }
        Ok(())
    }

    pub fn parse(text: &str) -> Result<Self> {
        let root: Value = serde_yaml::from_str(text)?;
        if root.get("Resources").and_then(Value::as_mapping).is_none() {
            bail!("template has no Resources");
        }
        Ok(Self { root })
    }

    /// Adds a fragment's resources (test-only consumers live in a fragment beside the tests, never
    /// in the production template). A logical id defined twice is an error.
    pub fn merge(&mut self, fragment: &str) -> Result<()> {
        let frag: Value = serde_yaml::from_str(fragment)?;
        let extra = frag
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| anyhow!("fragment has no Resources"))?;
        let resources = self
            .root
            .get_mut("Resources")
            .and_then(Value::as_mapping_mut)
            .ok_or_else(|| anyhow!("template has no Resources"))?;
        for (k, v) in extra {
            if resources.contains_key(k) {
                bail!("fragment redefines {k:?}");
            }
            resources.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    /// Resources of one CloudFormation type, by logical id.
    pub fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources().filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| Some((k.as_str()?, v)))
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.root.get("Resources")?.get(logical_id)
    }

    /// Every `AWS::Serverless::Function`, with its binary and HTTP API routes.
    pub fn functions(&self) -> Result<Vec<FunctionDef>> {
        let mut out = Vec::new();
        for (id, res) in self.resources_of("AWS::Serverless::Function") {
            let binary = res
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("{id}: no Metadata.BuildProperties.Binary"))?
                .to_owned();
            let routes = Vec::new();
            let mut queue = None;
            let mut schedules = Vec::new();
            let events = res.get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping);
            for (_, ev) in events.into_iter().flat_map(|m| m.iter()) {
                let props = ev.get("Properties");
                match ev.get("Type").and_then(Value::as_str) {
                    Some("SQS") => {
                        let p = props.ok_or_else(|| anyhow!("{id}: SQS event without Properties"))?;
                        let queue_logical_id = p
                            .get("Queue")
                            .and_then(get_att_target)
                            .ok_or_else(|| anyhow!("{id}: SQS Queue must be !GetAtt <Queue>.Arn"))?;
                        let report = p
                            .get("FunctionResponseTypes")
                            .and_then(Value::as_sequence)
                            .is_some_and(|t| t.iter().any(|v| v.as_str() == Some("ReportBatchItemFailures")));
                        queue = Some(QueueTrigger {
                            queue_logical_id,
                            batch_size: p.get("BatchSize").and_then(Value::as_u64).unwrap_or(10) as usize,
                            window_seconds: p
                                .get("MaximumBatchingWindowInSeconds")
                                .and_then(Value::as_u64)
                                .unwrap_or(0),
                            report_batch_item_failures: report,
                        });
                        continue;
                    }
                    Some("Schedule") | Some("ScheduleV2") => {
                        let expr = props
                            .and_then(|p| p.get("Schedule").or_else(|| p.get("ScheduleExpression")))
                            .and_then(Value::as_str)
                            .ok_or_else(|| anyhow!("{id}: Schedule event without an expression"))?;
                        schedules.push(expr.to_owned());
                        continue;
                    }
                    _ => continue,
                }
            }
            out.push(FunctionDef { logical_id: id.to_owned(), binary, routes, queue, schedules });
        }
        for (id, route) in self.resources_of("AWS::ApiGatewayV2::Route") {
            let (route, function) = self.route_target(id, route)?;
            let f = out
                .iter_mut()
                .find(|f| f.logical_id == function)
                .ok_or_else(|| anyhow!("{id}: its integration targets {function}, not a function"))?;
            f.routes.push(route);
        }
        Ok(out)
    }

    /// A route's `RouteKey` and the function its integration invokes
    /// (`Target: integrations/${XIntegration}`, `IntegrationUri: !GetAtt XFunction.Arn`).
    fn route_target(&self, id: &str, route: &Value) -> Result<(Route, String)> {
        let props = route.get("Properties").ok_or_else(|| anyhow!("{id}: no Properties"))?;
        let key =
            props.get("RouteKey").and_then(Value::as_str).ok_or_else(|| anyhow!("{id}: no RouteKey"))?;
        let (method, path) = key.split_once(' ').ok_or_else(|| anyhow!("{id}: RouteKey {key:?}"))?;
        let target = match props.get("Target") {
            Some(Value::Tagged(t)) if t.tag == "!Sub" => t.value.as_str(),
            Some(Value::Mapping(m)) => m.get("Fn::Sub").and_then(Value::as_str),
            _ => None,
        };
        let integration = target
            .and_then(|t| t.strip_prefix("integrations/${"))
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| anyhow!("{id}: Target must be !Sub \"integrations/${{<Integration>}}\""))?;
        let function = self
            .resource(integration)
            .and_then(|i| i.get("Properties"))
            .and_then(|p| p.get("IntegrationUri"))
            .and_then(get_att_target)
            .ok_or_else(|| {
                anyhow!("{id}: integration {integration} has no IntegrationUri: !GetAtt <Function>.Arn")
            })?;
        Ok((Route { method: method.to_ascii_uppercase(), path: path.to_owned() }, function))
    }

    /// `Globals.Function.Environment.Variables` laid under the function's own variables.
    pub fn function_env<'a>(&'a self, logical_id: &str) -> BTreeMap<&'a str, &'a Value> {
        let vars = |v: Option<&'a Value>| {
            v.and_then(|v| v.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_mapping)
                .into_iter()
                .flat_map(|m| m.iter())
                .filter_map(|(k, v)| Some((k.as_str()?, v)))
        };
        let globals = self.root.get("Globals").and_then(|g| g.get("Function"));
        let own =
            self.root.get("Resources").and_then(|r| r.get(logical_id)).and_then(|f| f.get("Properties"));
        vars(globals).chain(vars(own)).collect()
    }
}

/// Resolves intrinsic functions against the local stack.
#[derive(Debug, Clone)]
pub struct Resolver<'t> {
    template: &'t Template,
    pub stack: String,
    pub region: String,
    overrides: BTreeMap<String, String>,
}

impl<'t> Resolver<'t> {
    /// `overrides` replace parameter defaults (the runner reads them from `CFN_PARAM_<Name>`).
    pub fn new(
        template: &'t Template,
        stack: &str,
        region: &str,
        overrides: BTreeMap<String, String>,
    ) -> Self {
        Self { template, stack: stack.to_owned(), region: region.to_owned(), overrides }
    }

    pub fn resolve(&self, v: &Value) -> Result<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(t) => self.intrinsic(&t.tag.to_string(), &t.value),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, inner) = m.iter().next().ok_or_else(|| anyhow!("empty mapping"))?;
                let name = k.as_str().ok_or_else(|| anyhow!("non-string intrinsic"))?;
                self.intrinsic(&format!("!{}", name.trim_start_matches("Fn::")), inner)
            }
            other => bail!("cannot resolve {other:?} to a string"),
        }
    }

    fn intrinsic(&self, tag: &str, arg: &Value) -> Result<String> {
        match tag {
            "!Ref" => self.reference(arg.as_str().ok_or_else(|| anyhow!("!Ref takes a name"))?),
            "!Sub" => match arg {
                Value::String(s) => self.substitute(s, &BTreeMap::new()),
                Value::Sequence(parts) if parts.len() == 2 => {
                    let text = parts[0].as_str().ok_or_else(|| anyhow!("!Sub text"))?;
                    let mut vars = BTreeMap::new();
                    for (k, v) in parts[1].as_mapping().into_iter().flat_map(|m| m.iter()) {
                        vars.insert(k.as_str().unwrap_or_default().to_owned(), self.resolve(v)?);
                    }
                    self.substitute(text, &vars)
                }
                _ => bail!("malformed !Sub"),
            },
            "!GetAtt" => {
                let (res, attr) = match arg {
                    Value::String(s) => s.split_once('.').ok_or_else(|| anyhow!("!GetAtt {s}"))?,
                    Value::Sequence(p) if p.len() == 2 => (
                        p[0].as_str().ok_or_else(|| anyhow!("!GetAtt"))?,
                        p[1].as_str().ok_or_else(|| anyhow!("!GetAtt"))?,
                    ),
                    _ => bail!("malformed !GetAtt"),
                };
                self.attribute(res, attr)
            }
            "!Join" => {
                let parts = arg.as_sequence().filter(|p| p.len() == 2).ok_or_else(|| anyhow!("!Join"))?;
                let sep = parts[0].as_str().unwrap_or_default();
                let items = parts[1].as_sequence().ok_or_else(|| anyhow!("!Join list"))?;
                Ok(items.iter().map(|i| self.resolve(i)).collect::<Result<Vec<_>>>()?.join(sep))
            }
            other => bail!("intrinsic {other} is not supported by the local runner"),
        }
    }

    fn substitute(&self, text: &str, vars: &BTreeMap<String, String>) -> Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| anyhow!("unclosed ${{ in {text}"))?;
            let name = &after[..end];
            let value = match (vars.get(name), name.split_once('.')) {
                (Some(v), _) => v.clone(),
                (None, Some((res, attr))) => self.attribute(res, attr)?,
                (None, None) => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    pub fn reference(&self, name: &str) -> Result<String> {
        match name {
            "AWS::Region" => return Ok(self.region.clone()),
            "AWS::AccountId" => return Ok(LOCAL_ACCOUNT.to_owned()),
            "AWS::StackName" => return Ok(self.stack.clone()),
            "AWS::Partition" => return Ok("aws".to_owned()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            _ => {}
        }
        if let Some(param) = self.template.root.get("Parameters").and_then(|p| p.get(name)) {
            if let Some(v) = self.overrides.get(name) {
                return Ok(v.clone());
            }
            // A parameter only a deployment can supply (an RDS endpoint, a secret ARN) is empty
            // locally, where DATABASE_URL and friends take its place.
            return match param.get("Default") {
                Some(d) => self.resolve(d),
                None => Ok(String::new()),
            };
        }
        self.physical_name(name)
    }

    /// The name a resource gets: its explicit name property, or `<stack>-<LogicalId>`.
    pub fn physical_name(&self, logical_id: &str) -> Result<String> {
        let res = self.template.resource(logical_id).ok_or_else(|| anyhow!("no resource {logical_id}"))?;
        let kind = res.get("Type").and_then(Value::as_str).unwrap_or_default();
        let prop = match kind {
            "AWS::DynamoDB::Table" => "TableName",
            "AWS::Events::EventBus" => "Name",
            "AWS::S3::Bucket" => "BucketName",
            "AWS::SQS::Queue" => "QueueName",
            "AWS::SecretsManager::Secret" => "Name",
            "AWS::Serverless::Function" => "FunctionName",
            _ => "",
        };
        match res.get("Properties").and_then(|p| p.get(prop)) {
            Some(v) if !prop.is_empty() => self.resolve(v),
            _ => Ok(format!("{}-{}", self.stack, logical_id)),
        }
    }

    fn attribute(&self, logical_id: &str, attr: &str) -> Result<String> {
        let res = self.template.resource(logical_id).ok_or_else(|| anyhow!("no resource {logical_id}"))?;
        let kind = res.get("Type").and_then(Value::as_str).unwrap_or_default();
        let name = self.physical_name(logical_id)?;
        let (r, a) = (&self.region, LOCAL_ACCOUNT);
        Ok(match (kind, attr) {
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:aws:dynamodb:{r}:{a}:table/{name}"),
            ("AWS::Events::EventBus", "Arn") => format!("arn:aws:events:{r}:{a}:event-bus/{name}"),
            ("AWS::Events::EventBus", "Name") => name,
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{r}:{a}:{name}"),
            ("AWS::SQS::Queue", "QueueName") => name,
            ("AWS::SQS::Queue", "QueueUrl") => format!("http://sqs.{r}.localhost/{a}/{name}"),
            ("AWS::SecretsManager::Secret", "Id") => name,
            _ => bail!("!GetAtt {logical_id}.{attr} is not supported by the local runner"),
        })
    }

    /// The resolved environment of one function.
    pub fn function_env(&self, logical_id: &str) -> Result<BTreeMap<String, String>> {
        self.template
            .function_env(logical_id)
            .into_iter()
            .map(|(k, v)| Ok((k.to_owned(), self.resolve(v).with_context(|| format!("{logical_id}: {k}"))?)))
            .collect()
    }

    /// The union of every function's environment. One variable name means one thing across the
    /// stack; a conflict is an error, which is what lets the runner serve all functions from one
    /// process.
    pub fn stack_env(&self) -> Result<BTreeMap<String, String>> {
        let mut all: BTreeMap<String, (String, String)> = BTreeMap::new();
        for f in self.template.functions()? {
            for (k, v) in self.function_env(&f.logical_id)? {
                if let Some((other_fn, other)) = all.get(&k) {
                    if *other != v {
                        bail!("{k} is {other:?} in {other_fn} but {v:?} in {}", f.logical_id);
                    }
                }
                all.insert(k, (f.logical_id.clone(), v));
            }
        }
        Ok(all.into_iter().map(|(k, (_, v))| (k, v)).collect())
    }
}

/// `v` with every reference to a parameter in `passed` replaced by the value passed for it:
/// `!Ref P` becomes the value; a `${P}` in a `!Sub` becomes a `!Sub` variable holding it.
fn substitute(v: &Value, passed: &BTreeMap<String, Value>) -> Value {
    let intrinsic = |tag: &str, inner: &Value| -> Option<Value> {
        match tag {
            "Ref" => inner.as_str().and_then(|n| passed.get(n)).cloned(),
            "Sub" => {
                let (text, vars) = match inner {
                    Value::String(t) => (t.clone(), serde_yaml::Mapping::new()),
                    Value::Sequence(p) if p.len() == 2 => (
                        p[0].as_str().unwrap_or_default().to_owned(),
                        p[1].as_mapping().cloned().unwrap_or_default(),
                    ),
                    _ => return None,
                };
                let mut vars: serde_yaml::Mapping =
                    vars.into_iter().map(|(k, v)| (k, substitute(&v, passed))).collect();
                let mut rest = text.as_str();
                while let Some(start) = rest.find("${") {
                    let after = &rest[start + 2..];
                    let Some(end) = after.find('}') else { break };
                    let name = &after[..end];
                    if let Some(value) = passed.get(name) {
                        vars.entry(Value::String(name.to_owned())).or_insert_with(|| value.clone());
                    }
                    rest = &after[end + 1..];
                }
                if vars.is_empty() {
                    return Some(tagged("!Sub", Value::String(text)));
                }
                Some(tagged("!Sub", Value::Sequence(vec![Value::String(text), Value::Mapping(vars)])))
            }
            _ => None,
        }
    };
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            intrinsic(name, &t.value).unwrap_or_else(|| tagged(&tag, substitute(&t.value, passed)))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let found = m
                .iter()
                .next()
                .and_then(|(k, inner)| intrinsic(k.as_str()?.trim_start_matches("Fn::"), inner));
            found.unwrap_or_else(|| {
                Value::Mapping(m.iter().map(|(k, v)| (k.clone(), substitute(v, passed))).collect())
            })
        }
        Value::Mapping(m) => {
            Value::Mapping(m.iter().map(|(k, v)| (k.clone(), substitute(v, passed))).collect())
        }
        Value::Sequence(items) => Value::Sequence(items.iter().map(|i| substitute(i, passed)).collect()),
        other => other.clone(),
    }
}

/// Builds a `!Tag value` node (tests).
pub fn tagged(tag: &str, value: Value) -> Value {
    Value::Tagged(Box::new(TaggedValue { tag: serde_yaml::value::Tag::new(tag), value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Parameters:
  Stage: { Type: String, Default: local }
Globals:
  Function:
    Environment:
      Variables:
        STAGE: !Ref Stage
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-keys"
  Bus:
    Type: AWS::Events::EventBus
    Properties: { Name: !Sub "${AWS::StackName}-bus" }
  Fn:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: fn } }
    Properties:
      Environment:
        Variables:
          BUS_ARN: !GetAtt Bus.Arn
          JOINED: { "Fn::Join": ["/", [a, !Ref Stage]] }
  FnIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: { ApiId: api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn }
  FnRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: api, RouteKey: "get /x/{id}", Target: !Sub "integrations/${FnIntegration}" }
"#;

    #[test]
    fn resolves_refs_subs_and_attributes_against_the_local_stack() -> Result<()> {
        let t = Template::parse(T)?;
        let r = Resolver::new(&t, "s1", "us-east-1", BTreeMap::new());
        let env = r.function_env("Fn")?;
        assert_eq!(env["STAGE"], "local");
        assert_eq!(env["TABLE"], "s1-keys");
        assert_eq!(env["BUS_ARN"], format!("arn:aws:events:us-east-1:{LOCAL_ACCOUNT}:event-bus/s1-bus"));
        assert_eq!(env["JOINED"], "a/local");
        let over = Resolver::new(&t, "s1", "us-east-1", [("Stage".into(), "qa".into())].into());
        assert_eq!(over.function_env("Fn")?["STAGE"], "qa");
        let f = &t.functions()?[0];
        assert_eq!(
            (f.binary.as_str(), &f.routes[..]),
            ("fn", &[Route { method: "GET".into(), path: "/x/{id}".into() }][..])
        );
        assert!(r.resolve(&tagged("!Ref", Value::String("Missing".into()))).is_err());
        Ok(())
    }

    #[test]
    fn a_nested_stack_is_read_with_the_values_its_root_passes() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("nested-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("child.yaml"),
            r#"
Parameters:
  Prefix: { Type: String }
  TableName: { Type: String }
Globals:
  Function:
    Environment:
      Variables:
        TABLE: !Ref TableName
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties: { QueueName: !Sub "${Prefix}-q" }
  ChildFn:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: child } }
    Properties:
      Events:
        Queue: { Type: SQS, Properties: { Queue: !GetAtt Q.Arn, FunctionResponseTypes: [ReportBatchItemFailures] } }
"#,
        )?;
        let root = format!(
            "{T}  Child:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: child.yaml\n      Parameters:\n        Prefix: !Ref AWS::StackName\n        TableName: !Ref Table\n"
        );
        let t = Template::parse_with_nested(&root, &dir)?;
        let r = Resolver::new(&t, "s1", "us-east-1", BTreeMap::new());
        assert_eq!(r.physical_name("Q")?, "s1-q");
        assert_eq!(r.function_env("ChildFn")?["TABLE"], "s1-keys");
        let child = t.functions()?.into_iter().find(|f| f.binary == "child").map(|f| f.queue);
        assert_eq!(child.flatten().map(|q| q.queue_logical_id).as_deref(), Some("Q"));
        let missing = root.replace("        TableName: !Ref Table\n", "");
        let err = Template::parse_with_nested(&missing, &dir).err().map(|e| format!("{e:#}"));
        assert!(err.is_some_and(|e| e.contains("no value for child.yaml's parameter TableName")));
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }
}
