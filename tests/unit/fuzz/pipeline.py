"""Ingest and the decision core without Kafka, and what every fuzzed record must come to.

:class:`Pipeline` routes channel records through :class:`hub.ingest.Ingestor` into an
in-memory sink, then decides the accepted ones with :func:`hub.core.fold.decide_batch`
and the shipped rules, as the recorder does. :meth:`Pipeline.check` asserts the
promise: no exception escapes; a record is either sent on unchanged (and its validated
event re-serialises to an equal event) or dead-lettered with a reason of a known
category, its original bytes and nothing of the identifiers in the reason.
"""

import asyncio
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from hub.core.fold import Subjects, decide_batch
from hub.core.records import ReceivedEvent
from hub.core.state import CustomerState
from hub.dead_letter import SourceRecord, raw_as_text
from schemas import topics
from schemas.headers import PARTY_ID
from schemas.interaction import INTERACTION_ADAPTER, Interaction
from schemas.profile import CustomerProfile
from schemas.rejected import RejectedRecord
from schemas.trigger import Trigger
from tests.unit.core.decisions import config
from tests.unit.identity_harness import CLOCK_NOW, Harness

RECORDS = int(os.environ.get("HUB_FUZZ_EXAMPLES", "2000"))
"""Channel records per run: 2,000 in ``make test``, 10,000 in ``make fuzz``."""
LONG = "HUB_FUZZ_EXAMPLES" in os.environ

CHANNEL_CATEGORIES = {
    "invalid_json",
    "schema",
    "unknown_channel",
    "unknown_type",
    "channel_mismatch",
    "future_event",
}
"""The categories of hub/core/validation.py, the first word of every ingest reason."""

IDENTIFIERS = ("account_no", "card_no", "phone", "web_user")
MIN_DIGITS = 6
"""An identifier with fewer digits could appear in a reason by chance ("string", "null")."""


def fuzz_settings(share: float) -> settings:
    """``share`` of :data:`RECORDS` examples; fixed inputs in ``make test``, new ones in
    ``make fuzz`` (a failure prints the seed and the shrunk input to pin as ``@example``)."""
    return settings(
        max_examples=max(1, round(RECORDS * share)),
        deadline=None,
        derandomize=not LONG,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


class Pipeline:
    def __init__(self) -> None:
        self.harness = Harness()
        self.loop = asyncio.new_event_loop()
        self.topic_of = {
            channel: self.harness.settings.topic(topic) for channel, topic in topics.CHANNEL_TOPICS.items()
        }
        self.accepted = 0
        self.rejected: defaultdict[str, int] = defaultdict(int)

    def close(self) -> None:
        self.loop.close()

    def check(
        self, values: Sequence[tuple[str, bytes | None]], profile: CustomerProfile | None = None
    ) -> list[Interaction]:
        """Route (channel, value) records as one batch, check each outcome, decide the accepted."""
        h = self.harness
        h.sink.sent.clear()
        records = [
            SourceRecord(self.topic_of[channel], 1, offset, b"src-key", value)
            for offset, (channel, value) in enumerate(values)
        ]
        home = self.loop.run_until_complete(h.ingestor.handle(records))
        assert home == [], "no record is at home in this harness"
        # A company's copy of an event done for it (on_behalf_of) is an output of its own.
        copies = [sent for sent in h.sink.sent if PARTY_ID in (sent[3] or {})]
        outputs = [sent for sent in h.sink.sent if PARTY_ID not in (sent[3] or {})]
        assert len(outputs) == len(records), "one output per record, besides the companies' copies"
        for topic, key, body, headers in copies:
            assert topic == h.accepted and headers[PARTY_ID] == key
            assert INTERACTION_ADAPTER.validate_json(body).on_behalf_of is not None
        events = []
        for record, (topic, key, body, headers) in zip(records, outputs, strict=True):
            if topic == h.dlq:
                self._check_dead_letter(record, key, body, headers)
                continue
            assert topic in (h.accepted, h.unresolved)
            assert body == record.value, "an accepted record travels unchanged"
            events.append(round_trip(body))
            self.accepted += 1
        decide_alone(events, profile)
        return events

    def _check_dead_letter(self, record: SourceRecord, key: Any, body: bytes, headers: Any) -> None:
        dead = RejectedRecord.model_validate_json(body)
        category = dead.reason.partition(":")[0]
        self.rejected[category] += 1
        assert category in CHANNEL_CATEGORIES, dead.reason
        assert dead.raw == raw_as_text(record.value), "the dead letter holds the original bytes"
        assert (dead.topic, dead.partition, dead.offset) == (record.topic, record.partition, record.offset)
        assert key == record.key
        assert headers == record.position_headers()
        for secret in identifiers(record.value):
            assert secret not in dead.reason, f"the reason {dead.reason!r} repeats an identifier"


def round_trip(value: bytes) -> Interaction:
    """The event in ``value``, checked to come back equal from its own serialisation."""
    event = INTERACTION_ADAPTER.validate_json(value)
    again = INTERACTION_ADAPTER.validate_json(INTERACTION_ADAPTER.dump_json(event))
    assert again == event
    return event


def decide_alone(events: Sequence[Interaction], profile: CustomerProfile | None) -> None:
    """Decide ``events`` as one batch with the shipped rules, as the recorder does once the
    resolve stage named their customer; check the states and triggers it leaves."""
    named = []
    for event in events:
        if event.customer.customer_id is None:
            resolved = event.customer.model_copy(update={"customer_id": "C-RESOLVED"})
            event = event.model_copy(update={"customer": resolved})
        named.append(event)
    states: defaultdict[str, CustomerState] = defaultdict(CustomerState)
    subjects = Subjects(states.__getitem__, lambda _: profile, {}, lambda trigger: trigger.kind)
    received = [ReceivedEvent(e, CLOCK_NOW, "t", 0, n) for n, e in enumerate(named)]
    out = decide_batch(received, {e.event_id for e in named}, [], subjects, config())
    for state in states.values():
        assert CustomerState.from_bytes(state.to_bytes()) == state
    for entry in out.outbox:
        assert Trigger.model_validate_json(entry.trigger.model_dump_json()) == entry.trigger


def identifiers(value: bytes | None) -> list[str]:
    """The identifier values a record carries, if it parses at all, except those that its
    other fields carry too (a reason may quote a channel or a type)."""
    try:
        record = json.loads(value or b"")
    except (ValueError, RecursionError):
        return []
    customer = record.get("customer") if isinstance(record, dict) else None
    if not isinstance(customer, dict):
        return []
    others = json.dumps({k: v for k, v in record.items() if k != "customer"}, ensure_ascii=False)
    return [
        v
        for k in IDENTIFIERS
        if isinstance(v := customer.get(k), str)
        and sum(c.isdigit() for c in v) >= MIN_DIGITS
        and v not in others
    ]
