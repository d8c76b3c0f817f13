-- Each customer's hot state (what the rules need of their recent past), written in the
-- same transaction as the batch that changed it, so that a restarted worker loads exactly
-- what its last committed batch left; it replaces the Faust table and its changelog topic.
CREATE TABLE customer_state (
    customer_id text PRIMARY KEY,
    shard integer NOT NULL,
    state bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
