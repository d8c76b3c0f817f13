"""Decisions follow event time, not arrival order, across topics (issue: the hot path).

A complaint on the phone topic and a later large deposit on the teller topic, for one
customer, must never give a sales trigger while the complaint is open, whichever topic is
read first; a profile published after its customer's events, but older in event time,
must be known when they are decided; and one input gives one decision log, however it is
interleaved, batched or interrupted. (What live traffic published at the same moment can
and cannot rely on is in the README's "Event time across topics".)
"""

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.kafka_admin import ensure_topics
from hub.settings import load_settings
from schemas import topics
from tests.factories import envelope, profile
from tests.integration.harness import HubUnderTest, wait_for_rows

Record = tuple[str, bytes, bytes]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def _event(channel: str, type_: str, customer: str, event_id: str, at: datetime, **payload: Any) -> Record:
    body = envelope(
        channel,
        type_,
        event_id=event_id,
        occurred_at=at.isoformat(),
        customer={"customer_id": customer},
        payload=payload or None,
    )
    return topics.CHANNEL_TOPICS[channel], customer.encode(), json.dumps(body).encode()


def _profile(customer: str) -> Record:
    body = profile(customer_id=customer, updated_at=(T0 - timedelta(days=400)).isoformat())
    return topics.CUSTOMERS_PROFILE, customer.encode(), json.dumps(body).encode()


def _deposit(customer: str, at: datetime) -> Record:
    return _event(
        "teller",
        "deposit",
        customer,
        f"{customer}-dep",
        at,
        amount="80000.00",
        currency="USD",
        account_type="fx",
    )


async def _topics_of(hub: HubUnderTest) -> None:
    # Created as the worker creates them (co-partitioned), before anything is published.
    await ensure_topics(load_settings(topic_prefix=hub.prefix))


async def _decisions(run: str, expect: int) -> list[dict[str, Any]]:
    rows = await wait_for_rows(
        "SELECT customer_id, rule_id, outcome, policy, evidence, decided_at FROM decisions"
        " WHERE customer_id LIKE $1 ORDER BY customer_id, decided_at, rule_id",
        f"{run}-%",
        expect=expect,
        timeout_s=90,
    )
    return [dict(r) for r in rows]


async def test_a_backlog_read_teller_first_sends_no_sale_while_an_earlier_complaint_is_open(
    tmp_path: Path,
) -> None:
    # Small batches, so that the teller backlog is not read in one batch with the phone one.
    hub = HubUnderTest(tmp_path, extra_env={"HUB_STREAM__BATCH_MAX": "4"})
    run = hub.prefix.strip(".")
    await _topics_of(hub)
    complained = [f"{run}-K{n}" for n in range(10)]
    content = [f"{run}-H{n}" for n in range(10)]
    deposits = [_deposit(c, T0 + timedelta(hours=1)) for c in complained + content]
    complaints = [
        _event("phone", "complaint", c, f"{c}-cmp", T0, complaint_id=f"{c}-CMP", severity="medium")
        for c in complained
    ]
    # The worst arrival order: every deposit, then the earlier complaints, then the
    # profiles (older than all of it in event time), all before the worker starts.
    await hub.produce(deposits)
    await hub.produce(complaints)
    # Other customers' profiles ahead of these: the profile agent takes a while to reach them.
    await hub.produce([_profile(f"{run}-other-{n}") for n in range(1000)])
    await hub.produce([_profile(c) for c in complained + content])
    hub.start()
    try:
        decided = await _decisions(run, expect=len(deposits) + len(complaints))
    finally:
        hub.stop()

    sales = {d["customer_id"]: d for d in decided if d["rule_id"] == "high_value_walk_in_rm_referral"}
    assert {c: sales[c]["policy"] for c in complained} == dict.fromkeys(complained, "complaint_open")
    assert {c: sales[c]["outcome"] for c in content} == dict.fromkeys(content, "published"), (
        "each profile was known when its customer's deposit was decided"
    )
    care = [d for d in decided if d["rule_id"] == "complaint_follow_up"]
    assert sorted(d["customer_id"] for d in care) == sorted(complained)


def _mixed_input(run: str) -> list[Record]:
    """A few customers' days across all four channels, with moments that depend on order."""
    records = []
    for n in range(6):
        who = f"{run}-M{n}"
        at = T0 + timedelta(minutes=n)
        records += [
            _event("phone", "complaint", who, f"{who}-1", at, complaint_id=f"{who}-C", severity="low"),
            _deposit(who, at + timedelta(minutes=30)),
            _event(
                "phone",
                "complaint_resolved",
                who,
                f"{who}-2",
                at + timedelta(hours=2),
                complaint_id=f"{who}-C",
            ),
            _event("teller", "fx_exchange", who, f"{who}-3", at + timedelta(hours=3), purpose="travel"),
            _event("web", "login", who, f"{who}-4", at + timedelta(hours=4), success=False),
            _event("web", "login", who, f"{who}-5", at + timedelta(hours=4, minutes=1), success=False),
            _event("web", "login", who, f"{who}-6", at + timedelta(hours=4, minutes=2), success=False),
            _event("branch", "visit", who, f"{who}-7", at + timedelta(hours=5), wait_minutes=45),
            _event("web", "page_view", who, f"{who}-8", at + timedelta(hours=6), page="/home", product=None),
        ]
    # As channel systems publish: each in event time.
    return sorted(records, key=lambda r: json.loads(r[2])["occurred_at"])


def _random_merge(records: list[Record], chance: random.Random) -> list[Record]:
    """The topics' records interleaved at random, each topic's in its own order, as channel
    systems publish: each in event time, none waiting for the others."""
    by_topic: dict[str, list[Record]] = {}
    for record in records:
        by_topic.setdefault(record[0], []).append(record)
    merged = []
    while by_topic:
        topic = chance.choice(sorted(by_topic))
        merged.append(by_topic[topic].pop(0))
        if not by_topic[topic]:
            del by_topic[topic]
    return merged


def _normalised(decided: list[dict[str, Any]], run: str) -> list[tuple[Any, ...]]:
    def strip(text: str) -> str:
        return text.replace(run, "RUN")

    return sorted(
        (
            strip(d["customer_id"]),
            d["rule_id"],
            d["outcome"],
            d["policy"],
            tuple(strip(e) for e in d["evidence"]),
            d["decided_at"],
        )
        for d in decided
    )


async def _run_once(tmp_path: Path, how: str) -> list[tuple[Any, ...]]:
    """The same input as a backlog (a replay, or catching up after an outage), read in
    another arrival order each time."""
    workdir = tmp_path / how
    workdir.mkdir()
    small_batches = {"HUB_STREAM__BATCH_MAX": "3"} if how == "shuffled-small-batches" else {}
    hub = HubUnderTest(workdir, extra_env=small_batches)
    run = hub.prefix.strip(".")
    await _topics_of(hub)
    records = _mixed_input(run)
    customers = sorted({key for _, key, _ in records})
    await hub.produce([_profile(c.decode()) for c in customers])
    if how == "topic-order":
        await hub.produce(sorted(records, key=lambda r: r[0]))
    elif how == "shuffled-small-batches":
        await hub.produce(_random_merge(records, random.Random(7)))
    else:
        await hub.produce(sorted(records, key=lambda r: r[0], reverse=True))
    hub.start()
    try:
        if how == "restart":  # stopped half-way through the backlog, then started again
            await wait_for_rows(
                "SELECT 1 FROM interactions WHERE customer_id LIKE $1", f"{run}-%", expect=len(records) // 2
            )
            hub.stop()
            hub.start()
        await wait_for_rows(
            "SELECT 1 FROM interactions WHERE customer_id LIKE $1",
            f"{run}-%",
            expect=len(records),
            timeout_s=90,
        )
        # Decisions land in the same transaction as their events; a moment more for any
        # batch still in flight.
        await asyncio.sleep(3)
        decided = await _decisions(run, expect=1)
    finally:
        hub.stop()
    return _normalised(decided, run)


async def test_one_input_in_three_interleavings_gives_one_decision_log(tmp_path: Path) -> None:
    by_topic = await _run_once(tmp_path, "topic-order")
    in_small_batches = await _run_once(tmp_path, "shuffled-small-batches")
    with_a_restart = await _run_once(tmp_path, "restart")

    assert by_topic, "the input decides something"
    assert {d[1] for d in by_topic} >= {"complaint_follow_up", "high_value_walk_in_rm_referral"}
    assert in_small_batches == by_topic, "read interleaved at random, in batches of three"
    assert with_a_restart == by_topic, "read in reverse topic order, with a restart half-way"
