"""The PostgreSQL store: a connection pool, the batch transaction, profiles and the report.

Usage::

    store = await HistoryStore.open(url)
    async with store.unit_of_work() as work:
        new_ids = await work.add_interactions(events)
        ...
    await store.mark_published(trigger_ids)
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Self

import asyncpg

from hub.core.pii import Keyring
from hub.storage import identity
from hub.storage.errors import connecting, converted
from hub.storage.identity import Conflict
from hub.storage.migrations import available_migrations
from hub.storage.unit_of_work import UnitOfWork
from schemas.profile import CustomerProfile
from schemas.trigger import TriggerOutcome


class HistoryStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 4) -> Self:
        """Connect a pool; StoreUnavailable names the server when it cannot be reached."""
        with connecting(url):
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, timeout=10)
        assert pool is not None
        return cls(pool)

    @property
    def pool(self) -> asyncpg.Pool:
        """The pool, for read models that share this store's connections (the customer API)."""
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    @classmethod
    @asynccontextmanager
    async def connected(cls, url: str) -> AsyncIterator[Self]:
        """A one-connection store for a command: ``async with HistoryStore.connected(url) as store``."""
        store = await cls.open(url, pool_size=1)
        try:
            yield store
        finally:
            await store.close()

    async def is_migrated(self) -> bool:
        """True when every migration shipped with this version has been applied."""
        with converted("reading the schema version"):
            exists = await self._pool.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            applied = (
                await self._pool.fetchval("SELECT max(version) FROM schema_migrations") if exists else None
            )
        return applied is not None and applied >= available_migrations()[-1].version

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        with converted("opening a transaction"):
            connection = await self._pool.acquire()
        try:
            with converted("committing a batch"):
                async with connection.transaction():
                    yield UnitOfWork(connection)
        finally:
            await self._pool.release(connection)

    async def mark_published(self, trigger_ids: Sequence[str]) -> None:
        if not trigger_ids:
            return
        with converted("marking triggers published"):
            await self._pool.execute(_MARK_PUBLISHED, list(trigger_ids))

    async def record_outcome(self, outcome: TriggerOutcome, *, declined_for: timedelta) -> bool:
        """Store an outcome once; a decline blocks the product for the customer. False if unknown."""
        with converted("storing an outcome"):
            async with self._pool.acquire() as connection, connection.transaction():
                product = await connection.fetchval(_PRODUCT_OF_DECISION, outcome.trigger_id)
                await connection.execute(
                    _INSERT_OUTCOME, outcome.trigger_id, outcome.outcome, outcome.customer_id, outcome.at
                )
                if outcome.outcome == "declined" and product is not None:
                    until = outcome.at + declined_for
                    await connection.execute(_UPSERT_DECLINED, outcome.customer_id, product, until)
                if outcome.outcome == "accepted" and product is not None:
                    await connection.execute(
                        _INSERT_ACQUISITION, outcome.customer_id, product, outcome.at, "accepted"
                    )
        return product is not None

    async def record_products(self, customer_id: str, products: Sequence[str], at: datetime) -> None:
        with converted("recording products held"):
            await self._pool.executemany(
                _INSERT_ACQUISITION, [(customer_id, product, at, "profile") for product in products]
            )

    async def record_profile(self, profile: CustomerProfile, keyring: Keyring) -> list[Conflict] | None:
        """Store a profile and claim its identifiers; see :func:`identity.record_profile`."""
        with converted("recording a profile"):
            async with self._pool.acquire() as connection:
                return await identity.record_profile(connection, profile, keyring)

    async def owners_of(self, lookup_keys: Sequence[str]) -> dict[str, str]:
        """Which customer holds each of these identifier keys (those held by nobody are left out)."""
        with converted("resolving identifiers"):
            return await identity.owners_of(self._pool, lookup_keys)

    async def report(self) -> list[dict[str, Any]]:
        """Per rule: decisions by outcome and policy, outcomes, and conversion by group."""
        with converted("building the report"):
            rows = await self._pool.fetch(_REPORT)
        return [dict(row) for row in rows]


_MARK_PUBLISHED = """
UPDATE triggers SET published_at = now() WHERE trigger_id = ANY($1::text[]) AND published_at IS NULL
"""

_PRODUCT_OF_DECISION = "SELECT product FROM decisions WHERE decision_id = $1"

_INSERT_OUTCOME = """
INSERT INTO outcomes (trigger_id, outcome, customer_id, at) VALUES ($1, $2, $3, $4)
ON CONFLICT (trigger_id, outcome) DO NOTHING
"""

_UPSERT_DECLINED = """
INSERT INTO declined_offers (customer_id, product, until) VALUES ($1, $2, $3)
ON CONFLICT (customer_id, product) DO UPDATE SET until = greatest(declined_offers.until, excluded.until)
"""

_INSERT_ACQUISITION = """
INSERT INTO customer_products (customer_id, product, acquired_at, source) VALUES ($1, $2, $3, $4)
ON CONFLICT (customer_id, product) DO NOTHING
"""

# A decision converts when its customer came to hold its product after it was decided:
# by accepting the offer, by a later event, or as a later profile shows. The same test
# for the published and the held-out group makes their rates comparable.
_REPORT = """
WITH judged AS (
    SELECT d.*, EXISTS (
        SELECT 1 FROM customer_products p
        WHERE p.customer_id = d.customer_id AND p.product = d.product AND p.acquired_at > d.decided_at
    ) AS converted
    FROM decisions d
)
SELECT rule_id,
       count(*) AS decisions,
       count(*) FILTER (WHERE product IS NOT NULL) AS offers,
       count(*) FILTER (WHERE outcome = 'published') AS published,
       count(*) FILTER (WHERE outcome = 'held_out') AS held_out,
       count(DISTINCT customer_id) FILTER (WHERE outcome = 'held_out') AS held_out_customers,
       count(*) FILTER (WHERE outcome = 'suppressed') AS suppressed,
       coalesce(jsonb_object_agg(policy, n)
                FILTER (WHERE policy IS NOT NULL AND outcome = 'suppressed'), '{}')::text AS suppressed_by,
       (SELECT count(*) FROM outcomes o JOIN decisions x ON x.decision_id = o.trigger_id
        WHERE x.rule_id = j.rule_id AND o.outcome = 'accepted') AS accepted,
       (SELECT count(*) FROM outcomes o JOIN decisions x ON x.decision_id = o.trigger_id
        WHERE x.rule_id = j.rule_id AND o.outcome = 'declined') AS declined,
       count(*) FILTER (WHERE outcome = 'published' AND converted) AS converted_published,
       count(*) FILTER (WHERE outcome = 'held_out' AND converted) AS converted_held_out
FROM (SELECT judged.*, count(*) OVER (PARTITION BY rule_id, policy) AS n FROM judged) j
GROUP BY rule_id ORDER BY rule_id
"""
