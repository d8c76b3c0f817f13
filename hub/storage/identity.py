"""Profiles and the identifier index in PostgreSQL: who holds which identifier.

A profile claims its identifiers; the first customer to claim one holds it until their own
profile lets it go. A claim on an identifier another customer holds is a conflict: it is
recorded in ``identifier_conflicts`` and returned for the caller to report, and the
identifier stays where it was. Claims between customers that merges make one person are
not conflicts.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hub.core.identity import survivor
from hub.core.pii import IDENTIFIER_KINDS, Hasher, Keyring, display_form
from schemas.profile import CustomerProfile


@dataclass(frozen=True, slots=True)
class Claim:
    lookup_key: str
    kind: str
    display: str
    aliases: tuple[str, ...] = ()
    """The same identifier's keys under retired PII keys (the holder may be stored under one)."""

    @property
    def every_key(self) -> tuple[str, ...]:
        return (self.lookup_key, *self.aliases)


@dataclass(frozen=True, slots=True)
class Conflict:
    lookup_key: str
    """The key the holder holds the identifier under."""
    kind: str
    display: str
    owner_id: str
    claimant_id: str


def claims_of(profile: CustomerProfile, keys: Keyring | Hasher) -> list[Claim]:
    """The profile's identifiers as claims, sorted by key so that concurrent profile
    writers lock index rows in one order (no deadlock)."""
    keyring = keys if isinstance(keys, Keyring) else Keyring(keys)
    claims: dict[str, Claim] = {}
    for kind in IDENTIFIER_KINDS:
        for value in getattr(profile.identifiers, kind):
            current, *retired = keyring.lookup_keys(kind, value)
            claims[current] = Claim(current, kind, display_form(kind, value), tuple(retired))
    return sorted(claims.values(), key=lambda claim: claim.lookup_key)


def stored_profile(profile: CustomerProfile, claims: Sequence[Claim], hasher: Hasher | None = None) -> str:
    """The profile as PostgreSQL keeps it: identifiers by their display forms only; a
    company's organisation code masked, with its keyed hash beside it
    (``organisation_code_hash``, which the profile model ignores when read back)."""
    shown: dict[str, list[str]] = {kind: [] for kind in IDENTIFIER_KINDS}
    for claim in claims:
        shown[claim.kind].append(claim.display)
    document = profile.model_dump(mode="json", exclude={"identifiers"})
    document["identifiers"] = shown
    corporate = document.get("corporate")
    code = corporate.get("organisation_code") if corporate else None
    if corporate and code:
        if hasher is None:
            raise ValueError("storing an organisation code needs the PII key")
        protected = hasher.protect("organisation_code", code)
        corporate["organisation_code"], corporate["organisation_code_hash"] = (
            protected["masked"],
            protected["hash"],
        )
    return json.dumps(document)


async def record_profile(
    connection: asyncpg.Connection, profile: CustomerProfile, keyring: Keyring
) -> list[Conflict] | None:
    """Store a profile and its claims in one transaction; None when a newer one is stored.

    Returns the conflicts this profile's claims ran into.
    """
    me = profile.customer_id
    claims = claims_of(profile, keyring)
    every_key = [key for claim in claims for key in claim.every_key]
    async with connection.transaction():
        stored_at = await connection.fetchval(
            "SELECT updated_at FROM customer_profiles WHERE customer_id = $1 FOR UPDATE", me
        )
        if stored_at is not None and stored_at > profile.updated_at:
            return None
        document = stored_profile(profile, claims, keyring.current)
        await connection.execute(
            _UPSERT_PROFILE, me, profile.merged_into, document, profile.updated_at, profile.group_id
        )
        # Identifiers the customer no longer lists are released, to whoever claimed them next.
        released = await connection.fetch(_RELEASE, me, every_key)
        await connection.execute(
            "DELETE FROM identifier_conflicts WHERE claimant_id = $1 AND NOT (lookup_key = ANY($2::text[]))",
            me,
            every_key,
        )
        await _hand_over(connection, [row["lookup_key"] for row in released])
        holders = await _holders(connection, every_key)
        free = [claim for claim in claims if not any(k in holders for k in claim.every_key)]
        mine = [
            c
            for c in claims
            if any(holders.get(k) == me for k in c.every_key) and c.lookup_key not in holders
        ]
        inserted = await _claim(connection, me, [*free, *mine], profile.updated_at)
        # A profile written at the same moment may have claimed one first: ask again.
        lost = [claim.lookup_key for claim in (*free, *mine) if claim.lookup_key not in inserted]
        if lost:
            holders.update(await _holders(connection, lost))
        taken = [claim for claim in claims if claim.lookup_key not in inserted]
        conflicts = await _real_conflicts(connection, me, taken, holders)
        await _report(connection, conflicts, profile.updated_at)
    return conflicts


_UPSERT_PROFILE = """
INSERT INTO customer_profiles (customer_id, merged_into, profile, updated_at, group_id)
VALUES ($1, $2, $3::jsonb, $4, $5)
ON CONFLICT (customer_id) DO UPDATE
SET merged_into = EXCLUDED.merged_into, profile = EXCLUDED.profile,
    updated_at = EXCLUDED.updated_at, group_id = EXCLUDED.group_id, recorded_at = now()
"""

_RELEASE = """
DELETE FROM customer_identifiers WHERE customer_id = $1 AND NOT (lookup_key = ANY($2::text[]))
RETURNING lookup_key
"""


async def _holders(connection: asyncpg.Connection, keys: Sequence[str]) -> dict[str, str]:
    rows = await connection.fetch(
        "SELECT lookup_key, customer_id FROM customer_identifiers WHERE lookup_key = ANY($1::text[])",
        list(keys),
    )
    return {row["lookup_key"]: row["customer_id"] for row in rows}


async def _claim(connection: asyncpg.Connection, me: str, claims: Sequence[Claim], at: datetime) -> set[str]:
    """Claim what nobody holds; return the keys this call inserted."""
    rows = await connection.fetch(
        """
        INSERT INTO customer_identifiers (lookup_key, kind, display, customer_id, claimed_at)
        SELECT key, kind, display, $4, $5
        FROM unnest($1::text[], $2::text[], $3::text[]) AS c(key, kind, display)
        ON CONFLICT (lookup_key) DO NOTHING
        RETURNING lookup_key
        """,
        [claim.lookup_key for claim in claims],
        [claim.kind for claim in claims],
        [claim.display for claim in claims],
        me,
        at,
    )
    return {row["lookup_key"] for row in rows}


async def _hand_over(connection: asyncpg.Connection, released: Sequence[str]) -> None:
    """A released identifier goes to the earliest customer whose claim on it was refused."""
    if not released:
        return
    heirs = await connection.fetch(
        """
        DELETE FROM identifier_conflicts c
        USING (SELECT DISTINCT ON (lookup_key) lookup_key, claimant_id FROM identifier_conflicts
               WHERE lookup_key = ANY($1::text[]) ORDER BY lookup_key, first_seen, claimant_id) AS heir
        WHERE c.lookup_key = heir.lookup_key AND c.claimant_id = heir.claimant_id
        RETURNING c.lookup_key, c.kind, c.display, c.claimant_id, c.last_seen
        """,
        list(released),
    )
    for heir in heirs:
        await connection.execute(
            "INSERT INTO customer_identifiers (lookup_key, kind, display, customer_id, claimed_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (lookup_key) DO NOTHING",
            heir["lookup_key"],
            heir["kind"],
            heir["display"],
            heir["claimant_id"],
            heir["last_seen"],
        )
        # The claims still refused are now refused by the heir.
        await connection.execute(
            "UPDATE identifier_conflicts SET owner_id = $2 WHERE lookup_key = $1",
            heir["lookup_key"],
            heir["claimant_id"],
        )


async def _real_conflicts(
    connection: asyncpg.Connection, claimant: str, taken: Sequence[Claim], holders: dict[str, str]
) -> list[Conflict]:
    if not taken:
        return []
    merges = await merged_into_map(connection)
    claimant_survivor = survivor(claimant, merges.get)
    conflicts = []
    for claim in taken:
        for key in claim.every_key:
            owner = holders.get(key)
            if owner is None or owner == claimant:
                continue
            if survivor(owner, merges.get) == claimant_survivor:
                # One person after a merge: a conflict reported earlier is no longer one.
                await connection.execute(
                    "DELETE FROM identifier_conflicts WHERE lookup_key = $1 AND claimant_id = $2",
                    key,
                    claimant,
                )
                continue
            conflicts.append(Conflict(key, claim.kind, claim.display, owner, claimant))
            break
    return conflicts


async def _report(connection: asyncpg.Connection, conflicts: Sequence[Conflict], at: datetime) -> None:
    for conflict in conflicts:
        await connection.execute(
            """
            INSERT INTO identifier_conflicts
                (lookup_key, kind, display, owner_id, claimant_id, first_seen, last_seen)
            VALUES ($1, $2, $3, $4, $5, $6, $6)
            ON CONFLICT (lookup_key, claimant_id)
            DO UPDATE SET owner_id = EXCLUDED.owner_id, last_seen = EXCLUDED.last_seen
            """,
            conflict.lookup_key,
            conflict.kind,
            conflict.display,
            conflict.owner_id,
            conflict.claimant_id,
            at,
        )


async def merged_into_map(connection: asyncpg.Connection | asyncpg.Pool) -> dict[str, str]:
    rows = await connection.fetch(
        "SELECT customer_id, merged_into FROM customer_profiles WHERE merged_into IS NOT NULL"
    )
    return {row["customer_id"]: row["merged_into"] for row in rows}


async def owners_of(connection: asyncpg.Connection | asyncpg.Pool, keys: Sequence[str]) -> dict[str, str]:
    """lookup key -> customer id, for the keys some customer holds."""
    if not keys:
        return {}
    rows = await connection.fetch(
        "SELECT lookup_key, customer_id FROM customer_identifiers WHERE lookup_key = ANY($1::text[])",
        list(keys),
    )
    return {row["lookup_key"]: row["customer_id"] for row in rows}
