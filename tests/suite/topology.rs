//! The templates (root and nested stacks), the binaries in functions/src/bin and the registry
//! describe the same functions: the check passes for the real files and fails, naming the problem,
//! for each kind of drift; and the generated files are current.

use std::path::{Path, PathBuf};

use gateway_functions::local::{self, check_topology, generate, template::Template};

/// A copy of template.yaml and infra/stacks in a temporary folder, `edit` applied to one file.
fn variant(file: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("topology-{}", crate::support::unique()));
    std::fs::create_dir_all(dir.join("infra/stacks")).unwrap();
    let root = local::repo_root();
    std::fs::copy(root.join("template.yaml"), dir.join("template.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("infra/stacks")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("infra/stacks").join(path.file_name().unwrap())).unwrap();
    }
    let target = dir.join(file);
    let text = std::fs::read_to_string(&target).unwrap();
    std::fs::write(&target, edit(text)).unwrap();
    dir
}

fn bin_dir() -> PathBuf {
    local::repo_root().join("functions/src/bin")
}

fn check(dir: &Path) -> Result<(), String> {
    let template = Template::load(&dir.join("template.yaml")).map_err(|e| format!("{e:#}"))?;
    check_topology(&template, &bin_dir()).map_err(|e| e.to_string())
}

#[test]
fn the_real_templates_binaries_and_registry_agree() {
    check(&local::repo_root()).unwrap();
}

#[test]
fn the_generated_files_are_current() {
    let root = local::repo_root();
    let generated = generate::generate(&root, &generate::registry_specs().unwrap()).unwrap();
    let stale = generated.stale(&root);
    assert!(stale.is_empty(), "run `cargo run --bin local-runner -- generate`: {stale:?}");
}

#[test]
fn a_template_function_without_binary_or_handler_fails() {
    let extra = "\n  GhostFunction:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: ghost\n    Properties:\n      Description: no such binary\n";
    let dir = variant("infra/stacks/platform.yaml", |t| {
        t.replacen("\nResources:\n", &format!("\nResources:{extra}"), 1)
    });
    let err = check(&dir).unwrap_err();
    assert!(err.contains("no binary functions/src/bin/ghost.rs"), "{err}");
    assert!(err.contains("no handler named \"ghost\""), "{err}");
}

#[test]
fn a_binary_missing_from_the_templates_fails() {
    let dir = variant("infra/stacks/platform.yaml", |t| {
        let start = t.find("  OpenapiFunction:").unwrap();
        let end = t.find("  MigrateFunction:").unwrap();
        let t = format!("{}{}", &t[..start], &t[end..]);
        // Its route and integration go with it.
        let start = t.find("  OpenapiIntegration:").unwrap();
        let end = t.find("  MigrateFunction:").unwrap();
        format!("{}{}", &t[..start], &t[end..])
    });
    let err = check(&dir).unwrap_err();
    assert!(err.contains("binary openapi is not a function in template.yaml"), "{err}");
}

#[test]
fn two_functions_claiming_one_route_fail() {
    let dir = variant("infra/stacks/platform.yaml", |t| {
        t.replacen("RouteKey: GET /api/v1/openapi.json", "RouteKey: GET /api/v1/health", 1)
    });
    let err = check(&dir).unwrap_err();
    assert!(err.contains("GET /api/v1/health is claimed by both"), "{err}");
    assert!(err.contains("OpenapiFunction: template routes"), "{err}");
}

#[test]
fn a_route_the_handler_does_not_serve_fails() {
    let dir = variant("infra/stacks/platform.yaml", |t| {
        t.replacen("RouteKey: GET /api/v1/health/ready", "RouteKey: GET /api/v1/ready", 1)
    });
    let err = check(&dir).unwrap_err();
    assert!(err.contains("HealthReadyFunction: template routes [\"GET /api/v1/ready\"]"), "{err}");
}

#[test]
fn a_nested_stack_the_root_does_not_pass_a_parameter_to_fails() {
    let dir = variant("template.yaml", |t| t.replacen("        DbOpsPolicy: !Ref DbOpsPolicy\n", "", 1));
    let err = check(&dir).unwrap_err();
    assert!(err.contains("the root passes no value for infra/stacks/"), "{err}");
    assert!(err.contains("parameter DbOpsPolicy"), "{err}");
}
