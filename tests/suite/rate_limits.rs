//! Rate limits shared by every instance (DynamoDB): one limit across two OS processes, an honest
//! `Retry-After`, per-tenant settings, login limits per email, and the failure policy (open for
//! ordinary routes, closed for login).

use chrono::{Duration, Timelike, Utc};
use serde_json::json;

use crate::world::{PASSWORD, World};

#[tokio::test]
async fn one_limit_holds_across_two_processes() {
    let w = World::new().await;
    let a = w.tenant().await;
    w.setting(a, "rate_limit.read_per_minute", json!(10)).await;
    let p = w.person(a, &["TENANT_USER"]).await;
    // The second process shares this test's stack: the same DynamoDB table.
    let twin = w.twin().await;
    // Both processes must be in the same minute window: the runner's clock is the system's.
    while Utc::now().second() >= 50 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    w.clock.set(Utc::now());
    let read = || w.get("/api/v1/roles").by(&p);
    let statuses = twin.race_statuses((0..15).map(|_| read()), (0..15).map(|_| read())).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((ok, limited), (10, 20), "one limit of 10 for both processes: {statuses:?}");
    twin.stop().await;
}

#[tokio::test]
async fn retry_after_is_honest_and_limits_are_per_tenant_and_class() {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    w.setting(a, "rate_limit.read_per_minute", json!(3)).await;
    let (pa, pb) = (w.person(a, &["TENANT_ADMIN"]).await, w.person(b, &["TENANT_ADMIN"]).await);
    // Start at a window boundary so the arithmetic below is plain.
    let now = Utc::now();
    w.clock
        .set(now - Duration::milliseconds(now.timestamp_millis().rem_euclid(60_000)) + Duration::minutes(1));
    let read = |t: &str| {
        let (w, t) = (&w, t.to_owned());
        async move { w.call("GET", "/api/v1/roles", Some(&t), None).await }
    };
    for _ in 0..3 {
        assert_eq!(read(&pa.token).await.status, 200);
    }
    let limited = read(&pa.token).await;
    assert_eq!(limited.problem(429), "rate_limited");
    assert_eq!(limited.headers["ratelimit-limit"], "3");
    assert_eq!(limited.headers["ratelimit-remaining"], "0");
    assert_eq!(limited.headers["ratelimit-policy"], "3;w=60");
    let wait: i64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(read(&pa.token).await.problem(429), "rate_limited", "a second knock in the same window");
    // 3 hits at 0 s, limit 3: the next window, once the 3 weigh ≤ 2 → 60 + 20 s.
    assert_eq!(wait, 80);
    // Other tenants and other route classes have their own budgets.
    assert_eq!(read(&pb.token).await.status, 200);
    w.patch(format!("/api/v1/users/{}", pa.id), json!({"display_name": "x"})).by(&pa).expect(200).await;
    // A second before Retry-After: still refused (and the refusal did not push the time back)...
    w.clock.advance(Duration::seconds(wait - 1));
    let still = read(&pa.token).await;
    assert_eq!(still.problem(429), "rate_limited");
    assert_eq!(still.headers["retry-after"], "1");
    // ...at Retry-After: let in. (The session stays alive: the user is active enough.)
    w.clock.advance(Duration::seconds(1));
    let again = read(&pa.token).await;
    assert_eq!(again.status, 200, "{}", again.body);
    // The lockout is on record once per window, not once per knock: two refusals at 0 s, one at
    // 79 s (the next window) → two entries.
    let exceeded: Vec<String> =
        w.audit_actions(Some(a)).await.into_iter().filter(|x| x == "rate_limit.exceeded").collect();
    assert_eq!(exceeded.len(), 2);
}

#[tokio::test]
async fn login_is_limited_per_email() {
    let w = World::new().await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    let login = || w.login(&p.email, PASSWORD);
    for _ in 0..10 {
        assert_eq!(login().await.status, 200);
    }
    let limited = login().await;
    assert_eq!(limited.problem(429), "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    login().await;
    let recorded: i64 =
        w.db.admin()
            .await
            .query_one(
                "SELECT count(*) FROM login_attempts WHERE email = $1 AND reason = 'rate_limited'",
                &[&p.email],
            )
            .await
            .unwrap()
            .get(0);
    assert_eq!(recorded, 1, "the lockout is recorded once per window");
}

#[tokio::test]
async fn when_dynamodb_is_unreachable_ordinary_routes_fail_open_and_login_fails_closed() {
    let w = World::new_with(&[("RATE_LIMIT_TABLE", "no-such-table".to_owned())]).await;
    let a = w.tenant().await;
    let p = w.person_with(a, &["TENANT_USER"], Some(PASSWORD)).await;
    assert_eq!(w.call("GET", "/api/v1/roles", Some(&p.token), None).await.status, 200, "open");
    let login = w.login(&p.email, PASSWORD).await;
    assert_eq!(login.problem(503), "rate_limiter_unavailable");
    assert_eq!(login.headers["retry-after"], "5");
}
