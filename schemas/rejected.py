"""A record the hub could not accept, as published on ``interactions.dlq``."""

from pydantic import AwareDatetime, Field

from schemas.common import ContractModel, NonEmptyStr


class RejectedRecord(ContractModel):
    """A dead letter. ``topic``, ``partition`` and ``offset`` say where the record was
    consumed; the Kafka headers ``hub-source-topic``, ``hub-source-partition`` and
    ``hub-source-offset`` carry the same. A replay dead-letters a record again: a consumer
    drops the repeats by that position."""

    reason: NonEmptyStr
    topic: NonEmptyStr
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    received_at: AwareDatetime
    raw: str
    """The original bytes as text, or base64 when they are not UTF-8 (the reason then says so)."""
