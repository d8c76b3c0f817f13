"""Customer profiles from CRM: validate, keep the newest, dead-letter the unreadable."""

from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from hub.dead_letter import SourceRecord, dead_letter, first_error
from hub.sink import RecordSink
from schemas.profile import CustomerProfile

ProfileStore = Callable[[str], bytes | None]


def is_newer(stored: bytes | None, updated_at: datetime) -> bool:
    """A compacted topic replayed out of order must not roll a profile back."""
    if stored is None:
        return True
    return CustomerProfile.model_validate_json(stored).updated_at <= updated_at


async def dead_letter_profile(
    sink: RecordSink, dlq_topic: str, record: SourceRecord, error: ValidationError, now: datetime
) -> None:
    reason = first_error("profile_schema", error)
    await (await dead_letter(sink, dlq_topic, record, category="profile_schema", reason=reason, now=now))
