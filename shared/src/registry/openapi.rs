//! The OpenAPI 3.1 description, generated from the handlers' `#[utoipa::path]` annotations.
//!
//! The document (`openapi_doc.rs`, written by `local-runner generate` from the registry) lists the
//! annotations' generated path types, not the handlers, so the `openapi` function does not link
//! every other function's code (and AWS clients).

use std::sync::OnceLock;

use axum::Json;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use super::openapi_doc::ApiDoc;

/// The whole API description (built once per instance).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = crate::platform::config::BUILD.version.to_owned();
        // A file that does not parse shows no examples; the unit test below and scripts/test's
        // example check both fail on it.
        let examples: serde_json::Map<String, Value> = serde_json::from_str(EXAMPLES).unwrap_or_default();
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                ("GET", &mut item.get),
                ("PUT", &mut item.put),
                ("POST", &mut item.post),
                ("DELETE", &mut item.delete),
                ("PATCH", &mut item.patch),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                document_errors(op);
                document_access(op, method, path);
                if let Some(example) = examples.get(&format!("{method} {path}")) {
                    document_example(op, example);
                }
            }
        }
        let mut doc = serde_json::to_value(&doc).unwrap_or_default();
        document_aliases(&mut doc, crate::orders::FIELD_ALIASES);
        doc
    })
}

/// The other spellings a body's fields are accepted under (serde aliases, which the annotations
/// cannot show): each a property of its own describing itself as an alias, and a required field
/// satisfied by either spelling.
fn document_aliases(doc: &mut Value, aliases: &[(&str, &str, &str)]) {
    for (schema, alias, field) in aliases {
        let Some(object) = doc.pointer_mut(&format!("/components/schemas/{schema}")) else { continue };
        let Some(mut property) = object["properties"].get(*field).cloned() else { continue };
        property["description"] = Value::String(format!("Alias of `{field}`."));
        object["properties"][*alias] = property;
        let Some(required) = object.get_mut("required").and_then(Value::as_array_mut) else { continue };
        if let Some(at) = required.iter().position(|r| r == field) {
            required.remove(at);
            let either = serde_json::json!([{"required": [field]}, {"required": [alias]}]);
            object.as_object_mut().map(|o| o.insert("anyOf".into(), either));
        }
    }
}

/// The errors every operation can answer, whether or not its annotation names them: a body that is
/// not JSON or of the wrong shape (400, 413, 415, 422) where it takes one, a parameter that cannot
/// be read (422) where it has any, no or a bad credential
/// (401), no permission (403) and a rate limit (429) where it needs one, and 500 everywhere.
fn common_errors(op: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut codes = vec![("500", "Internal error (opaque; the request id names it in the logs)")];
    if op.request_body.is_some() {
        codes.extend([
            ("400", "The body is not JSON"),
            ("413", "The body is over the route's limit"),
            ("415", "The body is not application/json"),
            ("422", "The body has the wrong shape: every problem, each with its path"),
        ]);
    }
    if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        codes.push(("422", "A path or query parameter that cannot be read: every problem"));
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        codes.extend([
            ("401", "No credential, or one that is not valid"),
            ("403", "The credential does not allow this"),
            (
                "404",
                "X-Tenant-Id names no tenant the caller may act for, or what the path names is not there",
            ),
            ("429", "Over the tenant's rate limit (Retry-After)"),
        ]);
    }
    codes
}

/// Every error answer of `op` documented as what it is: `application/problem+json`, the problem
/// schema; and the statuses it can answer that its annotation leaves out, added.
fn document_errors(op: &mut Operation) {
    let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    for (status, response) in op.responses.responses.iter_mut() {
        if status.as_str() < "400" {
            continue;
        }
        if let RefOr::T(r) = response {
            r.content.shift_remove("application/json");
            r.content.insert("application/problem+json".to_owned(), problem());
        }
    }
    for (status, description) in common_errors(op) {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", problem())
                    .build(),
            )
        });
    }
}

/// Examples taken from real exchanges of the integration suite (`scripts/lib/examples.py`); an
/// annotation's own example wins.
const EXAMPLES: &str = include_str!("examples.json");

/// What `op` asks of its caller, from the route policy table: `x-permission` (a permission, or
/// `session` / `public`) and a sentence of its description, so a reader (and schemathesis) knows
/// which credential it takes.
fn document_access(op: &mut Operation, method: &str, path: &str) {
    use crate::identity::Access;
    let Some(route) = crate::identity::policy::policy(method, path) else { return };
    let (value, sentence) = match route.access {
        Access::Public => ("public".to_owned(), "No credential.".to_owned()),
        Access::Session => ("session".to_owned(), "Any signed-in caller, acting on itself.".to_owned()),
        Access::Permission(p) if p.ends_with(":all") => {
            (p.to_owned(), format!("Requires `{p}` (platform roles only)."))
        }
        Access::Permission(p) => (p.to_owned(), format!("Requires `{p}`.")),
    };
    op.extensions
        .get_or_insert_with(Extensions::default)
        .merge(Extensions::builder().add("x-permission", value).build());
    let description = op.description.get_or_insert_with(String::new);
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&sentence);
}

/// Puts a recorded exchange's request and answer on `op` as examples, where it has none.
fn document_example(op: &mut Operation, example: &Value) {
    if let (Some(body), Some(request)) = (op.request_body.as_mut(), example.get("request")) {
        if let Some(content) = body.content.get_mut("application/json") {
            if content.example.is_none() && content.examples.is_empty() && !request.is_null() {
                content.example = Some(request.clone());
            }
        }
    }
    let answers = example.get("responses").and_then(Value::as_object).into_iter().flatten();
    for (status, answer) in answers {
        if let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) {
            if let Some(content) = response.content.get_mut("application/json") {
                if content.example.is_none() && content.examples.is_empty() {
                    content.example = Some(answer.clone());
                }
            }
        }
    }
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi", tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<&'static Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_examples_file_is_a_json_object_of_operations() {
        let examples: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(super::EXAMPLES).unwrap();
        for key in examples.keys() {
            let (method, path) = key.split_once(' ').unwrap();
            assert!(
                ["GET", "PUT", "POST", "DELETE", "PATCH"].contains(&method) && path.starts_with('/'),
                "{key}"
            );
        }
    }
}
