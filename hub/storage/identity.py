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
from hub.core.pii import IDENTIFIER_KINDS, Hasher, display_form
from schemas.profile import CustomerProfile


@dataclass(frozen=True, slots=True)
class Claim:
    lookup_key: str
    kind: str
    display: str


@dataclass(frozen=True, slots=True)
class Conflict:
    lookup_key: str
    kind: str
    display: str
    owner_id: str
    claimant_id: str


def claims_of(profile: CustomerProfile, hasher: Hasher) -> list[Claim]:
    claims: dict[str, Claim] = {}
    for kind in IDENTIFIER_KINDS:
        for value in getattr(profile.identifiers, kind):
            key = hasher.digest(kind, value)
            claims[key] = Claim(key, kind, display_form(kind, value))
    return list(claims.values())


def stored_profile(profile: CustomerProfile, claims: Sequence[Claim]) -> str:
    """The profile as PostgreSQL keeps it: identifiers by their display forms only."""
    shown: dict[str, list[str]] = {kind: [] for kind in IDENTIFIER_KINDS}
    for claim in claims:
        shown[claim.kind].append(claim.display)
    document = profile.model_dump(mode="json", exclude={"identifiers"})
    document["identifiers"] = shown
    return json.dumps(document)


async def record_profile(
    connection: asyncpg.Connection, profile: CustomerProfile, hasher: Hasher
) -> list[Conflict] | None:
    """Store a profile and its claims in one transaction; None when a newer one is stored.

    Returns the conflicts this profile's claims ran into.
    """
    claims = claims_of(profile, hasher)
    async with connection.transaction():
        stored_at = await connection.fetchval(
            "SELECT updated_at FROM customer_profiles WHERE customer_id = $1 FOR UPDATE", profile.customer_id
        )
        if stored_at is not None and stored_at > profile.updated_at:
            return None
        await connection.execute(
            """
            INSERT INTO customer_profiles (customer_id, merged_into, profile, updated_at)
            VALUES ($1, $2, $3::jsonb, $4)
            ON CONFLICT (customer_id) DO UPDATE
            SET merged_into = EXCLUDED.merged_into, profile = EXCLUDED.profile,
                updated_at = EXCLUDED.updated_at, recorded_at = now()
            """,
            profile.customer_id,
            profile.merged_into,
            stored_profile(profile, claims),
            profile.updated_at,
        )
        keys = [claim.lookup_key for claim in claims]
        # Identifiers the customer no longer lists are released (also those hashed under
        # a retired key: the current key's claims replace them).
        await connection.execute(
            "DELETE FROM customer_identifiers WHERE customer_id = $1 AND NOT (lookup_key = ANY($2::text[]))",
            profile.customer_id,
            keys,
        )
        await connection.execute(
            """
            INSERT INTO customer_identifiers (lookup_key, kind, display, customer_id, claimed_at)
            SELECT key, kind, display, $4, $5
            FROM unnest($1::text[], $2::text[], $3::text[]) AS c(key, kind, display)
            ON CONFLICT (lookup_key) DO NOTHING
            """,
            keys,
            [claim.kind for claim in claims],
            [claim.display for claim in claims],
            profile.customer_id,
            profile.updated_at,
        )
        held = await connection.fetch(
            "SELECT lookup_key, customer_id FROM customer_identifiers "
            "WHERE lookup_key = ANY($1::text[]) AND customer_id <> $2",
            keys,
            profile.customer_id,
        )
        conflicts = await _real_conflicts(connection, profile.customer_id, held, claims)
        await _report(connection, conflicts, profile.updated_at)
    return conflicts


async def _real_conflicts(
    connection: asyncpg.Connection,
    claimant: str,
    held: Sequence[asyncpg.Record],
    claims: Sequence[Claim],
) -> list[Conflict]:
    if not held:
        return []
    merges = await merged_into_map(connection)
    claimant_survivor = survivor(claimant, merges.get)
    by_key = {claim.lookup_key: claim for claim in claims}
    conflicts = []
    for row in held:
        if survivor(row["customer_id"], merges.get) == claimant_survivor:
            continue
        claim = by_key[row["lookup_key"]]
        conflicts.append(Conflict(claim.lookup_key, claim.kind, claim.display, row["customer_id"], claimant))
    return conflicts


async def _report(connection: asyncpg.Connection, conflicts: Sequence[Conflict], at: datetime) -> None:
    for conflict in conflicts:
        await connection.execute(
            """
            INSERT INTO identifier_conflicts
                (lookup_key, kind, display, owner_id, claimant_id, first_seen, last_seen)
            VALUES ($1, $2, $3, $4, $5, $6, $6)
            ON CONFLICT (lookup_key, claimant_id) DO UPDATE SET last_seen = EXCLUDED.last_seen
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
