//! Each function may touch only what its registry entry declares: the template gives its role
//! exactly the declared capabilities' policies, and in the local stack (and the tests) a function
//! that reaches for anything else fails, naming the capability, instead of passing here and being
//! denied by IAM in AWS.

use std::collections::BTreeSet;

use gateway::identity::policy::Access;
use gateway::platform::capability::Capability::{self, *};
use gateway::registry::{
    AUTH_LOGIN, Api, Context, HEALTH_READY, HTTP_FUNCTIONS, HttpFunction, QUEUE_FUNCTIONS, TASK_FUNCTIONS,
};
use gateway_functions::http_router;
use serde_yaml::Value;

use crate::support;

/// `f` declared with `capabilities` instead of its own.
fn redeclared(
    f: &HttpFunction,
    context: Context,
    access: Access,
    capabilities: &[Capability],
) -> HttpFunction {
    HttpFunction::new(context, Api { routes: f.routes, handler: f.handler }, access, capabilities)
}

async fn send_sample(f: &HttpFunction, state: &gateway::AppState) -> support::Reply {
    let text = std::fs::read_to_string(
        gateway_functions::local::repo_root().join(format!("events/{}.json", f.name())),
    )
    .unwrap();
    let req = lambda_http::request::from_str(&text).unwrap();
    support::send(&http_router(f, state.clone()), req.map(|b| axum::body::Body::from(b.to_vec()))).await
}

#[tokio::test]
async fn a_function_reaching_for_an_undeclared_capability_fails_in_the_local_stack() {
    let state = support::stack_state().await;
    // Login as declared: the sample's credentials are refused, the function works.
    let declared = send_sample(&AUTH_LOGIN, &state).await;
    assert!(declared.status.as_u16() < 500, "{} {}", declared.status, declared.body);
    // Without the rate-limit table, the limiter is a wiring mistake: 500, never a silent pass.
    let without =
        redeclared(&AUTH_LOGIN, Context::Identity, Access::Public, &[DbApp, VerifyTokens, SignTokens]);
    assert_eq!(without.name(), "auth-login");
    let reply = send_sample(&without, &state).await;
    assert_eq!(reply.problem(500), "internal_error", "{}", reply.body);

    // Readiness without its probe capability cannot reach the AWS checks: each is refused.
    let ready = send_sample(&HEALTH_READY, &state).await;
    assert!(ready.status.is_success(), "{}", ready.body);
    let without = redeclared(&HEALTH_READY, Context::Platform, Access::Public, &[DbApp]);
    let reply = send_sample(&without, &state).await;
    assert_eq!(reply.status.as_u16(), 503, "{}", reply.body);
    for check in ["dynamodb", "sqs", "eventbridge"] {
        assert_eq!(reply.body["checks"][check]["error"], "not_configured", "{check}: {}", reply.body);
    }
    assert_eq!(reply.body["checks"]["postgres"]["status"], "ok", "{}", reply.body);
    // Nor may it open a database role it did not declare, though another function built the pool.
    let without = redeclared(&HEALTH_READY, Context::Platform, Access::Public, &[HealthProbe]);
    let reply = send_sample(&without, &state).await;
    assert_eq!(reply.body["checks"]["postgres"]["error"], "not_configured", "{}", reply.body);
    assert_eq!(reply.body["checks"]["dynamodb"]["status"], "ok", "{}", reply.body);
    // The configuration says which capability is missing (the readiness answer keeps it to the log).
    let config =
        state.for_function("health-ready", gateway::platform::capability::Capabilities::of(&[DbApp]));
    let err = config.config().idempotency_table().unwrap_err().to_string();
    assert_eq!(
        err,
        "function health-ready does not declare the capability idempotency (add it to its registry entry)"
    );
}

/// `!Ref X` and `{"Ref": X}` names inside a value.
fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" => {
            out.extend(t.value.as_str().map(str::to_owned));
        }
        Value::Tagged(t) => refs(&t.value, out),
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("Ref") {
                    out.extend(v.as_str().map(str::to_owned));
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

#[test]
fn each_function_role_holds_exactly_the_policies_of_its_declared_capabilities() {
    let template = support::template();
    for c in Capability::ALL {
        let policy = template
            .resource(c.policy())
            .unwrap_or_else(|| panic!("{c}: no {} in template.yaml", c.policy()));
        assert_eq!(policy["Type"].as_str(), Some("AWS::IAM::ManagedPolicy"), "{c}");
    }
    let declared: Vec<(&str, gateway::platform::capability::Capabilities)> = HTTP_FUNCTIONS
        .iter()
        .map(|f| (f.name(), f.capabilities))
        .chain(TASK_FUNCTIONS.iter().map(|f| (f.name, f.capabilities)))
        .chain(QUEUE_FUNCTIONS.iter().map(|f| (f.name, f.capabilities)))
        .collect();
    let functions = template.functions().unwrap();
    assert_eq!(functions.len(), declared.len());
    for (name, caps) in declared {
        let f = functions.iter().find(|f| f.binary == name).unwrap();
        let props = &template.resource(&f.logical_id).unwrap()["Properties"];
        let role_id = match &props["Role"] {
            Value::Tagged(t) => t.value.as_str().unwrap().trim_end_matches(".Arn").to_owned(),
            other => panic!("{name}: Role {other:?}"),
        };
        let mut attached = BTreeSet::new();
        refs(&template.resource(&role_id).unwrap()["Properties"]["ManagedPolicyArns"], &mut attached);
        let wanted: BTreeSet<String> = caps.iter().map(|c| c.policy().to_owned()).collect();
        assert_eq!(attached, wanted, "{name}: its role's policies");
        // And the environment its capabilities bring, nothing of another's.
        let env = &props["Environment"]["Variables"];
        for e in caps.env() {
            assert!(env.get(e.var).is_some(), "{name}: no {}", e.var);
        }
        for c in Capability::ALL.iter().filter(|c| !caps.has(**c)) {
            for e in c.env().iter().filter(|e| !caps.env().iter().any(|d| d.var == e.var)) {
                assert!(env.get(e.var).is_none(), "{name} gets {} without declaring {c}", e.var);
            }
        }
    }
}
