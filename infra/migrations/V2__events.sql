-- Events: the transactional outbox, and the exception records that failed deliveries leave.

-- Domain events written in the same transaction as the change they describe. Published to the
-- EventBridge bus right after commit; the outbox-relay publishes whatever is left.
CREATE TABLE outbox (
    id               uuid PRIMARY KEY,             -- the event id consumers deduplicate by
    tenant_id        uuid REFERENCES tenants (id), -- NULL for platform events (written by gateway_ops)
    event_type       text NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    event_version    integer NOT NULL CHECK (event_version >= 1),
    occurred_at      timestamptz NOT NULL,
    data             jsonb NOT NULL,
    published_at     timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE published_at IS NULL;

SELECT app_protect_tenant_table('outbox');
GRANT SELECT, INSERT, UPDATE ON outbox TO gateway_app, gateway_ops;

-- Something that needs a person: a message that failed its final delivery attempt and went to a
-- dead-letter queue, or an outbox event the relay could not publish after MAX_RELAY_ATTEMPTS.
-- Later issues surface, assign and resolve these.
CREATE TABLE exception_records (
    id           uuid PRIMARY KEY,
    tenant_id    uuid,                   -- as the message claimed it: evidence, so no foreign key
    kind         text NOT NULL CHECK (kind IN ('dead_letter', 'undeliverable_event')),
    source       text NOT NULL,          -- the function that gave up
    message_id   text,
    event_id     uuid,
    event_type   text,
    attempts     integer NOT NULL,
    error        text NOT NULL,
    payload      jsonb,
    created_at   timestamptz NOT NULL,
    resolved_at  timestamptz
);
CREATE INDEX exception_records_open ON exception_records (created_at) WHERE resolved_at IS NULL;

ALTER TABLE exception_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE exception_records FORCE ROW LEVEL SECURITY;
-- Consumers only append (for any tenant, or none: a message that did not parse has no tenant);
-- reading is cross-tenant operations work.
CREATE POLICY consumer_append ON exception_records FOR INSERT TO gateway_app WITH CHECK (true);
CREATE POLICY ops_all ON exception_records TO gateway_ops USING (true) WITH CHECK (true);
GRANT INSERT ON exception_records TO gateway_app;
GRANT SELECT, INSERT, UPDATE ON exception_records TO gateway_ops;
