"""In-memory stand-ins for CustomerReads and the audit: the HTTP layer tested without PostgreSQL."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hub.settings import Settings
from hub.storage.audit import AuditEntry, AuditQuery, CustomerRead
from hub.storage.customer_reads import (
    CustomerIds,
    DecisionRecord,
    GroupMember,
    InteractionRecord,
    OpenComplaint,
    Position,
    Representative,
    StoredProfile,
)
from tests.factories import NOW

READER = "reader-token-0123456789"
AUDITOR = "auditor-token-0123456789"
LEDGER = "ledger-token-0123456789"
INSPECTOR = "inspector-token-0123456789"
PII_KEY = "unit-test-pii-key-of-length"


def settings() -> Settings:
    return Settings(
        pii_key=PII_KEY,
        api={
            "tokens": [
                {"name": "desk", "token": READER, "scopes": ["customers:read"]},
                {"name": "audit", "token": AUDITOR, "scopes": ["customers:read", "decisions:read"]},
                {"name": "ledger", "token": LEDGER, "scopes": ["decisions:read"]},
                {"name": "inspector", "token": INSPECTOR, "scopes": ["audit:read"]},
            ]
        },
    )


def interaction(n: int, customer_id: str = "C1", channel: str = "teller") -> InteractionRecord:
    at = NOW - timedelta(minutes=n)
    return InteractionRecord(
        event_id=f"e{n:03d}",
        customer_id=customer_id,
        channel=channel,
        type="deposit",
        occurred_at=at,
        received_at=at,
        source={"system": "teller-core"},
        payload={"amount": "12500.00", "currency": "USD", "account_type": "savings"},
        identifiers={
            "card_no": {"hash": "k1:deadbeef", "masked": "************7890"},
            "account_no": "6222000011112222",
            "web_user": "li.wei",
        },
    )


def decision(n: int) -> DecisionRecord:
    return DecisionRecord(
        decision_id=f"d{n:03d}",
        customer_id="C1",
        rule_id="fx_active_up_sell",
        rule_version=1,
        kind="up_sell",
        product="structured_fx_deposit",
        tier="mass",
        outcome="published",
        policy=None,
        detail="sent",
        reason="three exchanges in 30 days",
        evidence=["e001"],
        channel="phone",
        not_before=None,
        decided_at=NOW - timedelta(hours=n),
        trigger_id=f"d{n:03d}",
        published_at=NOW,
        outcomes=[],
    )


@dataclass
class FakeReads:
    """Customer C1 with 45 teller events and 3 decisions; C9 was merged into C1."""

    ready: bool = True
    events: list[InteractionRecord] = field(default_factory=lambda: [interaction(n) for n in range(45)])
    logged: list[DecisionRecord] = field(default_factory=lambda: [decision(n) for n in range(3)])
    history_calls: list[dict[str, object]] = field(default_factory=list)
    failure: Exception | None = None
    """Raised by every read when set: a store outage, a bug."""
    profiles: dict[str, StoredProfile] = field(default_factory=dict)
    """Further customers with a profile (the group view's companies)."""
    members: dict[str, list[GroupMember]] = field(default_factory=dict)
    """Group id -> its member companies."""

    async def is_ready(self) -> bool:
        return self.ready

    async def customer_ids(self, customer_id: str) -> CustomerIds | None:
        if self.failure is not None:
            raise self.failure
        if customer_id in ("C1", "C9"):
            return CustomerIds(customer_id, "C1", ("C1", "C9"))
        if customer_id in self.profiles:
            return CustomerIds(customer_id, customer_id, (customer_id,))
        return None

    async def customer_by_lookup_keys(self, lookup_keys: Sequence[str]) -> str | None:
        return None

    async def profile(self, customer_id: str) -> StoredProfile | None:
        return self.profiles.get(customer_id)

    async def open_complaints(self, ids: Sequence[str]) -> list[OpenComplaint]:
        return []

    async def channel_counts(self, ids: Sequence[str]) -> dict[str, int]:
        return {"teller": len(self.events)}

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
        self.history_calls.append(
            {"ids": list(ids), "channels": list(channels), "since": since, "until": until, "after": after}
        )
        rows = [e for e in self.events if after is None or (e.occurred_at, e.event_id) < after]
        return rows[:limit]

    async def decisions(
        self, ids: Sequence[str], *, after: Position | None = None, limit: int
    ) -> list[DecisionRecord]:
        rows = [d for d in self.logged if after is None or (d.decided_at, d.decision_id) < after]
        return rows[:limit]

    async def group_members(self, group_id: str) -> list[GroupMember]:
        return self.members.get(group_id, [])

    async def representatives(self, ids: Sequence[str]) -> list[Representative]:
        return []

    async def recent_triggers(self, ids: Sequence[str], *, limit: int) -> list[DecisionRecord]:
        return self.logged[:limit]


@dataclass
class FakeAudit:
    """Keeps the reads recorded; fails every write when ``failure`` is set."""

    recorded: list[CustomerRead] = field(default_factory=list)
    failure: Exception | None = None
    queries: list[AuditQuery] = field(default_factory=list)

    async def record(self, read: CustomerRead) -> None:
        if self.failure is not None:
            raise self.failure
        self.recorded.append(read)

    async def reads(self, query: AuditQuery, *, after: Position | None, limit: int) -> list[AuditEntry]:
        self.queries.append(query)
        return [
            AuditEntry(
                id=n,
                read_at=NOW - timedelta(seconds=n),
                token_name=read.token_name,
                view=read.view,
                customer_id=read.customer_id,
                served_id=read.served_id,
                search_kind=read.search_kind,
                search_shown=read.search_shown,
                status=read.status,
                client=read.client,
            )
            for n, read in enumerate(reversed(self.recorded), start=1)
        ][:limit]
