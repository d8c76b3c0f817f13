"""The identifier index in PostgreSQL, written directly: conflicts, hand-over, merges."""

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.core.pii import Hasher, Keyring
from hub.storage.history import HistoryStore
from schemas.profile import CustomerProfile
from tests.integration.harness import fetch

KEYRING = Keyring(Hasher("k1", b"a key for this test only"))
T0 = datetime(2026, 11, 25, 8, tzinfo=UTC)


@pytest.fixture
async def store() -> AsyncIterator[HistoryStore]:
    async with HistoryStore.connected(os.environ["HUB_DATABASE_URL"]) as connected:
        yield connected


def profile(customer_id: str, minute: int, *, cards: list[str], **extra: Any) -> CustomerProfile:
    return CustomerProfile(
        customer_id=customer_id,
        identifiers={"card_no": cards},
        updated_at=T0 + timedelta(minutes=minute),
        **extra,
    )


async def conflicts_of(card: str) -> list[tuple[str, str]]:
    rows = await fetch(
        "SELECT owner_id, claimant_id FROM identifier_conflicts WHERE lookup_key = $1 ORDER BY first_seen",
        KEYRING.current.digest("card_no", card),
    )
    return [(row["owner_id"], row["claimant_id"]) for row in rows]


async def holder_of(card: str) -> str | None:
    rows = await fetch(
        "SELECT customer_id FROM customer_identifiers WHERE lookup_key = $1",
        KEYRING.current.digest("card_no", card),
    )
    return rows[0]["customer_id"] if rows else None


async def test_a_released_card_passes_to_the_first_refused_claimant_and_the_rest_now_face_it(
    store: HistoryStore,
) -> None:
    run = uuid.uuid4().hex[:8]
    card = f"4000{uuid.uuid4().int % 10**12:012d}"
    a, b, c = (f"{run}-{name}" for name in "abc")
    assert await store.record_profile(profile(a, 0, cards=[card]), KEYRING) == []
    [refused_b] = await store.record_profile(profile(b, 1, cards=[card]), KEYRING) or []
    assert (refused_b.owner_id, refused_b.claimant_id) == (a, b)
    await store.record_profile(profile(c, 2, cards=[card]), KEYRING)
    assert await conflicts_of(card) == [(a, b), (a, c)]

    assert await store.record_profile(profile(a, 3, cards=[]), KEYRING) == []
    assert await holder_of(card) == b
    assert await conflicts_of(card) == [(b, c)]


async def test_a_merge_ends_the_conflict_between_the_two_ids(store: HistoryStore) -> None:
    run = uuid.uuid4().hex[:8]
    card = f"4000{uuid.uuid4().int % 10**12:012d}"
    survivor, merged = f"{run}-survivor", f"{run}-merged"
    await store.record_profile(profile(survivor, 0, cards=[card]), KEYRING)
    await store.record_profile(profile(merged, 1, cards=[card]), KEYRING)
    assert await conflicts_of(card) == [(survivor, merged)]
    as_one = profile(merged, 2, cards=[card], schema_version=2, merged_into=survivor)
    assert await store.record_profile(as_one, KEYRING) == []
    assert await conflicts_of(card) == []
    assert await holder_of(card) == survivor


async def test_an_older_profile_changes_nothing(store: HistoryStore) -> None:
    run = uuid.uuid4().hex[:8]
    card = f"4000{uuid.uuid4().int % 10**12:012d}"
    await store.record_profile(profile(f"{run}-a", 5, cards=[card]), KEYRING)
    assert await store.record_profile(profile(f"{run}-a", 4, cards=[]), KEYRING) is None
    assert await holder_of(card) == f"{run}-a"
