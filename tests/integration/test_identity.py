"""Identity resolution end to end: channel identifiers, late profiles, bounds, merges, conflicts,
and no raw card or phone number in PostgreSQL or the worker's log."""

import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.partitioner import murmur2

from hub.core.pii import Hasher, mask
from schemas import topics
from tests.factories import envelope, profile
from tests.integration.harness import HubUnderTest, fetch, values, wait_for_metric, wait_for_rows

Record = tuple[str, bytes, bytes]


class People:
    """Customers of one test with identifiers no other run has used."""

    def __init__(self) -> None:
        self.run = f"id-{uuid.uuid4().hex[:8]}"
        self._random = random.Random()
        self.now = datetime.now(UTC).replace(microsecond=0)

    def customer(self, name: str) -> dict[str, Any]:
        digits = lambda n: "".join(self._random.choice("0123456789") for _ in range(n))  # noqa: E731
        return {
            "customer_id": f"{self.run}-{name}",
            "account_no": "6222" + digits(12),
            "card_no": "4000" + digits(12),
            "phone": "+86139" + digits(8),
            "web_user": f"{self.run}.{name}",
        }

    def profile(self, person: dict[str, Any], **overrides: Any) -> Record:
        identifiers = {kind: [person[kind]] for kind in ("account_no", "card_no", "phone", "web_user")}
        fields = {"identifiers": identifiers, "updated_at": self.now.isoformat(), **overrides}
        record = profile(customer_id=person["customer_id"], **fields)
        return topics.CUSTOMERS_PROFILE, person["customer_id"].encode(), json.dumps(record).encode()

    def event(
        self, channel: str, type_: str, n: int, known_by: dict[str, str], *, minutes: float = 0
    ) -> Record:
        customer = {"customer_id": None, "account_no": None, "card_no": None, "phone": None, "web_user": None}
        customer.update(known_by)
        at = self.now - timedelta(minutes=60) + timedelta(minutes=minutes)
        record = envelope(
            channel, type_, event_id=f"{self.run}-{n}", occurred_at=at.isoformat(), customer=customer
        )
        # One key for all of a test's events: one partition, so event time moves as written.
        return topics.CHANNEL_TOPICS[channel], self.run.encode(), json.dumps(record).encode()


async def stored(run: str, expect: int, timeout_s: float = 30) -> dict[str, str]:
    rows = await wait_for_rows(
        "SELECT event_id, customer_id FROM interactions WHERE event_id LIKE $1",
        f"{run}-%",
        expect=expect,
        timeout_s=timeout_s,
    )
    return {row["event_id"]: row["customer_id"] for row in rows}


async def claimed(person: dict[str, Any], expect: int = 4) -> None:
    rows = await wait_for_rows(
        "SELECT 1 FROM customer_identifiers WHERE customer_id = $1", person["customer_id"], expect=expect
    )
    assert len(rows) == expect


async def test_an_event_resolves_by_each_identifier_kind(hub: HubUnderTest) -> None:
    people = People()
    ana = people.customer("ana")
    await hub.produce([people.profile(ana)])
    await claimed(ana)
    await hub.produce(
        [
            people.event("teller", "deposit", 1, {"account_no": ana["account_no"]}),
            people.event("branch", "visit", 2, {"card_no": ana["card_no"]}, minutes=1),
            people.event("phone", "call", 3, {"phone": ana["phone"]}, minutes=2),
            people.event("web", "login", 4, {"web_user": ana["web_user"]}, minutes=3),
        ]
    )
    assert await stored(people.run, 4) == {f"{people.run}-{n}": ana["customer_id"] for n in (1, 2, 3, 4)}
    resolved = {k: v for k, v in hub.metrics().items() if k.startswith("hub_identity_resolved_total")}
    assert len(resolved) == 4, resolved


async def test_an_event_waits_for_a_late_profile_and_then_lands_in_order(hub: HubUnderTest) -> None:
    people = People()
    ben = people.customer("ben")
    await hub.produce(
        [
            people.event("phone", "call", 1, {"phone": ben["phone"]}),
            people.event("phone", "complaint", 2, {"phone": ben["phone"]}, minutes=1),
        ]
    )
    await wait_for_metric(hub, "hub_identity_waiting_events", 2)
    assert await fetch("SELECT 1 FROM interactions WHERE event_id LIKE $1", f"{people.run}-%") == []
    await hub.produce([people.profile(ben)])
    assert await stored(people.run, 2) == {
        f"{people.run}-1": ben["customer_id"],
        f"{people.run}-2": ben["customer_id"],
    }
    # The complaint was recorded as the customer's, so the care rule saw it.
    care = await hub.consume(topics.TRIGGERS_CARE, expect=1, timeout_s=20)
    assert [t["customer_id"] for t in values(care)] == [ben["customer_id"]]


async def test_unknown_identifiers_are_dead_lettered_after_the_wait_bound(hub: HubUnderTest) -> None:
    people = People()
    ghost = people.customer("ghost")
    await hub.produce(
        [
            people.event("branch", "visit", 1, {"card_no": ghost["card_no"]}),
            # 16 minutes later in event time, with the same card (so in the same partition of
            # the resolve stage): the first visit gives up, the second waits on.
            people.event("branch", "visit", 2, {"card_no": ghost["card_no"]}, minutes=16),
        ]
    )
    dead = values(await hub.consume(topics.INTERACTIONS_DLQ, expect=1, timeout_s=20, settle_s=2))
    assert [json.loads(d["raw"])["event_id"] for d in dead] == [f"{people.run}-1"]
    assert dead[0]["topic"] == hub.topic(topics.INTERACTIONS_BRANCH), "the original record's place"
    assert dead[0]["reason"] == (
        "unknown_customer: no customer_id, and no customer profile listed its card_no "
        "within 15 minutes of event time"
    )
    assert ghost["card_no"] not in dead[0]["reason"]
    await wait_for_metric(hub, "hub_identity_waiting_events", 1)
    await hub.produce([people.profile(ghost)])
    assert await stored(people.run, 1) == {f"{people.run}-2": ghost["customer_id"]}


async def test_an_event_waiting_across_a_restart_is_neither_lost_nor_doubled(hub: HubUnderTest) -> None:
    """Faust commits past a single unacknowledged record; acknowledgements in offset order
    keep the committed offset behind the waiting one, so the next worker reads it again.
    The known customer's phone is chosen to share the resolve stage's partition with
    Dora's, so that records after hers there are resolved and acknowledged."""
    people = People()
    dora = people.customer("dora")
    known = people.customer("known")
    while resolve_partition(known["phone"]) != resolve_partition(dora["phone"]):
        known = people.customer("known")
    await hub.produce([people.profile(known)])
    await claimed(known)
    await hub.produce(
        [
            people.event("phone", "call", 0, {"phone": dora["phone"]}),
            *(people.event("phone", "call", n, {"phone": known["phone"]}, minutes=n) for n in (1, 2, 3)),
        ]
    )
    await stored(people.run, 3)
    await wait_for_metric(hub, "hub_identity_waiting_events", 1)
    hub.stop()  # Faust commits what was acknowledged when it stops
    hub.start()
    await hub.produce([people.profile(dora)])
    landed = await stored(people.run, 4)
    assert landed[f"{people.run}-0"] == dora["customer_id"]
    rows = await fetch("SELECT count(*) AS n FROM interactions WHERE event_id LIKE $1", f"{people.run}-%")
    assert rows[0]["n"] == 4


def resolve_partition(phone: str, partitions: int = 4) -> int:
    """The partition of the resolve stage's topic that events named by ``phone`` go to."""
    key = Hasher("k1", os.environ["HUB_PII_KEY"].encode()).digest("phone", phone).encode()
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def test_the_memory_bound_dead_letters_the_oldest_waiting_event(tmp_path: Path) -> None:
    hub = HubUnderTest(tmp_path, extra_env={"HUB_IDENTITY__MAX_WAITING_PER_PARTITION": "2"})
    hub.start()
    try:
        people = People()
        ghost = people.customer("ghost")
        # One phone number, so one partition of the resolve stage.
        await hub.produce(
            [people.event("phone", "call", n, {"phone": ghost["phone"]}, minutes=n) for n in range(3)]
        )
        dead = values(await hub.consume(topics.INTERACTIONS_DLQ, expect=1, timeout_s=20, settle_s=1))
        assert [json.loads(d["raw"])["event_id"] for d in dead] == [f"{people.run}-0"]
        assert "HUB_IDENTITY__MAX_WAITING_PER_PARTITION" in dead[0]["reason"]
        # The two still waiting land once the profile arrives.
        await hub.produce([people.profile(ghost)])
        assert await stored(people.run, 2) == {
            f"{people.run}-1": ghost["customer_id"],
            f"{people.run}-2": ghost["customer_id"],
        }
    finally:
        hub.stop()


async def test_a_merged_customer_reads_as_the_survivor_and_later_events_go_there(hub: HubUnderTest) -> None:
    people = People()
    old, new = people.customer("old"), people.customer("new")
    await hub.produce([people.profile(old), people.profile(new)])
    await claimed(old)
    await claimed(new)
    await hub.produce([people.event("phone", "call", 1, {"phone": old["phone"]})])
    assert await stored(people.run, 1) == {f"{people.run}-1": old["customer_id"]}

    later = (people.now + timedelta(seconds=1)).isoformat()
    merged = people.profile(old, schema_version=2, merged_into=new["customer_id"], updated_at=later)
    await hub.produce([merged])
    await wait_for_rows(
        "SELECT 1 FROM customer_profiles WHERE customer_id = $1 AND merged_into = $2",
        old["customer_id"],
        new["customer_id"],
        expect=1,
    )
    await wait_for_metric(hub, "hub_profiles_consumed_total", 3)
    await hub.produce(
        [
            people.event("teller", "deposit", 2, {"customer_id": old["customer_id"]}, minutes=1),
            people.event("branch", "visit", 3, {"card_no": old["card_no"]}, minutes=2),
        ]
    )
    assert await stored(people.run, 3) == {
        f"{people.run}-1": old["customer_id"],
        f"{people.run}-2": new["customer_id"],
        f"{people.run}-3": new["customer_id"],
    }
    shown = hub.hub("history", old["customer_id"]).stdout
    assert shown.startswith(f"{old['customer_id']} was merged into {new['customer_id']}")
    assert len(shown.strip().splitlines()) == 1 + 3, "the histories of both ids, read as one"


async def test_an_identifier_claimed_by_a_second_customer_is_reported_not_reassigned(
    hub: HubUnderTest,
) -> None:
    people = People()
    first, second = people.customer("first"), people.customer("second")
    await hub.produce([people.profile(first)])
    await claimed(first)
    second["card_no"] = first["card_no"]
    await hub.produce([people.profile(second)])
    conflicts = await wait_for_rows(
        "SELECT kind, display, owner_id FROM identifier_conflicts WHERE claimant_id = $1",
        second["customer_id"],
        expect=1,
    )
    assert [dict(c) for c in conflicts] == [
        {"kind": "card_no", "display": "*" * 12 + first["card_no"][-4:], "owner_id": first["customer_id"]}
    ]
    await hub.produce([people.event("branch", "visit", 1, {"card_no": first["card_no"]})])
    assert await stored(people.run, 1) == {f"{people.run}-1": first["customer_id"]}
    assert "identifier conflict: card_no ************" in hub.log()

    # The holder lets the card go: it passes to the customer whose claim was refused.
    later = (people.now + timedelta(seconds=1)).isoformat()
    first["card_no"] = people.customer("spare")["card_no"]
    await hub.produce([people.profile(first, updated_at=later)])
    await claimed(second)
    assert (
        await fetch("SELECT 1 FROM identifier_conflicts WHERE claimant_id = $1", second["customer_id"]) == []
    )
    await hub.produce([people.event("branch", "visit", 2, {"card_no": second["card_no"]}, minutes=1)])
    assert (await stored(people.run, 2))[f"{people.run}-2"] == second["customer_id"]


async def test_no_raw_card_phone_or_account_number_in_postgresql_or_the_log(hub: HubUnderTest) -> None:
    """Every identifier kind through every path (profile, resolved event, event with
    customer_id and identifiers, dead letter), then a scan of every table and the log."""
    people = People()
    cora, ghost = people.customer("cora"), people.customer("ghost")
    await hub.produce([people.profile(cora)])
    await claimed(cora)
    everything = {k: v for k, v in cora.items() if k != "customer_id"}
    await hub.produce(
        [
            people.event("phone", "complaint", 1, {"phone": cora["phone"]}),
            people.event("branch", "visit", 2, {"customer_id": cora["customer_id"], **everything}, minutes=1),
            people.event(
                "phone", "call", 3, {"phone": ghost["phone"], "card_no": ghost["card_no"]}, minutes=2
            ),
            # The same card 18 minutes later: the first of the ghost's events gives up.
            people.event("branch", "visit", 5, {"card_no": ghost["card_no"]}, minutes=20),
            people.event("web", "login", 4, {"card_no": cora["card_no"]}, minutes=20),
        ]
    )
    assert len(await stored(people.run, 3)) == 3
    await hub.consume(topics.INTERACTIONS_DLQ, expect=1, timeout_s=20)
    await hub.consume(topics.TRIGGERS_CARE, expect=1, timeout_s=20)

    secrets = [cora["card_no"], cora["phone"], cora["account_no"], ghost["card_no"], ghost["phone"]]
    secrets += [s.lstrip("+") for s in secrets]
    tables = await fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE'"
    )
    assert len(tables) >= 10
    masked_seen: set[str] = set()
    for table in tables:
        name = table["table_name"]
        rows = await fetch(f'SELECT t::text AS row FROM "{name}" t')
        for row in rows:
            leaked = [s for s in secrets if s in row["row"]]
            assert not leaked, f"raw identifier in table {name}"
            masked_seen |= {name for s in secrets if mask(s) in row["row"]}
    # The scan read what was stored: the masked forms are there, in profiles and events.
    assert {"customer_profiles", "customer_identifiers", "interactions"} <= masked_seen
    hub.stop()
    log = (hub.workdir / f"worker-{hub.starts}.log").read_text(errors="replace")
    assert "interaction-hub" in log, "the worker's whole log was captured"
    assert not [s for s in secrets if s in log], "raw identifier in the worker log"
