-- Every read of a customer through the API (and so the 360 page): who, which customer,
-- what, when, with what outcome and from where. Append-only: written once per request,
-- before its answer leaves, and never changed.
CREATE TABLE customer_reads_audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The server's clock, never the client's or the API process's.
    read_at timestamptz NOT NULL DEFAULT now(),
    -- The token's name; null when no configured token was presented (401): a name the
    -- caller could not prove is not recorded as theirs.
    token_name text,
    -- What was read: profile, history, decisions, search.
    view text NOT NULL,
    -- The customer id the request named (path or search by id); null for a search by
    -- identifier.
    customer_id text,
    -- The customer whose data the answer carried (the survivor of merges); null when the
    -- answer carried none (404, 401, 403, ...).
    served_id text,
    -- A search by identifier: its kind, the keyed hash (HUB_PII_KEY, as the identifier
    -- index) and the display form (numbers masked). Never the identifier itself.
    search_kind text,
    search_key text,
    search_shown text,
    status smallint NOT NULL,
    client text
);

CREATE INDEX customer_reads_audit_by_time ON customer_reads_audit (read_at DESC, id DESC);
CREATE INDEX customer_reads_audit_by_customer ON customer_reads_audit (customer_id, read_at DESC, id DESC);
CREATE INDEX customer_reads_audit_by_served ON customer_reads_audit (served_id, read_at DESC, id DESC)
    WHERE served_id IS NOT NULL;
CREATE INDEX customer_reads_audit_by_token ON customer_reads_audit (token_name, read_at DESC, id DESC);

-- Append-only for the hub and everyone else: a row cannot be changed or deleted. Pruning
-- past the retention period is a deliberate act of the table's owner
-- (ALTER TABLE customer_reads_audit DISABLE TRIGGER customer_reads_audit_append_only).
CREATE FUNCTION customer_reads_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'customer_reads_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER customer_reads_audit_append_only
    BEFORE UPDATE OR DELETE ON customer_reads_audit
    FOR EACH ROW EXECUTE FUNCTION customer_reads_audit_refuse_change();
