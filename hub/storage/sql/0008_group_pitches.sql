-- The group-level cap: one sales trigger of a product to the companies of a group in a
-- calendar week (Monday, UTC), whichever member's worker decided it. The key is the cap:
-- a second worker's transaction claiming the same key waits for the first, finds it
-- taken and decides its batch again with the claim loaded.
CREATE TABLE group_pitches (
    group_id    text        NOT NULL,
    product     text        NOT NULL,
    week        date        NOT NULL,
    trigger_id  text        NOT NULL,
    customer_id text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, product, week)
);
