"""The statements of one batch, in one transaction: events, decisions, checks, outbox.

Each write is one statement for the whole batch. Inserting what is already stored does
nothing, so a replayed batch writes nothing twice; the ids that were new come back,
which is how the recorder tells a first delivery from a replay.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

import asyncpg

from hub import metrics
from hub.core.decide import Decided
from hub.core.drafts import Cancellation, ScheduledCheck
from hub.core.groups import PitchKey
from hub.core.pii import Hasher, protected_identifiers
from hub.core.records import OutboxEntry, ReceivedEvent, party_key
from hub.core.state import Sent
from hub.errors import StoreConflict
from hub.storage.errors import converted
from schemas.trigger import RuleRef, Trigger


class UnitOfWork:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def add_interactions(self, received: Sequence[ReceivedEvent], hasher: Hasher) -> set[str]:
        """Store the events not stored before; return the record keys
        (:attr:`ReceivedEvent.record_key`) of the copies that were new.

        An event done for a company is stored once, by whichever of its two copies comes
        first; each copy is new when its customer's row in ``interaction_parties`` is."""
        if not received:
            return set()
        columns: list[list[Any]] = [[] for _ in range(13)]
        for item in received:
            event = item.event
            values = (
                event.event_id,
                event.customer.customer_id,
                event.channel,
                event.type,
                event.occurred_at,
                item.received_at,
                event.source.model_dump_json(exclude_none=True),
                event.payload.model_dump_json(),
                json.dumps(protected_identifiers(event.customer, hasher)),
                item.topic,
                item.partition,
                item.offset,
                event.on_behalf_of,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        with (
            metrics.labelled(metrics.DB_WRITE_SECONDS, "interactions").time(),
            converted("storing interactions"),
        ):
            rows = await self._connection.fetch(_INSERT_INTERACTIONS, *columns)
            new = {row["event_id"] for row in rows}
            parties = [item for item in received if item.side != "own"]
            if parties:
                new -= {item.event.event_id for item in parties}
                new |= await self._add_parties(parties)
        metrics.labelled(metrics.DB_BATCH_SIZE, "interactions").observe(len(received))
        return new

    async def _add_parties(self, parties: Sequence[ReceivedEvent]) -> set[str]:
        rows = await self._connection.fetch(
            _INSERT_PARTIES,
            [item.event.event_id for item in parties],
            [item.subject_id for item in parties],
            [item.side for item in parties],
            [item.event.occurred_at for item in parties],
        )
        return {party_key(row["event_id"], row["party"]) for row in rows}

    async def group_pitches(self, group_ids: Sequence[str], since: date) -> dict[PitchKey, str]:
        """The group-level cap's claims of these groups from the week of ``since`` on."""
        if not group_ids:
            return {}
        with converted("reading the group-level cap"):
            rows = await self._connection.fetch(_SELECT_PITCHES, list(group_ids), since)
        return {(r["group_id"], r["product"], r["week"]): r["trigger_id"] for r in rows}

    async def claim_pitches(self, claims: Sequence[tuple[PitchKey, str, str]]) -> None:
        """Write the batch's claims; :class:`StoreConflict` when another transaction
        claimed one of them first for another trigger (the batch is then decided again)."""
        if not claims:
            return
        columns = (
            [key[0] for key, _, _ in claims],
            [key[1] for key, _, _ in claims],
            [key[2] for key, _, _ in claims],
            [trigger for _, trigger, _ in claims],
            [customer for _, _, customer in claims],
        )
        with converted("claiming under the group-level cap"):
            await self._connection.execute(_INSERT_PITCHES, *columns)
            rows = await self._connection.fetch(_SELECT_CLAIMED, *columns[:4])
        if rows:
            taken = rows[0]
            raise StoreConflict(
                f"another worker pitched {taken['product']} to group {taken['group_id']} first; decide again"
            )

    async def unpublished_triggers(self, shards: Sequence[int]) -> list[OutboxEntry]:
        """Triggers an earlier owner of these shards recorded but did not get to publish."""
        with converted("reading the trigger outbox"):
            rows = await self._connection.fetch(_SELECT_UNPUBLISHED, list(shards))
        return [
            OutboxEntry(
                Trigger.model_validate_json(r["body"]),
                r["topic"],
                r["caused_by"],
                r["shard"],
                recorded_at=r["recorded_at"],
            )
            for r in rows
        ]

    async def declined_offers(self, customer_ids: Sequence[str]) -> dict[str, dict[str, datetime]]:
        if not customer_ids:
            return {}
        with converted("reading declined offers"):
            rows = await self._connection.fetch(_SELECT_DECLINED, list(customer_ids))
        declined: dict[str, dict[str, datetime]] = {}
        for row in rows:
            declined.setdefault(row["customer_id"], {})[row["product"]] = row["until"]
        return declined

    async def counted_decisions(self, customer_ids: Sequence[str], since: datetime) -> list[tuple[str, Sent]]:
        """(customer, what counted against the policy) since ``since``, from the decision log."""
        if not customer_ids:
            return []
        with converted("reading the decision log"):
            rows = await self._connection.fetch(_SELECT_COUNTED, list(customer_ids), since)
        return [
            (
                r["customer_id"],
                Sent(
                    at=r["decided_at"],
                    rule_id=r["rule_id"],
                    kind=r["kind"],
                    product=r["product"],
                    cap_key=r["cap_key"],
                ),
            )
            for r in rows
        ]

    async def schedule(self, checks: Sequence[tuple[ScheduledCheck, int]]) -> None:
        if not checks:
            return
        records = [
            (
                c.check_id,
                c.customer_id,
                c.rule.id,
                c.rule.version,
                c.due_at,
                shard,
                c.correlation,
                list(c.evidence),
                json.dumps(c.context),
            )
            for c, shard in checks
        ]
        with converted("scheduling checks"):
            await self._connection.executemany(_INSERT_CHECK, records)

    async def cancel(self, cancellations: Sequence[Cancellation]) -> None:
        if not cancellations:
            return
        records = [(c.customer_id, c.rule_id, c.correlation, c.at) for c in cancellations]
        with converted("cancelling checks"):
            await self._connection.executemany(_CANCEL_CHECKS, records)

    async def due_checks(self, watermarks: Mapping[int, datetime]) -> list[tuple[ScheduledCheck, int]]:
        """Pending checks of these shards due by their watermark, locked until the batch
        settles them (:meth:`settle`, :meth:`cancel`)."""
        if not watermarks:
            return []
        shards, times = list(watermarks), [watermarks[s] for s in watermarks]
        with converted("reading due checks"):
            rows = await self._connection.fetch(_FIRE_DUE, shards, times)
        return [
            (
                ScheduledCheck(
                    check_id=r["check_id"],
                    customer_id=r["customer_id"],
                    rule=RuleRef(id=r["rule_id"], version=r["rule_version"]),
                    due_at=r["due_at"],
                    correlation=r["correlation"],
                    evidence=tuple(r["evidence"]),
                    context=json.loads(r["context"]),
                ),
                r["shard"],
            )
            for r in sorted(rows, key=lambda r: (r["due_at"], r["check_id"]))
        ]

    async def settle(self, check_ids: Sequence[str], status: Literal["fired", "cancelled"]) -> None:
        """Mark pending checks fired or cancelled by the batch's fold."""
        if check_ids:
            with converted("settling checks"):
                await self._connection.execute(_SETTLE, list(check_ids), status)

    async def add_decisions(self, decided: Sequence[Decided]) -> None:
        if not decided:
            return
        records = [
            (
                d.decision_id,
                d.customer_id,
                d.verdict.draft.rule.id,
                d.verdict.draft.rule.version,
                d.verdict.draft.kind,
                d.verdict.draft.product,
                d.tier,
                d.verdict.outcome,
                d.verdict.policy,
                d.verdict.detail,
                d.verdict.draft.reason,
                list(d.verdict.draft.evidence),
                d.verdict.channel,
                d.verdict.not_before,
                d.verdict.draft.at,
                d.verdict.draft.cap_key,
            )
            for d in decided
        ]
        with metrics.labelled(metrics.DB_WRITE_SECONDS, "decisions").time(), converted("storing decisions"):
            await self._connection.executemany(_INSERT_DECISION, records)

    async def add_triggers(self, entries: Sequence[OutboxEntry]) -> None:
        if not entries:
            return
        records = [
            (
                e.trigger.trigger_id,
                e.trigger.customer_id,
                e.trigger.kind,
                e.trigger.rule.id,
                e.trigger.rule.version,
                e.caused_by,
                e.topic,
                e.trigger.model_dump_json(),
                e.trigger.created_at,
                e.shard,
            )
            for e in entries
        ]
        with metrics.labelled(metrics.DB_WRITE_SECONDS, "triggers").time(), converted("storing triggers"):
            await self._connection.executemany(_INSERT_TRIGGER, records)
        metrics.labelled(metrics.DB_BATCH_SIZE, "triggers").observe(len(entries))

    async def load_states(self, customer_ids: Sequence[str]) -> dict[str, bytes]:
        """The stored hot state of these customers (those with none are left out)."""
        with converted("reading customer states"):
            rows = await self._connection.fetch(_SELECT_STATES, list(customer_ids))
        return {row["customer_id"]: row["state"] for row in rows}

    async def save_states(self, states: Sequence[tuple[str, int, bytes]]) -> None:
        """(customer_id, shard, encoded state) of every customer the batch changed."""
        if not states:
            return
        customers, shards, encoded = (list(column) for column in zip(*states, strict=True))
        with (
            metrics.labelled(metrics.DB_WRITE_SECONDS, "states").time(),
            converted("storing customer states"),
        ):
            await self._connection.execute(_UPSERT_STATES, customers, shards, encoded)

    async def record_acquisitions(self, acquisitions: Sequence[tuple[str, str, datetime, str]]) -> None:
        """(customer_id, product, at, source): the first time a customer is seen to hold a product."""
        if acquisitions:
            with converted("recording products held"):
                await self._connection.executemany(_INSERT_ACQUISITION, list(acquisitions))


_INSERT_INTERACTIONS = """
INSERT INTO interactions (event_id, customer_id, channel, type, occurred_at, received_at,
                          source, payload, identifiers, kafka_topic, kafka_partition, kafka_offset,
                          on_behalf_of)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                     $6::timestamptz[], $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::text[],
                     $11::integer[], $12::bigint[], $13::text[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

# The company's copy returns its company as the party; the acting one's copy returns none.
# Only for an event first stored as done for a company: an event_id seen before as a
# plain event (version 1) is a duplicate, whatever a later copy adds.
_INSERT_PARTIES = """
INSERT INTO interaction_parties (event_id, customer_id, role, occurred_at)
SELECT p.event_id, p.customer_id, p.role, p.occurred_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
     AS p(event_id, customer_id, role, occurred_at)
JOIN interactions i ON i.event_id = p.event_id AND i.on_behalf_of IS NOT NULL
ON CONFLICT (event_id, customer_id) DO NOTHING
RETURNING event_id, CASE WHEN role = 'represented' THEN customer_id END AS party
"""

_SELECT_PITCHES = """
SELECT group_id, product, week, trigger_id FROM group_pitches
WHERE group_id = ANY ($1::text[]) AND week >= $2::date
"""

_INSERT_PITCHES = """
INSERT INTO group_pitches (group_id, product, week, trigger_id, customer_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::text[])
ON CONFLICT (group_id, product, week) DO NOTHING
"""

# Of the batch's claims, those another trigger holds (inserted by a transaction that
# committed while this one waited on the key).
_SELECT_CLAIMED = """
SELECT p.group_id, p.product FROM group_pitches p
JOIN unnest($1::text[], $2::text[], $3::date[], $4::text[]) AS c(group_id, product, week, trigger_id)
  ON p.group_id = c.group_id AND p.product = c.product AND p.week = c.week
WHERE p.trigger_id <> c.trigger_id
"""

_SELECT_UNPUBLISHED = """
SELECT body::text AS body, topic, caused_by, shard, recorded_at FROM triggers
WHERE published_at IS NULL AND shard = ANY($1::integer[]) AND recorded_at < now()
ORDER BY created_at, trigger_id
"""

_SELECT_DECLINED = """
SELECT customer_id, product, until FROM declined_offers WHERE customer_id = ANY($1::text[])
"""

_SELECT_COUNTED = """
SELECT customer_id, rule_id, kind, product, cap_key, decided_at FROM decisions
WHERE customer_id = ANY($1::text[]) AND outcome <> 'suppressed' AND decided_at > $2
"""

_INSERT_CHECK = """
INSERT INTO scheduled_checks (check_id, customer_id, rule_id, rule_version, due_at, shard, correlation,
                              evidence, context)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
ON CONFLICT (check_id) DO NOTHING
"""

# A follow-up answers a check only if it happened before the check was due.
_CANCEL_CHECKS = """
UPDATE scheduled_checks SET status = 'cancelled', settled_at = now()
WHERE customer_id = $1 AND rule_id = $2 AND status = 'pending'
  AND ($3::text IS NULL OR correlation = $3) AND due_at >= $4
"""

# Per shard, so that each one uses the (shard, due_at) index of pending checks: a join
# on the unnested watermarks was planned as a scan of every pending check (9.7 ms with
# 22,000 of them, against 0.2 ms).
_FIRE_DUE = """
SELECT c.check_id, c.shard, c.customer_id, c.rule_id, c.rule_version, c.due_at, c.correlation, c.evidence,
       c.context::text AS context
FROM unnest($1::integer[], $2::timestamptz[]) AS w(shard, at)
CROSS JOIN LATERAL (
  SELECT * FROM scheduled_checks AS s
  WHERE s.shard = w.shard AND s.due_at <= w.at AND s.status = 'pending'
  FOR UPDATE
) AS c
"""

_SETTLE = """
UPDATE scheduled_checks SET status = $2, settled_at = now()
WHERE check_id = ANY($1::text[]) AND status = 'pending'
"""

_INSERT_DECISION = """
INSERT INTO decisions (decision_id, customer_id, rule_id, rule_version, kind, product, tier, outcome, policy,
                       detail, reason, evidence, channel, not_before, decided_at, cap_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (decision_id) DO NOTHING
"""

_INSERT_TRIGGER = """
INSERT INTO triggers (trigger_id, customer_id, kind, rule_id, rule_version, caused_by, topic, body,
                      created_at, shard)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
ON CONFLICT (trigger_id) DO NOTHING
"""

_SELECT_STATES = """
SELECT customer_id, state FROM customer_state WHERE customer_id = ANY($1::text[])
"""

_UPSERT_STATES = """
INSERT INTO customer_state (customer_id, shard, state)
SELECT * FROM unnest($1::text[], $2::integer[], $3::bytea[])
ON CONFLICT (customer_id) DO UPDATE SET shard = EXCLUDED.shard, state = EXCLUDED.state, updated_at = now()
"""

_INSERT_ACQUISITION = """
INSERT INTO customer_products (customer_id, product, acquired_at, source) VALUES ($1, $2, $3, $4)
ON CONFLICT (customer_id, product) DO NOTHING
"""
