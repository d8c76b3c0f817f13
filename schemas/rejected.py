"""A record the hub could not accept, as published on ``interactions.dlq``."""

from pydantic import AwareDatetime, Field

from schemas.common import ContractModel, NonEmptyStr


class RejectedRecord(ContractModel):
    reason: NonEmptyStr
    topic: NonEmptyStr
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    received_at: AwareDatetime
    raw: str
    """The original bytes as text, or base64 when they are not UTF-8 (the reason then says so)."""
