-- Customer profiles as last received, for the customer API and the RM page. No number is
-- stored in plain form here: `identifiers` in the JSON holds, per kind, only the display
-- forms of customer_identifiers (e.g. {"card_no": ["************7890"]}).
CREATE TABLE customer_profiles (
    customer_id  text PRIMARY KEY,
    -- set when CRM found this customer to be the same person as another (profile v2)
    merged_into  text,
    profile      jsonb       NOT NULL,
    updated_at   timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_profiles_merged ON customer_profiles (merged_into) WHERE merged_into IS NOT NULL;

-- Which customer a channel identifier belongs to. lookup_key is a keyed hash (HMAC) of
-- kind and value for every kind, so that no number is stored in plain form; display is
-- what a person may see (last four digits of card, phone and account numbers).
CREATE TABLE customer_identifiers (
    lookup_key  text PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('account_no', 'card_no', 'phone', 'web_user')),
    display     text        NOT NULL,
    customer_id text        NOT NULL,
    claimed_at  timestamptz NOT NULL
);
CREATE INDEX customer_identifiers_by_customer ON customer_identifiers (customer_id);

-- An identifier claimed by a second customer while another holds it. Reported here, in
-- the logs and in a metric; never reassigned silently.
CREATE TABLE identifier_conflicts (
    lookup_key  text        NOT NULL,
    kind        text        NOT NULL,
    display     text        NOT NULL,
    owner_id    text        NOT NULL,
    claimant_id text        NOT NULL,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (lookup_key, claimant_id)
);
