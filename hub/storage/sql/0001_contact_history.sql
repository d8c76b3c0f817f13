-- Every accepted interaction, once: event_id is the dedupe key of the contract.
CREATE TABLE interactions (
    event_id        text PRIMARY KEY,
    customer_id     text        NOT NULL,
    channel         text        NOT NULL,
    type            text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    source          jsonb       NOT NULL,
    payload         jsonb       NOT NULL,
    -- channel identifiers as sent, with card and phone numbers masked
    identifiers     jsonb       NOT NULL,
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interactions_by_customer ON interactions (customer_id, occurred_at DESC, event_id);

-- The trigger outbox: a trigger is written in the same transaction as the events that
-- caused it and marked published once the broker acknowledged it.
CREATE TABLE triggers (
    trigger_id   text PRIMARY KEY,
    customer_id  text        NOT NULL,
    kind         text        NOT NULL,
    rule_id      text        NOT NULL,
    rule_version integer     NOT NULL,
    caused_by    text        NOT NULL REFERENCES interactions (event_id),
    topic        text        NOT NULL,
    body         jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX triggers_by_cause ON triggers (caused_by);
CREATE INDEX triggers_by_customer ON triggers (customer_id, created_at DESC);
