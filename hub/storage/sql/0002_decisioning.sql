-- Triggers can now be caused by a scheduled check as well as by an event.
ALTER TABLE triggers DROP CONSTRAINT triggers_caused_by_fkey;
-- The internal partition whose worker owns the trigger until it is published.
ALTER TABLE triggers ADD COLUMN shard integer NOT NULL DEFAULT 0;
CREATE INDEX triggers_unpublished ON triggers (shard) WHERE published_at IS NULL;

-- Every decision, published, suppressed or held out, with what decided it.
CREATE TABLE decisions (
    decision_id  text PRIMARY KEY,
    customer_id  text        NOT NULL,
    rule_id      text        NOT NULL,
    rule_version integer     NOT NULL,
    kind         text        NOT NULL,
    product      text,
    tier         text        NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('published', 'suppressed', 'held_out')),
    policy       text,
    detail       text        NOT NULL,
    reason       text        NOT NULL,
    evidence     text[]      NOT NULL,
    channel      text,
    not_before   timestamptz,
    decided_at   timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_by_customer ON decisions (customer_id, decided_at DESC);
CREATE INDEX decisions_by_rule ON decisions (rule_id, outcome);

-- Questions rules ask of the future: "submitted within 24 hours?", "7 days before maturity".
CREATE TABLE scheduled_checks (
    check_id     text PRIMARY KEY,
    customer_id  text        NOT NULL,
    rule_id      text        NOT NULL,
    rule_version integer     NOT NULL,
    due_at       timestamptz NOT NULL,
    shard        integer     NOT NULL,
    correlation  text,
    evidence     text[]      NOT NULL,
    context      jsonb       NOT NULL,
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled')),
    settled_at   timestamptz
);
CREATE INDEX scheduled_checks_due ON scheduled_checks (shard, due_at) WHERE status = 'pending';
CREATE INDEX scheduled_checks_open ON scheduled_checks (customer_id, rule_id) WHERE status = 'pending';

-- Feedback from marketing services.
CREATE TABLE outcomes (
    trigger_id  text        NOT NULL,
    outcome     text        NOT NULL,
    customer_id text        NOT NULL,
    at          timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trigger_id, outcome)
);
CREATE TABLE declined_offers (
    customer_id text        NOT NULL,
    product     text        NOT NULL,
    until       timestamptz NOT NULL,
    PRIMARY KEY (customer_id, product)
);

-- When a customer came to hold a product, by any route: for conversion and lift.
CREATE TABLE customer_products (
    customer_id text        NOT NULL,
    product     text        NOT NULL,
    acquired_at timestamptz NOT NULL,
    source      text        NOT NULL,
    PRIMARY KEY (customer_id, product)
);
