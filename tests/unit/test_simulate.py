"""The simulator: realistic, valid traffic with a known share of bad records and of
events that name the customer only by a channel identifier."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from hub.core.validation import Rejection, decode_interaction
from hub.simulate import IDENTIFIED_BY, TrafficGenerator
from schemas import topics
from schemas.profile import CustomerProfile

START = datetime(2026, 11, 25, tzinfo=UTC)
CHANNEL_OF = {topic: channel for channel, topic in topics.CHANNEL_TOPICS.items()}


def decoded(generator: TrafficGenerator, count: int) -> list[tuple[bytes | None, object]]:
    return [
        (
            record.key,
            decode_interaction(
                record.value,
                topic_channel=CHANNEL_OF[record.topic],
                now=START + timedelta(days=1),
                future_tolerance=timedelta(hours=24),
            ),
        )
        for record in generator.events(count)
    ]


def test_bad_records_are_rejected_and_good_ones_name_a_profiled_customer_or_its_identifier() -> None:
    generator = TrafficGenerator(50, seed=3, start=START, bad_share=0.3, duplicate_share=0.0)
    held: dict[str, str] = {}
    for record in generator.profiles():
        profile = CustomerProfile.model_validate_json(record.value)
        for kind in ("account_no", "card_no", "phone", "web_user"):
            for value in getattr(profile.identifiers, kind):
                held[value] = profile.customer_id
    outcomes = decoded(generator, 2000)
    rejected = [o for _, o in outcomes if isinstance(o, Rejection)]
    assert 0.25 < len(rejected) / len(outcomes) < 0.35
    by_identifier: Counter[str] = Counter()
    for key, event in outcomes:
        if isinstance(event, Rejection):
            continue
        ref = event.customer  # type: ignore[attr-defined]
        if ref.customer_id is None:
            kind, _ = IDENTIFIED_BY[event.channel]  # type: ignore[attr-defined]
            value = getattr(ref, kind)
            assert value in held, "an identifier some profile lists"
            assert key == value.encode(), "keyed by the identifier the channel knows"
            by_identifier[kind] += 1
        else:
            assert key == ref.customer_id.encode()
    assert set(by_identifier) == {"account_no", "card_no", "phone", "web_user"}


def test_duplicates_repeat_an_earlier_record_exactly() -> None:
    generator = TrafficGenerator(10, seed=5, start=START, bad_share=0.0, duplicate_share=0.2)
    values = [json.loads(r.value)["event_id"] for r in generator.events(500)]
    assert 0.15 < 1 - len(set(values)) / len(values) < 0.25


def test_no_bad_record_when_none_is_asked_for_even_where_a_duplicate_has_nothing_to_repeat() -> None:
    # Seeds whose first roll would be a duplicate: there is no earlier record to repeat.
    for seed in range(200):
        generator = TrafficGenerator(5, seed=seed, start=START, bad_share=0.0, duplicate_share=0.5)
        first = next(generator.events(1))
        assert not isinstance(
            decode_interaction(
                first.value,
                topic_channel=CHANNEL_OF[first.topic],
                now=START + timedelta(days=1),
                future_tolerance=timedelta(hours=24),
            ),
            Rejection,
        ), seed
