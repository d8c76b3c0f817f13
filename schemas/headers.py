"""Kafka header names of the hub's records, in one place (like the topic names).

Public: ``content-type`` on every record the hub produces, and the position headers of a
dead letter (where its record was consumed). Internal: the rest, on the hub's own topics.
"""

from typing import Final

CONTENT_TYPE: Final = "content-type"
JSON: Final = b"application/json"

SOURCE_TOPIC: Final = "hub-source-topic"
SOURCE_PARTITION: Final = "hub-source-partition"
SOURCE_OFFSET: Final = "hub-source-offset"

# Internal topics only.
RECEIVED_AT: Final = "hub-received-at"
SOURCE_KEY: Final = "hub-source-key"
CUSTOMER_ID: Final = "hub-customer-id"
PARTY_ID: Final = "hub-party-id"
"""On a company's copy of an event someone did for it (``on_behalf_of``): the company."""
