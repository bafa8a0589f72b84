//! template.yaml, the binaries in functions/src/bin and the registry describe the same functions:
//! the check passes for the real files and fails, naming the problem, for each kind of drift.

use gateway_functions::local::{self, check_topology, template::Template};

fn real_template_text() -> String {
    std::fs::read_to_string(local::repo_root().join("template.yaml")).unwrap()
}

fn bin_dir() -> std::path::PathBuf {
    local::repo_root().join("functions/src/bin")
}

fn check(text: &str) -> Result<(), String> {
    check_topology(&Template::parse(text).unwrap(), &bin_dir()).map_err(|e| e.to_string())
}

#[test]
fn the_real_template_binaries_and_registry_agree() {
    check(&real_template_text()).unwrap();
}

#[test]
fn a_template_function_without_binary_or_handler_fails() {
    let extra = "\n  GhostFunction:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: ghost\n    Properties:\n      Description: no such binary\n";
    let text = real_template_text().replacen("\nResources:\n", &format!("\nResources:{extra}"), 1);
    let err = check(&text).unwrap_err();
    assert!(err.contains("no binary functions/src/bin/ghost.rs"), "{err}");
    assert!(err.contains("no handler named \"ghost\""), "{err}");
}

#[test]
fn a_binary_missing_from_the_template_fails() {
    let text = real_template_text();
    let start = text.find("  OpenApiFunction:").unwrap();
    let end = text.find("  MigrateFunction:").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let err = check(&without).unwrap_err();
    assert!(err.contains("binary openapi is not a function in template.yaml"), "{err}");
}

#[test]
fn two_functions_claiming_one_route_fail() {
    let text = real_template_text().replacen("Path: /api/v1/openapi.json", "Path: /api/v1/health", 1);
    let err = check(&text).unwrap_err();
    assert!(err.contains("GET /api/v1/health is claimed by both"), "{err}");
    assert!(err.contains("OpenApiFunction: template routes"), "{err}");
}

#[test]
fn a_route_the_handler_does_not_serve_fails() {
    let text = real_template_text().replacen("Path: /api/v1/health/ready", "Path: /api/v1/ready", 1);
    let err = check(&text).unwrap_err();
    assert!(err.contains("HealthReadyFunction: template routes [\"GET /api/v1/ready\"]"), "{err}");
}
