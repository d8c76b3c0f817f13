"""What the customer API reads from PostgreSQL: identities, profiles, history, decisions.

Read-only, over the pool of a :class:`HistoryStore`. A customer merged into another
(profile v2 ``merged_into``) reads as the survivor: every query takes the survivor's
*ids*, the survivor and every customer merged into it, directly or through a chain.

Usage::

    reads = CustomerReads(await HistoryStore.open(url))
    ids = await reads.customer_ids("C000123")
    page = await reads.history(ids.ids, limit=20)
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.core.groups import MAX_GROUP_DEPTH
from hub.core.identity import MAX_MERGE_HOPS
from hub.errors import ServiceUnavailable, StoreError
from hub.storage.errors import reading
from hub.storage.history import HistoryStore
from schemas.profile import CustomerProfile


@dataclass(frozen=True, slots=True)
class CustomerIds:
    """Who a requested customer id is now: the survivor of its merges and every id merged into it."""

    requested_id: str
    customer_id: str
    """The survivor: the requested id, or the end of its merge chain."""
    ids: tuple[str, ...]
    """The survivor first, then every id merged into it."""

    @property
    def merged_ids(self) -> list[str]:
        return [i for i in self.ids if i != self.customer_id]


@dataclass(frozen=True, slots=True)
class StoredProfile:
    profile: CustomerProfile
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OpenComplaint:
    complaint_id: str
    category: str | None
    severity: str | None
    opened_at: datetime
    event_id: str
    customer_id: str | None = None
    """Who complained: the customer, or someone acting for the company (``on_behalf_of``)."""
    on_behalf_of: str | None = None


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A company in a group, directly or through a group within it."""

    customer_id: str
    parent_id: str
    """The group it is a direct member of."""
    depth: int
    """1 for a direct member of the group asked about, 2 for a member of a member group, …"""
    profile: CustomerProfile


@dataclass(frozen=True, slots=True)
class Representative:
    """Someone who acted for a company (interaction v2 ``on_behalf_of``)."""

    customer_id: str
    on_behalf_of: str
    interactions: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    event_id: str
    customer_id: str
    channel: str
    type: str
    occurred_at: datetime
    received_at: datetime
    source: dict[str, Any]
    payload: dict[str, Any]
    identifiers: dict[str, Any]
    """As stored: card and phone numbers as ``{"hash", "masked"}``, the rest as sent."""
    on_behalf_of: str | None = None
    """The company the customer acted for (interaction v2)."""


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    decision_id: str
    customer_id: str
    rule_id: str
    rule_version: int
    kind: str
    product: str | None
    tier: str
    outcome: str
    policy: str | None
    detail: str
    reason: str
    evidence: list[str]
    channel: str | None
    not_before: datetime | None
    decided_at: datetime
    trigger_id: str | None
    published_at: datetime | None
    outcomes: list[str]


Position = tuple[datetime, str]
"""Where a page ended: the last item's time and id; the next page starts after it."""


class CustomerReads:
    def __init__(self, store: HistoryStore) -> None:
        self._store = store
        self._pool = store.pool

    async def close(self) -> None:
        await self._store.close()

    async def is_ready(self) -> bool:
        """PostgreSQL answers and carries every migration of this version."""
        try:
            return await self._store.is_migrated()
        except (ServiceUnavailable, StoreError):
            return False

    async def customer_ids(self, customer_id: str) -> CustomerIds | None:
        """Who ``customer_id`` is now; None when nothing is known of them."""
        with reading("resolving a customer"):
            async with self._pool.acquire() as connection:
                survivor = await connection.fetchval(_SURVIVOR, customer_id, MAX_MERGE_HOPS)
                ids = await connection.fetchval(_MERGED_INTO, survivor, MAX_MERGE_HOPS)
                known = await connection.fetchval(_KNOWN, ids)
        if not known:
            return None
        return CustomerIds(customer_id, survivor, tuple(ids))

    async def customer_by_lookup_keys(self, lookup_keys: Sequence[str]) -> str | None:
        """The customer holding an identifier, by its keyed hashes (current key first)."""
        with reading("looking an identifier up"):
            found = await self._pool.fetchval(_BY_LOOKUP_KEY, list(lookup_keys))
        return str(found) if found is not None else None

    async def profile(self, customer_id: str) -> StoredProfile | None:
        with reading("reading a profile"):
            row = await self._pool.fetchrow(_PROFILE, customer_id)
        if row is None:
            return None
        return StoredProfile(CustomerProfile.model_validate_json(row["profile"]), row["updated_at"])

    async def open_complaints(self, ids: Sequence[str]) -> list[OpenComplaint]:
        with reading("reading open complaints"):
            rows = await self._pool.fetch(_OPEN_COMPLAINTS, list(ids))
        return [OpenComplaint(**dict(row)) for row in rows]

    async def channel_counts(self, ids: Sequence[str]) -> dict[str, int]:
        with reading("counting interactions"):
            rows = await self._pool.fetch(_CHANNEL_COUNTS, list(ids))
        return {row["channel"]: row["n"] for row in rows}

    async def history(
        self,
        ids: Sequence[str],
        *,
        channels: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        after: Position | None = None,
        limit: int,
    ) -> list[InteractionRecord]:
        """Interactions newest first; ``channels`` empty means all; ``after`` continues a page."""
        after_at, after_id = after if after is not None else (None, None)
        with reading("reading the contact history"):
            rows = await self._pool.fetch(
                _HISTORY, list(ids), list(channels) or None, since, until, after_at, after_id, limit
            )
        return [
            InteractionRecord(
                **{
                    **dict(row),
                    "source": json.loads(row["source"]),
                    "payload": json.loads(row["payload"]),
                    "identifiers": json.loads(row["identifiers"]),
                }
            )
            for row in rows
        ]

    async def group_members(self, group_id: str) -> list[GroupMember]:
        """Every company in the group, nested groups' members included, nearest first."""
        with reading("reading a group's members"):
            rows = await self._pool.fetch(_GROUP_MEMBERS, group_id, MAX_GROUP_DEPTH)
        return [
            GroupMember(
                row["customer_id"],
                row["parent_id"],
                row["depth"],
                CustomerProfile.model_validate_json(row["profile"]),
            )
            for row in rows
        ]

    async def representatives(self, ids: Sequence[str]) -> list[Representative]:
        """Who acted for these companies, most recent first."""
        with reading("reading who acted for a company"):
            rows = await self._pool.fetch(_REPRESENTATIVES, list(ids))
        return [Representative(**dict(row)) for row in rows]

    async def recent_triggers(self, ids: Sequence[str], *, limit: int) -> list[DecisionRecord]:
        """The triggers published for these customers, newest first."""
        with reading("reading recent triggers"):
            rows = await self._pool.fetch(_RECENT_TRIGGERS, list(ids), limit)
        return [DecisionRecord(**dict(row)) for row in rows]

    async def decisions(
        self, ids: Sequence[str], *, after: Position | None = None, limit: int
    ) -> list[DecisionRecord]:
        """The decision log newest first, with the trigger (when one was sent) and its outcomes."""
        after_at, after_id = after if after is not None else (None, None)
        with reading("reading decisions"):
            rows = await self._pool.fetch(_DECISIONS, list(ids), after_at, after_id, limit)
        return [DecisionRecord(**dict(row)) for row in rows]


# Follow merged_into from the requested id; the path guards against cycles.
_SURVIVOR = """
WITH RECURSIVE chain (customer_id, hops, path) AS (
    SELECT $1::text, 0, ARRAY[$1::text]
    UNION ALL
    SELECT p.merged_into, c.hops + 1, c.path || p.merged_into
    FROM chain c JOIN customer_profiles p ON p.customer_id = c.customer_id
    WHERE p.merged_into IS NOT NULL AND c.hops < $2 AND NOT p.merged_into = ANY (c.path)
)
SELECT customer_id FROM chain ORDER BY hops DESC LIMIT 1
"""

# Every id whose merged_into chain reaches the survivor. Only the hop limit ends the
# recursion on a cycle: UNION drops repeated rows, but a row carries its hop count, which
# differs on every lap. The outer query keeps each id once, at its fewest hops.
_MERGED_INTO = """
WITH RECURSIVE merged (customer_id, hops) AS (
    SELECT $1::text, 0
    UNION
    SELECT p.customer_id, m.hops + 1
    FROM merged m JOIN customer_profiles p ON p.merged_into = m.customer_id
    WHERE m.hops < $2
)
SELECT array_agg(customer_id ORDER BY hops, customer_id)
FROM (SELECT customer_id, min(hops) AS hops FROM merged GROUP BY customer_id) ids
"""

_KNOWN = """
SELECT EXISTS (SELECT 1 FROM customer_profiles WHERE customer_id = ANY ($1::text[]))
    OR EXISTS (SELECT 1 FROM interactions WHERE customer_id = ANY ($1::text[]))
    OR EXISTS (SELECT 1 FROM interaction_parties WHERE customer_id = ANY ($1::text[]))
"""

_BY_LOOKUP_KEY = """
SELECT customer_id FROM customer_identifiers WHERE lookup_key = ANY ($1::text[])
ORDER BY array_position($1::text[], lookup_key) LIMIT 1
"""

_PROFILE = "SELECT profile::text AS profile, updated_at FROM customer_profiles WHERE customer_id = $1"

# The events in the histories of customers $1: their own, and those someone did for them
# (a company's, interaction v2 on_behalf_of), each once.
_THEIRS = """
theirs AS (
    SELECT event_id FROM interactions WHERE customer_id = ANY ($1::text[])
    UNION
    SELECT event_id FROM interaction_parties WHERE customer_id = ANY ($1::text[]) AND role = 'represented'
)"""

# A complaint is open until a complaint_resolved event names it, at the same time or later.
_OPEN_COMPLAINTS = f"""
WITH {_THEIRS},
events AS (SELECT i.* FROM interactions i JOIN theirs USING (event_id))
SELECT c.payload ->> 'complaint_id' AS complaint_id, c.payload ->> 'category' AS category,
       c.payload ->> 'severity' AS severity, c.occurred_at AS opened_at, c.event_id,
       c.customer_id, c.on_behalf_of
FROM events c
WHERE c.type = 'complaint'
  AND NOT EXISTS (
      SELECT 1 FROM events r
      WHERE r.type = 'complaint_resolved'
        AND r.payload ->> 'complaint_id' = c.payload ->> 'complaint_id' AND r.occurred_at >= c.occurred_at
  )
ORDER BY c.occurred_at DESC, c.event_id DESC
"""

_CHANNEL_COUNTS = f"""
WITH {_THEIRS}
SELECT channel, count(*)::int AS n FROM interactions JOIN theirs USING (event_id) GROUP BY channel
"""

# Keyset pagination, newest first: (occurred_at, event_id) both descending, the order the
# cursor continues. The interactions_by_customer index (customer_id, occurred_at DESC,
# event_id) finds the customers' rows, but its order is not this one (event_id ascending
# within a time, and one run per merged id), so PostgreSQL sorts the matching rows.
_HISTORY = f"""
WITH {_THEIRS}
SELECT event_id, customer_id, channel, type, occurred_at, received_at, source::text AS source,
       payload::text AS payload, identifiers::text AS identifiers, on_behalf_of
FROM interactions JOIN theirs USING (event_id)
WHERE ($2::text[] IS NULL OR channel = ANY ($2::text[]))
  AND ($3::timestamptz IS NULL OR occurred_at >= $3)
  AND ($4::timestamptz IS NULL OR occurred_at < $4)
  AND ($5::timestamptz IS NULL OR (occurred_at, event_id) < ($5, $6::text))
ORDER BY occurred_at DESC, event_id DESC
LIMIT $7
"""

# A published decision's trigger carries the decision id as its trigger id (hub.core.decide).
_DECISIONS = """
SELECT d.decision_id, d.customer_id, d.rule_id, d.rule_version, d.kind, d.product, d.tier, d.outcome,
       d.policy, d.detail, d.reason, d.evidence, d.channel, d.not_before, d.decided_at,
       t.trigger_id, t.published_at,
       coalesce((SELECT array_agg(o.outcome ORDER BY o.at)
                 FROM outcomes o WHERE o.trigger_id = d.decision_id), '{}') AS outcomes
FROM decisions d LEFT JOIN triggers t ON t.trigger_id = d.decision_id
WHERE d.customer_id = ANY ($1::text[])
  AND ($2::timestamptz IS NULL OR (d.decided_at, d.decision_id) < ($2, $3::text))
ORDER BY d.decided_at DESC, d.decision_id DESC
LIMIT $4
"""

# The members of group $1, and of the groups among them; the path guards against cycles.
_GROUP_MEMBERS = """
WITH RECURSIVE members (customer_id, parent_id, depth, path) AS (
    SELECT customer_id, group_id, 1, ARRAY[$1::text, customer_id]
    FROM customer_profiles WHERE group_id = $1::text
    UNION ALL
    SELECT p.customer_id, p.group_id, m.depth + 1, m.path || p.customer_id
    FROM members m JOIN customer_profiles p ON p.group_id = m.customer_id
    WHERE m.depth < $2 AND NOT p.customer_id = ANY (m.path)
)
SELECT m.customer_id, m.parent_id, m.depth, p.profile::text AS profile
FROM members m JOIN customer_profiles p USING (customer_id)
ORDER BY m.depth, m.customer_id
"""

_REPRESENTATIVES = """
SELECT i.customer_id, p.customer_id AS on_behalf_of, count(*)::int AS interactions,
       max(p.occurred_at) AS last_at
FROM interaction_parties p JOIN interactions i USING (event_id)
WHERE p.customer_id = ANY ($1::text[]) AND p.role = 'represented'
GROUP BY i.customer_id, p.customer_id
ORDER BY last_at DESC, i.customer_id
"""

_RECENT_TRIGGERS = """
SELECT d.decision_id, d.customer_id, d.rule_id, d.rule_version, d.kind, d.product, d.tier, d.outcome,
       d.policy, d.detail, d.reason, d.evidence, d.channel, d.not_before, d.decided_at,
       t.trigger_id, t.published_at,
       coalesce((SELECT array_agg(o.outcome ORDER BY o.at)
                 FROM outcomes o WHERE o.trigger_id = d.decision_id), '{}') AS outcomes
FROM decisions d LEFT JOIN triggers t ON t.trigger_id = d.decision_id
WHERE d.customer_id = ANY ($1::text[]) AND d.outcome = 'published'
ORDER BY d.decided_at DESC, d.decision_id DESC
LIMIT $2
"""
