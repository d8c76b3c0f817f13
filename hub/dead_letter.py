"""Every record the hub cannot accept goes to ``interactions.dlq``, with the reason."""

import base64
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub import metrics
from hub.clock import Clock, utc_now
from hub.sink import RecordSink
from schemas.headers import SOURCE_OFFSET, SOURCE_PARTITION, SOURCE_TOPIC
from schemas.rejected import RejectedRecord

ModelT = TypeVar("ModelT", bound=BaseModel)

HEADER_TOPIC = SOURCE_TOPIC
HEADER_PARTITION = SOURCE_PARTITION
HEADER_OFFSET = SOURCE_OFFSET


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A record as consumed, with its position; the agents build these from Faust events."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @classmethod
    def of(cls, message: Any) -> "SourceRecord":
        """From a Faust message (anything with topic, partition, offset, key and value)."""
        return cls(message.topic, message.partition, message.offset, message.key, message.value)

    def position_headers(self) -> dict[str, bytes]:
        """Where the record was consumed: on the internal topics and on dead letters, whose
        consumers drop repeats (a replay dead-letters the same record again) by it."""
        return {
            HEADER_TOPIC: self.topic.encode(),
            HEADER_PARTITION: str(self.partition).encode(),
            HEADER_OFFSET: str(self.offset).encode(),
        }


async def dead_letter(
    sink: RecordSink, dlq_topic: str, record: SourceRecord, *, category: str, reason: str, now: datetime
) -> Awaitable[Any]:
    """Send ``record`` to the dead-letter topic under its original key, with its position in
    the headers as in the body; return the broker ack.

    ``category`` is the stable first word of the reason and the metric label.
    """
    metrics.labelled(metrics.EVENTS_REJECTED, category).inc()
    rejected = RejectedRecord(
        reason=clipped(reason),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        received_at=now,
        raw=raw_as_text(record.value),
    )
    return await sink.send(
        dlq_topic, record.key, rejected.model_dump_json().encode(), record.position_headers()
    )


MAX_REASON = 256
"""The contract's bound on a reason (RejectedRecord.reason)."""


def clipped(reason: str) -> str:
    """``reason`` within the contract's bound: a reason built from a record's values could
    outgrow it, and a dead letter that cannot be built would stop the stream."""
    return reason if len(reason) <= MAX_REASON else f"{reason[: MAX_REASON - 1]}…"


def first_error(category: str, error: ValidationError) -> str:
    """``"profile_schema: consents.marketing: Input should be a valid boolean"``."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "(record)"
    return f"{category}: {where}: {first['msg']}"


def raw_as_text(value: bytes | None) -> str:
    """The original bytes as text, or base64 when they are not UTF-8."""
    if value is None:
        return ""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii")


class DeadLetters:
    """Validates reference records (profiles, outcomes) one by one; the bad ones go to the DLQ."""

    def __init__(self, sink: RecordSink, dlq_topic: str, clock: Clock = utc_now) -> None:
        self._sink = sink
        self._dlq_topic = dlq_topic
        self._clock = clock

    async def reject(self, record: SourceRecord, *, category: str, reason: str) -> None:
        """Dead-letter a record that validates but cannot be accepted, once the broker has it."""
        ack = await dead_letter(
            self._sink, self._dlq_topic, record, category=category, reason=reason, now=self._clock()
        )
        await ack

    async def validate(self, model: type[ModelT], record: SourceRecord, *, category: str) -> ModelT | None:
        """The record as ``model``, or None once it has been dead-lettered with ``category``."""
        try:
            return model.model_validate_json(record.value or b"")
        except ValidationError as exc:
            reason = first_error(category, exc)
            ack = await dead_letter(
                self._sink, self._dlq_topic, record, category=category, reason=reason, now=self._clock()
            )
            await ack
            return None
