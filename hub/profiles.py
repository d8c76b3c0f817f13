"""Customer profiles from CRM: validate, keep the newest, dead-letter the unreadable."""

from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from hub import metrics
from hub.ingest import raw_as_text
from hub.sink import RecordSink
from schemas.profile import CustomerProfile
from schemas.rejected import RejectedRecord

ProfileStore = Callable[[str], bytes | None]


def is_newer(stored: bytes | None, updated_at: datetime) -> bool:
    """A compacted topic replayed out of order must not roll a profile back."""
    if stored is None:
        return True
    return CustomerProfile.model_validate_json(stored).updated_at <= updated_at


async def dead_letter_profile(
    sink: RecordSink,
    dlq_topic: str,
    error: ValidationError,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    now: datetime,
) -> None:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "(record)"
    rejected = RejectedRecord(
        reason=f"profile_schema: {where}: {first['msg']}",
        topic=topic,
        partition=partition,
        offset=offset,
        received_at=now,
        raw=raw_as_text(value),
    )
    metrics.EVENTS_REJECTED.labels("profile_schema").inc()
    await (await sink.send(dlq_topic, key, rejected.model_dump_json().encode()))
