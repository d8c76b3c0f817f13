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


def test_groups_bring_companies_and_the_people_acting_for_them() -> None:
    generator = TrafficGenerator(60, seed=11, start=START, bad_share=0.0, duplicate_share=0.0, groups=3)
    profiles = [CustomerProfile.model_validate_json(r.value) for r in generator.profiles()]
    companies = [p for p in profiles if p.is_corporate]
    people = {p.customer_id for p in profiles if not p.is_corporate}
    assert len(people) == 60 and [p.customer_id for p in companies if p.group_id is None] == [
        "G001",
        "G002",
        "G003",
    ]
    seen: set[str] = set()
    for company in companies:
        assert company.group_id is None or company.group_id in seen, "a group comes before its members"
        seen.add(company.customer_id)
        assert company.corporate is not None and company.corporate.rm_team is not None
    assert any(c.group_id is not None and c.group_id.startswith("K") for c in companies), "groups nest"

    outcomes = [o for _, o in decoded(generator, 3000)]
    acting = [e for e in outcomes if getattr(e, "on_behalf_of", None) is not None]
    own = [e for e in outcomes if e.customer.customer_id in seen]  # type: ignore[attr-defined]
    assert not [o for o in outcomes if isinstance(o, Rejection)]
    assert 0.05 < (len(acting) + len(own)) / len(outcomes) < 0.15
    assert all(e.schema_version == 2 and e.on_behalf_of in seen for e in acting)  # type: ignore[attr-defined]
    representatives = {e.customer.customer_id for e in acting if e.customer.customer_id}  # type: ignore[attr-defined]
    assert representatives and representatives <= people
    deposits = {
        c.customer_id: c.corporate.deposits.amount for c in companies if c.corporate and c.corporate.deposits
    }
    large = [
        e
        for e in acting
        if e.type == "withdrawal" and e.payload.amount >= deposits[e.on_behalf_of] * 3 / 10  # type: ignore[attr-defined]
    ]
    assert large, "some withdrawals are large outflows for their company"


def test_without_groups_no_event_is_done_for_a_company() -> None:
    records = list(TrafficGenerator(30, seed=4, start=START).events(500))
    assert records and all(b'"on_behalf_of"' not in r.value for r in records)
