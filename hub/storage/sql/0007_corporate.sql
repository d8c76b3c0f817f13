-- Corporate customers and groups (profile v3, interaction v2).

-- The company an individual acted for (interaction v2 `on_behalf_of`), on the event's row.
ALTER TABLE interactions ADD COLUMN on_behalf_of text;

-- Each customer an event acted for a company concerns, once: the one who acted
-- ('acting') and the company ('represented'). The event itself is stored once, in
-- interactions, by whichever copy arrives first; a copy is new when its row here is, so
-- each side decides once whatever the order and however often the copies are replayed.
CREATE TABLE interaction_parties (
    event_id    text        NOT NULL,
    customer_id text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('acting', 'represented')),
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, customer_id)
);
CREATE INDEX interaction_parties_by_customer ON interaction_parties (customer_id, occurred_at DESC, event_id);

-- The group a company belongs to (profile v3 corporate.group_id), for the group view.
ALTER TABLE customer_profiles ADD COLUMN group_id text;
CREATE INDEX customer_profiles_by_group ON customer_profiles (group_id) WHERE group_id IS NOT NULL;
