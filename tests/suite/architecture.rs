//! The house rules of the domain crate (README, "Layout"), checked on its source: every context has
//! the same shape, a context's SQL names only the tables it owns, modules form no cycle and reach
//! another context only through its `mod.rs`, and the order state machine has no wildcard arm.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate's top-level modules, lowest layer first. A module may use only those before it.
const LAYERS: &[&str] = &[
    "platform",
    "notifications",
    "identity",
    "catalog",
    "orders",
    "payments",
    "inventory",
    "operations",
    "registry",
];

/// The bounded contexts (the layers that are not the platform or the registry).
const CONTEXTS: &[&str] =
    &["notifications", "identity", "catalog", "orders", "payments", "inventory", "operations"];

/// Who owns each table; a table the migrations create and this list does not name fails the test.
const OWNERS: &[(&str, &[&str])] = &[
    ("platform", &["outbox", "audit_log", "exception_records"]),
    (
        "identity",
        &[
            "tenants",
            "tenant_settings",
            "users",
            "tenant_users",
            "roles",
            "role_permissions",
            "role_grants",
            "sessions",
            "refresh_tokens",
            "invitations",
            "password_resets",
            "login_attempts",
            "mfa_factors",
            "mfa_challenges",
            "mfa_recovery_codes",
            "api_keys",
            "sso_providers",
            "sso_logins",
        ],
    ),
    (
        "catalog",
        &[
            "categories",
            "products",
            "catalog_items",
            "sku_mappings",
            "price_lists",
            "price_list_prices",
            "promotions",
            "promotion_redemptions",
        ],
    ),
    (
        "orders",
        &[
            "orders",
            "order_lines",
            "order_events",
            "order_status_history",
            "order_numbers",
            "channels",
            "channel_deliveries",
            "customer_approvals",
            "field_mapping_profiles",
        ],
    ),
    (
        "payments",
        &[
            "merchant_accounts",
            "payment_account_sets",
            "tenant_payment_accounts",
            "payment_methods",
            "payments",
            "payment_attempts",
            "payment_history",
            "payment_discrepancies",
            "payment_shipments",
        ],
    ),
    ("inventory", &["warehouses", "stock_levels", "inventory_movements", "reservations", "backorders"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a source file belongs to (`shared/src/orders/api.rs` → `orders`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The file without its comments (line comments only: the crate has no block comments) and without
/// its `#[cfg(test)]` tail.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn tables_created() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/migrations");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in sql.split("CREATE TABLE ").skip(1) {
            out.insert(
                part.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap().to_owned(),
            );
        }
    }
    out
}

/// Table names an SQL text mentions after FROM, JOIN, INTO, UPDATE or TABLE.
fn tables_named(code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let words: Vec<&str> =
        code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let mut out = BTreeSet::new();
    for pair in words.windows(2) {
        if ["FROM", "JOIN", "INTO", "UPDATE", "TABLE"].contains(&pair[0]) && known.contains(pair[1]) {
            out.insert(pair[1].to_owned());
        }
    }
    out
}

#[test]
fn every_table_has_one_owner_and_a_contexts_sql_names_only_its_own() {
    let created = tables_created();
    let mut owner = BTreeMap::new();
    for (module, tables) in OWNERS {
        for t in *tables {
            assert!(owner.insert(*t, *module).is_none(), "{t} has two owners");
        }
    }
    let unowned: Vec<&String> = created.iter().filter(|t| !owner.contains_key(t.as_str())).collect();
    assert!(unowned.is_empty(), "tables without an owner in OWNERS: {unowned:?}");
    let stale: Vec<&&str> = owner.keys().filter(|t| !created.contains(**t)).collect();
    assert!(stale.is_empty(), "OWNERS names tables no migration creates: {stale:?}");

    let mut violations = Vec::new();
    let mut seen = BTreeSet::new();
    for file in rust_files(&src()) {
        let module = module_of(&file);
        for t in tables_named(&code(&file), &created) {
            seen.insert(owner[t.as_str()]);
            if owner[t.as_str()] != module {
                violations.push(format!("{} names {t} (owned by {})", file.display(), owner[t.as_str()]));
            }
        }
    }
    let owners: BTreeSet<&str> = OWNERS.iter().map(|(m, _)| *m).collect();
    assert_eq!(
        seen, owners,
        "every owner's tables are named somewhere in its sources (is the scan reading them?)"
    );
    assert!(violations.is_empty(), "SQL naming another context's table:\n{}", violations.join("\n"));
}

/// `crate::<module>` paths a file names (its own module excluded).
fn uses(code: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for part in code.split("crate::").skip(1) {
        let mut segs = part.split("::").map(|s| {
            s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("").to_owned()
        });
        let top = segs.next().unwrap_or_default();
        out.push((top, segs.next().filter(|s| !s.is_empty())));
    }
    out
}

#[test]
fn modules_point_down_the_layers_and_reach_a_context_only_through_its_mod_rs() {
    let generated = ["registry/openapi_doc.rs", "identity/model/policy/table.rs"];
    let mut violations = Vec::new();
    let mut edges = BTreeSet::new();
    for file in rust_files(&src()) {
        let module = module_of(&file);
        if module == "lib" || generated.iter().any(|g| file.ends_with(g)) {
            continue;
        }
        let rank =
            LAYERS.iter().position(|l| *l == module).unwrap_or_else(|| panic!("{module} is in no layer"));
        for (top, second) in uses(&code(&file)) {
            if top == module || !LAYERS.contains(&top.as_str()) {
                continue;
            }
            edges.insert((module.clone(), top.clone()));
            let target = LAYERS.iter().position(|l| *l == top).unwrap();
            if target >= rank {
                violations.push(format!("{} ({module}) uses crate::{top} above it", file.display()));
            }
            // Another context's service API is its mod.rs: `crate::catalog::resolve`, never
            // `crate::catalog::store::...`. The registry names handlers: that is its job.
            let submodule = |s: &str| {
                src().join(&top).join(format!("{s}.rs")).is_file() || src().join(&top).join(s).is_dir()
            };
            if module != "registry"
                && CONTEXTS.contains(&top.as_str())
                && second.as_deref().is_some_and(submodule)
            {
                violations.push(format!(
                    "{} ({module}) reaches past crate::{top}'s mod.rs into crate::{top}::{}",
                    file.display(),
                    second.unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        edges.contains(&("orders".into(), "catalog".into())),
        "the scan sees orders using catalog: {edges:?}"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn every_context_has_the_same_shape() {
    let layer_files = ["model", "service", "store", "api"];
    for ctx in CONTEXTS {
        let dir = src().join(ctx);
        let mut names = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                let stem = name.clone();
                if layer_files.contains(&stem.as_str()) {
                    names.insert(stem);
                } else if !p.join("wire.rs").is_file() && !p.join("mod.rs").is_file() {
                    names.insert(format!("{name}/"));
                } else {
                    // A provider client: the call in mod.rs, the wire types in wire.rs.
                    for f in ["mod.rs", "wire.rs"] {
                        assert!(p.join(f).is_file(), "{ctx}/{name}/ is a provider folder without {f}");
                    }
                    names.insert(format!("{name}/"));
                }
            } else {
                names.insert(name.trim_end_matches(".rs").to_owned());
            }
        }
        for required in ["mod", "model"] {
            assert!(names.contains(required), "{ctx} has no {required}(.rs|/): {names:?}");
        }
        let allowed = ["mod", "model", "service", "store", "api", "events", "consumers"];
        let odd: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| {
                let provider = n.ends_with('/') && src().join(ctx).join(n).join("wire.rs").is_file();
                !(allowed.contains(n) || provider)
            })
            .collect();
        assert!(odd.is_empty(), "{ctx}: files outside the shape: {odd:?}");
    }
}

#[test]
fn the_order_state_machine_has_no_wildcard_arm() {
    let model = code(&src().join("orders/model/orders.rs"));
    assert!(model.contains("pub fn transition("), "the state machine lives in orders/model/orders.rs");
    assert!(!model.contains("_ =>"), "orders/model/orders.rs has a wildcard match arm");
}

/// Where a context's SQL may be: its `store` (file or folder), and nowhere else.
#[test]
fn a_contexts_sql_is_all_in_its_store() {
    let sql = ["SELECT ", "INSERT INTO", "DELETE FROM", " SET "];
    let mut outside = Vec::new();
    for ctx in CONTEXTS {
        for file in rust_files(&src().join(ctx)) {
            let rel = file.strip_prefix(src().join(ctx)).unwrap().to_string_lossy().into_owned();
            if rel.split('/').next().unwrap_or("").trim_end_matches(".rs") == "store" {
                continue;
            }
            let code = code(&file);
            // SQL is in string literals: look only inside them.
            let strings: Vec<&str> = code.split('"').skip(1).step_by(2).collect();
            if strings.iter().any(|s| sql.iter().any(|k| s.contains(k))) {
                outside.push(format!("{ctx}/{rel}"));
            }
        }
    }
    assert_eq!(outside, Vec::<String>::new(), "SQL outside a store");
}
