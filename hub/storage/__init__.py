"""PostgreSQL, the system of record: contact history and the trigger outbox."""
