-- What makes a care reason distinct for the caps, so that the state can be rebuilt from
-- the log when a batch is replayed.
ALTER TABLE decisions ADD COLUMN cap_key text;
CREATE INDEX decisions_counted ON decisions (customer_id, decided_at) WHERE outcome <> 'suppressed';
