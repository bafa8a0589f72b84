//! The event plumbing end to end against real Postgres and the emulator: outbox → EventBridge →
//! rule → queue → consumer, the relay, deduplication, the DLQ and its exception record, partial
//! batch failures, and scheduled functions fired on demand.

use std::path::PathBuf;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use gateway::notifications::{EmailRequested, EmailTemplate};
use gateway::platform::consumer::{self, Delivery};
use gateway::platform::db::scoped_tx;
use gateway::platform::events::{self, DomainEvent, Envelope};
use gateway::platform::tenant::TenantId;
use gateway::registry::QueueHandler;
use gateway::{AppState, Config};
use gateway_functions::local::LocalStack;
use gateway_functions::local::provision::Overrides;
use gateway_functions::local::runtime::{self, Handlers, Runtime};

use crate::support::{self, TestDb};

struct Plumbing {
    db: TestDb,
    state: AppState,
    stack: LocalStack,
    mailbox: PathBuf,
    tenant: TenantId,
    runtime: Runtime,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct AlwaysFails {
    n: u32,
}

impl DomainEvent for AlwaysFails {
    const TYPE: &'static str = "test.always_fails";
    const VERSION: u32 = 1;
}

/// Counts handler runs per event id (a static: queue handlers are plain functions).
static COUNTED: std::sync::Mutex<std::collections::BTreeMap<uuid::Uuid, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Counted {
    n: u32,
}

impl DomainEvent for Counted {
    const TYPE: &'static str = "test.counted";
    const VERSION: u32 = 1;
}

const COUNTER: QueueHandler = |s, batch| {
    Box::pin(consumer::handle_batch(s, "test-counted", batch, |d: Delivery<Counted>| async move {
        *COUNTED.lock().unwrap().entry(d.envelope.id).or_default() += 1;
        Ok(())
    }))
};

fn runs_of(id: uuid::Uuid) -> u32 {
    COUNTED.lock().unwrap().get(&id).copied().unwrap_or(0)
}

const ALWAYS_FAILS: QueueHandler = |s, batch| {
    Box::pin(consumer::handle_batch(s, "test-always-fails", batch, |_d: Delivery<AlwaysFails>| async {
        Err("this consumer always fails".into())
    }))
};

/// A private stack with the production template plus the test consumers, its consumers running,
/// schedules off, the mailbox sender, one tenant.
async fn plumbing(max_receive_count: u32) -> Plumbing {
    let db = TestDb::create().await;
    let mut stack = support::local_stack(&format!("t{}", support::unique()));
    stack
        .template
        .merge(
            &std::fs::read_to_string(
                gateway_functions::local::repo_root().join("tests/fixtures/test-consumers.yaml"),
            )
            .unwrap(),
        )
        .unwrap();
    stack.overrides.insert("EmailSender".into(), "mailbox".into());
    stack.overrides.insert("MaxReceiveCount".into(), max_receive_count.to_string());
    // Failed messages come back at once instead of after the template's visibility timeout.
    support::provision(&stack, &Overrides { visibility_timeout_seconds: Some(0) }).await;
    let mailbox = std::env::temp_dir().join(format!("mailbox-{}", support::unique()));
    let env = support::env_of(
        &stack,
        &[
            ("DATABASE_URL", db.app_url()),
            ("DATABASE_OPS_URL", db.ops_url()),
            ("MAILBOX_DIR", mailbox.display().to_string()),
        ],
    );
    let state = AppState::new(Config::from_env(&env).unwrap(), std::sync::Arc::new(gateway::SystemClock));
    let mut handlers = Handlers::default();
    handlers.queues.insert("test-always-fails".into(), ALWAYS_FAILS);
    handlers.queues.insert("test-counted".into(), COUNTER);
    let runtime = Runtime::start(
        state.clone(),
        &stack.template,
        &stack.resolver(),
        handlers,
        &runtime::Options { schedules: false },
    )
    .await
    .unwrap();
    let tenant = TenantId::new();
    db.admin()
        .await
        .execute(
            "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Plumbing Clinic')",
            &[&tenant.as_uuid(), &format!("p-{}", support::unique())],
        )
        .await
        .unwrap();
    Plumbing { db, state, stack, mailbox, tenant, runtime }
}

fn email(to: &str, code: &str) -> EmailRequested {
    EmailRequested {
        to: to.into(),
        template: EmailTemplate::EmailCode,
        params: serde_json::json!({"code": code, "expires_minutes": 10}).as_object().cloned().unwrap(),
    }
}

impl Plumbing {
    /// Records `event` in a tenant transaction and commits (or rolls back).
    async fn record<E: DomainEvent>(&self, event: &E, commit: bool) -> Envelope {
        let mut conn = self.state.db().await.unwrap().conn().await.unwrap();
        let tx = scoped_tx(&mut conn, Some(self.tenant), None).await.unwrap();
        let env = events::record(&*tx, Some(self.tenant), self.state.clock().as_ref(), event).await.unwrap();
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        env
    }

    fn mails(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(&self.mailbox)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Waits (polling, at most 20 s) for a condition the running consumers bring about.
    async fn until<F: Fn() -> bool>(&self, what: &str, f: F) {
        for _ in 0..200 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }

    async fn queue_depth(&self, queue_logical_id: &str) -> (u64, u64) {
        let sqs = self.state.sqs().await.unwrap();
        let name = self.stack.resolver().physical_name(queue_logical_id).unwrap();
        let url = sqs.get_queue_url().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned();
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let get = |a: A| attrs.attributes().and_then(|m| m.get(&a)).and_then(|v| v.parse().ok()).unwrap_or(0);
        (get(A::ApproximateNumberOfMessages), get(A::ApproximateNumberOfMessagesNotVisible))
    }

    async fn drained(&self, queue_logical_id: &str) {
        for _ in 0..200 {
            if self.queue_depth(queue_logical_id).await == (0, 0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{queue_logical_id} did not drain");
    }

    async fn published_at(&self, id: uuid::Uuid) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
        let rows = self
            .db
            .admin()
            .await
            .query("SELECT published_at FROM outbox WHERE id = $1", &[&id])
            .await
            .unwrap();
        rows.first().map(|r| r.get(0))
    }
}

#[tokio::test]
async fn an_email_requested_in_a_committed_transaction_lands_in_the_mailbox() {
    let p = plumbing(5).await;
    let env = p.record(&email("ops@clinic.example", "493021"), true).await;
    events::publisher(&p.state)
        .await
        .unwrap()
        .publish_committed(p.state.db().await.unwrap(), std::slice::from_ref(&env))
        .await;
    p.until("the email", || p.mails().len() == 1).await;
    let mail = &p.mails()[0];
    assert!(mail.contains("To: ops@clinic.example") && mail.contains("493021"), "{mail}");
    assert!(mail.contains("Subject: Your Regen Therapy Gateway sign-in code"), "{mail}");
    assert!(p.published_at(env.id).await.unwrap().is_some(), "marked published after commit");
}

#[tokio::test]
async fn a_sent_link_email_leaves_no_token_in_the_outbox() {
    let p = plumbing(5).await;
    let mut params = serde_json::Map::new();
    params.insert("reset_url".into(), "https://app.example/reset-password?token=secret-token-value".into());
    params.insert("expires_at".into(), "2026-11-21T08:00:00Z".into());
    let mail =
        EmailRequested { to: "ops@clinic.example".into(), template: EmailTemplate::PasswordReset, params };
    let env = p.record(&mail, true).await;
    events::publisher(&p.state)
        .await
        .unwrap()
        .publish_committed(p.state.db().await.unwrap(), std::slice::from_ref(&env))
        .await;
    p.until("the email", || p.mails().len() == 1).await;
    assert!(p.mails()[0].contains("secret-token-value"), "the person gets the link");
    let admin = p.db.admin().await;
    let mut data = serde_json::Value::Null;
    for _ in 0..100 {
        data = admin.query_one("SELECT data FROM outbox WHERE id = $1", &[&env.id]).await.unwrap().get(0);
        if data["params"].get("reset_url").is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!data.to_string().contains("secret-token-value"), "{data}");
    assert_eq!(data["params"]["expires_at"], "2026-11-21T08:00:00Z", "the rest is kept");
}

#[tokio::test]
async fn a_rolled_back_event_is_never_published() {
    let p = plumbing(5).await;
    let rolled_back = p.record(&email("ghost@clinic.example", "000000"), false).await;
    let marker = p.record(&email("marker@clinic.example", "111111"), true).await;
    assert_eq!(p.published_at(rolled_back.id).await, None, "no outbox row survives a rollback");
    // The relay (fired on demand, as the schedule would) publishes what is committed and unpublished.
    let report = p
        .runtime
        .invoke("outbox-relay", runtime::scheduled_event("outbox-relay", "us-east-1"))
        .await
        .unwrap();
    assert_eq!(report, serde_json::json!({"published": 1, "failed": 0}));
    assert!(p.published_at(marker.id).await.unwrap().is_some());
    p.until("the marker email", || !p.mails().is_empty()).await;
    p.drained("NotifyEmailQueue").await;
    let mails = p.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("marker@clinic.example") && !mails[0].contains("ghost"));
}

#[tokio::test]
async fn a_relay_crash_after_put_events_causes_a_duplicate_the_consumer_ignores() {
    let p = plumbing(5).await;
    let env = p.record(&email("dup@clinic.example", "222222"), true).await;
    let counted = p.record(&Counted { n: 3 }, true).await;
    let publisher = events::publisher(&p.state).await.unwrap();
    // The relay's PutEvents succeeds, then the run dies before marking anything published...
    let ops = p.state.ops_db().await.unwrap();
    let crashed = events::relay_with_fault(ops, &publisher, p.state.clock().as_ref(), || {
        Err(events::EventError::Publish("simulated crash after PutEvents".into()))
    })
    .await;
    assert!(crashed.is_err());
    assert_eq!(p.published_at(env.id).await, Some(None), "the crashed run marked nothing");
    // ...so the next run publishes the same event again.
    let report = p.runtime.invoke("outbox-relay", serde_json::json!({})).await.unwrap();
    assert_eq!(report["published"], 2);
    assert!(p.published_at(env.id).await.unwrap().is_some());
    // The relay's cross-tenant run is audited (a platform entry: no tenant, system actor).
    let audited: Vec<serde_json::Value> = p
        .db
        .admin()
        .await
        .query("SELECT after FROM audit_log WHERE action = 'outbox.relayed' AND tenant_id IS NULL AND actor_kind = 'system'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audited, vec![serde_json::json!({"published": 2, "failed": 0})]);
    p.until("the email", || !p.mails().is_empty()).await;
    p.until("the counted event", || runs_of(counted.id) > 0).await;
    p.drained("NotifyEmailQueue").await;
    p.drained("TestCountedQueue").await;
    assert_eq!(p.mails().len(), 1, "two deliveries of one event send one email");
    assert_eq!(runs_of(counted.id), 1, "two deliveries of one event run its consumer once");
}

#[tokio::test]
async fn a_consumer_runs_once_per_event_however_often_it_is_delivered() {
    let p = plumbing(5).await;
    let env = p.record(&Counted { n: 1 }, true).await;
    let other = p.record(&Counted { n: 2 }, true).await;
    let publisher = events::publisher(&p.state).await.unwrap();
    // Published three times: twice by a writer whose marking failed, once more by the relay.
    publisher.put(std::slice::from_ref(&env)).await.unwrap();
    publisher.put(std::slice::from_ref(&env)).await.unwrap();
    let report = p.runtime.invoke("outbox-relay", serde_json::json!({})).await.unwrap();
    assert_eq!(report["published"], 2);
    p.until("both events handled", || runs_of(env.id) > 0 && runs_of(other.id) > 0).await;
    p.drained("TestCountedQueue").await;
    assert_eq!((runs_of(env.id), runs_of(other.id)), (1, 1));
}

#[tokio::test]
async fn a_message_that_always_fails_ends_in_the_dlq_and_is_recorded() {
    let p = plumbing(2).await;
    let env = p.record(&AlwaysFails { n: 7 }, true).await;
    events::publisher(&p.state)
        .await
        .unwrap()
        .publish_committed(p.state.db().await.unwrap(), std::slice::from_ref(&env))
        .await;
    for _ in 0..200 {
        if p.queue_depth("TestAlwaysFailsDlq").await.0 == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(p.queue_depth("TestAlwaysFailsDlq").await, (1, 0), "moved to the DLQ after maxReceiveCount");
    let rows = p
        .db
        .admin()
        .await
        .query("SELECT source, attempts, event_type, tenant_id, error FROM exception_records WHERE event_id = $1", &[&env.id])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "exactly one exception record, on the final attempt");
    let r = &rows[0];
    assert_eq!(r.get::<_, String>(0), "test-always-fails");
    assert_eq!(r.get::<_, i32>(1), 2);
    assert_eq!(r.get::<_, String>(2), "test.always_fails");
    assert_eq!(r.get::<_, Option<uuid::Uuid>>(3), Some(p.tenant.as_uuid()));
    assert!(r.get::<_, String>(4).contains("always fails"));
}

fn sqs_record(id: &str, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body);
    m.attributes.insert("ApproximateReceiveCount".into(), "1".into());
    m
}

fn bus_body(env: &Envelope) -> String {
    serde_json::json!({"version": "0", "id": "x", "detail-type": env.event_type, "source": events::EVENT_SOURCE, "detail": env}).to_string()
}

#[tokio::test]
async fn one_bad_message_does_not_fail_the_others_in_its_batch() {
    let state = support::stack_state().await;
    let clock = state.clock().clone();
    let envelope = |n: u32| Envelope {
        id: uuid::Uuid::now_v7(),
        event_type: AlwaysFails::TYPE.into(),
        version: 1,
        tenant_id: None,
        occurred_at: clock.now(),
        data: serde_json::json!({"n": n}),
    };
    let mut batch = SqsEvent::default();
    batch.records = vec![
        sqs_record("good-1", bus_body(&envelope(1))),
        sqs_record("unparsable", "{not json".into()),
        sqs_record(
            "wrong-shape",
            bus_body(&Envelope { data: serde_json::json!({"n": "seven"}), ..envelope(0) }),
        ),
        sqs_record("panics", bus_body(&envelope(13))),
        sqs_record("fails", bus_body(&envelope(4))),
        sqs_record("good-2", bus_body(&envelope(2))),
    ];
    let seen = std::sync::Mutex::new(Vec::new());
    let response = consumer::handle_batch(&state, "batch-test", batch, |d: Delivery<AlwaysFails>| {
        let seen = &seen;
        async move {
            match d.envelope.data.n {
                13 => panic!("handler bug"),
                4 => Err("declined".into()),
                n => {
                    seen.lock().unwrap().push(n);
                    Ok(())
                }
            }
        }
    })
    .await;
    let mut failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    failed.sort();
    assert_eq!(failed, vec!["fails", "panics", "unparsable", "wrong-shape"]);
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, vec![1, 2]);
}

#[tokio::test]
async fn the_relay_backs_off_then_gives_up_on_an_event_it_cannot_publish() {
    let p = plumbing(5).await;
    let admin = p.db.admin().await;
    // Over EventBridge's 256 KB limit: every attempt fails, on its own.
    let huge = serde_json::json!({ "blob": "x".repeat(300 * 1024) });
    let (fresh, last_try) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (id, attempts) in [(fresh, 0), (last_try, gateway::platform::events::MAX_RELAY_ATTEMPTS - 1)] {
        admin
            .execute(
                "INSERT INTO outbox (id, tenant_id, event_type, event_version, occurred_at, data, attempts, next_attempt_at)
                 VALUES ($1, $2, 'test.counted', 1, now(), $3, $4, now() - interval '1 second')",
                &[&id, &p.tenant.as_uuid(), &huge, &attempts],
            )
            .await
            .unwrap();
    }
    let small = p.record(&Counted { n: 5 }, true).await;
    let report = p.runtime.invoke("outbox-relay", serde_json::json!({})).await.unwrap();
    assert_eq!(report, serde_json::json!({"published": 1, "failed": 2}), "the small event is not held back");
    assert!(p.published_at(small.id).await.unwrap().is_some());

    let row = |id: uuid::Uuid| {
        let admin = &admin;
        async move {
            admin
                .query_one("SELECT attempts, next_attempt_at > now() + interval '20 seconds', next_attempt_at = 'infinity', last_error FROM outbox WHERE id = $1", &[&id])
                .await
                .unwrap()
        }
    };
    let r = row(fresh).await;
    assert_eq!(
        (r.get::<_, i32>(0), r.get::<_, bool>(1), r.get::<_, bool>(2)),
        (1, true, false),
        "retried after a backoff"
    );
    assert!(r.get::<_, String>(3).contains("larger than"));
    let r = row(last_try).await;
    assert_eq!(
        (r.get::<_, i32>(0), r.get::<_, bool>(2)),
        (gateway::platform::events::MAX_RELAY_ATTEMPTS, true),
        "parked"
    );
    let kinds: Vec<String> = admin
        .query("SELECT kind FROM exception_records WHERE event_id = $1", &[&last_try])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, vec!["undeliverable_event"]);
    // Nothing is due any more: the next run has nothing to do.
    let again = p.runtime.invoke("outbox-relay", serde_json::json!({})).await.unwrap();
    assert_eq!(again, serde_json::json!({"published": 0, "failed": 0}));
}
