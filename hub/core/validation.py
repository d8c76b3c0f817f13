"""Turn a raw Kafka record from a channel topic into a valid interaction or a reason.

The reason strings are part of what operators read on ``interactions.dlq``; each starts
with a stable category (``invalid_json``, ``schema``, ``unknown_channel``,
``unknown_type``, ``channel_mismatch``, ``future_event``) that is also the metric label.
An event that names no customer_id is valid here; ingest resolves its identifiers, and
gives up with ``unknown_customer``.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas.interaction import Interaction, parse_interaction

MAX_REASON_ERRORS = 3
MAX_QUOTED = 40
"""How much of a value a reason quotes: a reason is at most 256 characters, the value any."""


REJECTION_CATEGORIES = (
    "invalid_json",
    "schema",
    "unknown_channel",
    "unknown_type",
    "channel_mismatch",
    "future_event",
    "unknown_customer",
    "profile_schema",
    "profile_group_cycle",
    "outcome_schema",
    "processing_error",
)
"""Every category a dead letter's reason starts with, here or in the stages that reject
later (identity resolution, the profile and outcome agents, poison isolation): the
``reason`` label of ``hub_events_rejected_total``, whose series exist from start."""


@dataclass(frozen=True, slots=True)
class Rejection:
    category: str
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.category}: {self.detail}"


def decode_interaction(
    raw: bytes | None, *, topic_channel: str, now: datetime, future_tolerance: timedelta
) -> Interaction | Rejection:
    """Validate ``raw`` as an envelope published on the topic of ``topic_channel``."""
    if raw is None:
        return Rejection("invalid_json", "empty record (no value)")
    try:
        raw.decode("utf-8")  # only a check: the parser reads the bytes (faster than their text)
    except UnicodeDecodeError:
        return Rejection("invalid_json", "value is not UTF-8 text (raw is base64)")
    try:
        event = parse_interaction(raw)
    except ValidationError as exc:
        return _explain(exc.errors(include_url=False, include_input=False))
    insane = _unstorable(raw, event)
    if insane is not None:
        return Rejection("schema", insane)
    if event.channel != topic_channel:
        return Rejection(
            "channel_mismatch", f"channel {event.channel!r} published on the {topic_channel} topic"
        )
    if event.occurred_at - now > future_tolerance:
        return Rejection(
            "future_event",
            f"occurred_at {event.occurred_at.isoformat()} is more than "
            f"{_hours(future_tolerance)} hours after receipt at {now.isoformat()}",
        )
    return event


EARLIEST = date(1970, 1, 1)
LATEST = date(2200, 1, 1)


def _unstorable(raw: bytes, event: Interaction) -> str | None:
    """Values the contract's types allow but no bank record has and PostgreSQL refuses."""
    # In the UTF-8 bytes as in their text: an escaped NUL, or a NUL byte (only U+0000 has one).
    if b"\\u0000" in raw or b"\x00" in raw:
        return "text contains NUL characters"
    day = event.occurred_at.date()
    if not EARLIEST <= day < LATEST:
        return _outside("occurred_at", day)
    for name, value in event.payload.__dict__.items():
        if isinstance(value, date) and not EARLIEST <= value < LATEST:
            return _outside(f"payload.{name}", value)
    return None


def _outside(name: str, value: date) -> str:
    return f"{name}: date {value.isoformat()} is outside {EARLIEST.year}-{LATEST.year - 1}"


def _explain(errors: list[ErrorDetails]) -> Rejection:
    first = errors[0]
    kind, loc = first["type"], first["loc"]
    if kind == "json_invalid":
        return Rejection("invalid_json", _sentence(first["msg"]))
    if kind == "union_tag_invalid":
        tag = _ctx(first, "tag")
        if not loc:
            return Rejection("unknown_channel", f"{_quoted(tag)} is not one of teller, phone, web, branch")
        return Rejection("unknown_type", f"{_quoted(tag)} is not a type of channel {loc[0]}")
    if kind == "union_tag_not_found":
        field = "channel" if not loc else "type"
        return Rejection("schema", f"{field}: field required")
    if kind in ("model_type", "dict_type") and not loc:
        return Rejection("schema", "the value must be a JSON object")
    details = [f"{_path(error['loc'])}: {_sentence(error['msg'])}" for error in errors]
    if len(details) > MAX_REASON_ERRORS:
        details = [*details[:MAX_REASON_ERRORS], f"and {len(errors) - MAX_REASON_ERRORS} more"]
    return Rejection("schema", "; ".join(details))


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else f"{text[: MAX_QUOTED - 1]}…"


def _path(loc: tuple[int | str, ...]) -> str:
    # The first two items of a located error are the union tags (channel, type), which
    # are not fields of the record.
    fields = loc[2:] if len(loc) >= 2 else loc
    return ".".join(str(part) for part in fields) or "(record)"


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    if message == "Field required":
        return "field required"
    return message[:1].lower() + message[1:]


def _ctx(error: ErrorDetails, key: str) -> Any:
    return (error.get("ctx") or {}).get(key)


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)
