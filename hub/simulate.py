"""Realistic synthetic traffic for the four channels and the customer profiles.

Deterministic for a seed: the same seed gives the same customers and events. About 2% of
the records are bad (each rejection kind of the contract) and 2% are duplicates, so a
run exercises the dead-letter topic and deduplication as well as the rules. With
``groups``, a few corporate groups, their companies and the people who act for them
(:mod:`hub.simulated_groups`) take about a tenth of the traffic.
"""

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hub.simulated_groups import SimulatedGroups
from schemas import topics

FOREIGN = ("USD", "EUR", "GBP", "HKD", "JPY")
TOPICS_ = ("travel", "study_abroad", "mortgage", "card_fees", "wealth", "other")
PRODUCTS = ("credit_card", "personal_loan", "wealth_account", "insurance", "fund")
IDENTIFIER_FORMATS = {
    "account_no": "6222{n:012d}",
    "card_no": "4000{n:012d}",
    "phone": "+86138{n:08d}",
    "web_user": "user{n}",
}
# Per channel: the identifier it knows customers by, and the share of its events that
# carry only that identifier.
IDENTIFIED_BY = {
    "teller": ("account_no", 0.15),
    "phone": ("phone", 0.5),
    "web": ("web_user", 0.15),
    "branch": ("card_no", 0.3),
}
CORPORATE_SHARE = 0.1
"""With groups: the share of events done by or for a company."""


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes


class TrafficGenerator:
    def __init__(
        self,
        customers: int,
        *,
        seed: int = 7,
        start: datetime,
        bad_share: float = 0.02,
        duplicate_share: float = 0.02,
        by_customer_id: bool = False,
        groups: int = 0,
    ) -> None:
        """``by_customer_id``: every event names its customer by id, with no identifier to
        resolve (as the stored history a backtest reads has them). ``groups``: corporate
        groups with member companies and representatives (none: the traffic of before)."""
        self._random = random.Random(seed)
        self._by_customer_id = by_customer_id
        self._ids = [f"C{n:06d}" for n in range(1, customers + 1)]
        self._start = start
        self._bad_share = bad_share
        self._duplicate_share = duplicate_share
        self._profiles = {cid: self._profile(cid) for cid in self._ids}
        self.groups = SimulatedGroups(self._random, groups, self._ids, start) if groups else None

    def profiles(self) -> Iterator[Record]:
        for cid, profile in self._profiles.items():
            yield Record(topics.CUSTOMERS_PROFILE, cid.encode(), json.dumps(profile).encode())
        for company in self.groups.profiles() if self.groups is not None else ():
            key = company["customer_id"].encode()
            yield Record(topics.CUSTOMERS_PROFILE, key, json.dumps(company).encode())

    def events(self, count: int) -> Iterator[Record]:
        previous: Record | None = None
        for n in range(count):
            occurred = self._start + timedelta(seconds=n * 3)
            roll = self._random.random()
            if roll < self._duplicate_share:
                if previous is not None:
                    yield previous
                    continue
            elif roll < self._duplicate_share + self._bad_share:
                yield self._bad(occurred)
                continue
            previous = self._event(occurred)
            yield previous

    # --- profiles ---------------------------------------------------------------------

    def _profile(self, cid: str) -> dict[str, Any]:
        r = self._random
        aum = r.choice((0, 8_000, 30_000, 120_000, 900_000, 7_500_000))
        n = int(cid[1:])
        return {
            "customer_id": cid,
            "birth_date": f"{r.randint(1950, 2004)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            "time_zone": "Asia/Shanghai",
            "segment": "private" if aum >= 6_000_000 else "retail",
            "assets_under_management": {"amount": f"{aum}.00", "currency": "CNY"} if aum else None,
            "products": r.sample(("savings", "debit_card", "fx_account", "credit_card"), k=r.randint(1, 3)),
            "rm_id": f"RM-{r.randint(1, 40):03d}" if aum >= 900_000 and r.random() < 0.8 else None,
            "consents": {
                "marketing": r.random() < 0.85,
                "phone": r.random() < 0.8,
                "sms": True,
                "email": r.random() < 0.5,
            },
            "identifiers": {kind: [pattern.format(n=n)] for kind, pattern in IDENTIFIER_FORMATS.items()},
            "updated_at": (self._start - timedelta(days=1)).isoformat(),
        }

    # --- events -----------------------------------------------------------------------

    def _event(self, occurred: datetime) -> Record:
        r = self._random
        channel: str
        on_behalf_of: str | None = None
        if self.groups is not None and r.random() < CORPORATE_SHARE:
            channel, kind, payload, cid, on_behalf_of = self.groups.event(occurred)
        else:
            cid = r.choice(self._ids)
            channel, kind, payload = r.choices(
                [self._teller, self._phone, self._web, self._branch], weights=(35, 20, 35, 10)
            )[0]()
        envelope: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=r.getrandbits(128))),
            "schema_version": 1,
            "channel": channel,
            "type": kind,
            "occurred_at": occurred.isoformat(),
            "customer": {
                "customer_id": cid,
                "account_no": None,
                "card_no": None,
                "phone": None,
                "web_user": None,
            },
            "source": {
                "system": f"core-{channel}",
                "branch_id": f"BR-{r.randint(1, 30):03d}",
                "staff_id": f"T-{r.randint(1, 99)}",
            },
            "payload": payload,
        }
        if on_behalf_of is not None:
            envelope.update(schema_version=2, on_behalf_of=on_behalf_of)
        key = cid
        known_by = self._known_by(channel, int(cid[1:])) if cid[0] == "C" else None
        if known_by is not None:
            # The channel knows the customer only by what it holds; the hub resolves it.
            kind, key = known_by
            envelope["customer"] = {"customer_id": None, kind: key}
        return Record(topics.CHANNEL_TOPICS[channel], key.encode(), json.dumps(envelope).encode())

    def _known_by(self, channel: str, n: int) -> tuple[str, str] | None:
        """Some events name no customer_id: a call by the caller's number, a kiosk visit by
        card, a counter transaction by account, a web session by login."""
        if self._by_customer_id:
            return None
        kind, share = IDENTIFIED_BY[channel]
        if self._random.random() >= share:
            return None
        return kind, IDENTIFIER_FORMATS[kind].format(n=n)

    def _money(self, low: int, high: int) -> str:
        return f"{Decimal(self._random.randint(low * 100, high * 100)) / 100:.2f}"

    def _teller(self) -> tuple[str, str, dict[str, Any]]:
        r = self._random
        kind = r.choices(
            ("deposit", "withdrawal", "fx_exchange", "time_deposit_opened", "inquiry"),
            weights=(40, 25, 15, 10, 10),
        )[0]
        if kind in ("deposit", "withdrawal"):
            large = kind == "deposit" and r.random() < 0.15
            currency = r.choice(FOREIGN) if large or r.random() < 0.2 else "CNY"
            amount = self._money(60_000, 400_000) if large else self._money(100, 20_000)
            return (
                "teller",
                kind,
                {
                    "amount": amount,
                    "currency": currency,
                    "account_type": "fx" if currency != "CNY" else r.choice(("current", "savings")),
                },
            )
        if kind == "fx_exchange":
            return (
                "teller",
                kind,
                {
                    "sell_amount": self._money(500, 90_000),
                    "sell_currency": r.choice(FOREIGN),
                    "buy_currency": "CNY",
                    "purpose": r.choice(("travel", "study_abroad", "trade", "investment", "other")),
                },
            )
        if kind == "time_deposit_opened":
            term = r.choice((3, 6, 12, 24))
            maturity = (self._start + timedelta(days=30 * term)).date().isoformat()
            return (
                "teller",
                kind,
                {
                    "amount": self._money(10_000, 500_000),
                    "currency": "CNY",
                    "term_months": term,
                    "maturity_date": maturity,
                },
            )
        return "teller", "inquiry", {"topic": r.choice(TOPICS_)}

    def _phone(self) -> tuple[str, str, dict[str, Any]]:
        r = self._random
        kind = r.choices(("call", "complaint", "complaint_resolved"), weights=(75, 15, 10))[0]
        if kind == "call":
            return (
                "phone",
                kind,
                {
                    "direction": r.choice(("inbound", "outbound")),
                    "reason": r.choice(TOPICS_),
                    "duration_s": r.randint(20, 1200),
                    "resolved": r.random() < 0.7,
                },
            )
        complaint_id = f"CMP-{r.randint(1, 5000):05d}"
        if kind == "complaint":
            return (
                "phone",
                kind,
                {
                    "complaint_id": complaint_id,
                    "category": r.choice(("card_fees", "lost_payment", "service", "app")),
                    "severity": r.choices(("low", "medium", "high"), weights=(50, 35, 15))[0],
                },
            )
        return "phone", kind, {"complaint_id": complaint_id}

    def _web(self) -> tuple[str, str, dict[str, Any]]:
        r = self._random
        kind = r.choices(
            ("login", "page_view", "application_started", "application_submitted"), weights=(45, 40, 10, 5)
        )[0]
        if kind == "login":
            return "web", kind, {"success": r.random() < 0.85}
        if kind == "page_view":
            return (
                "web",
                kind,
                {"page": r.choice(("/cards", "/fx", "/wealth", "/loans")), "product": r.choice(PRODUCTS)},
            )
        return "web", kind, {"application_id": f"APP-{r.randint(1, 9999):04d}", "product": r.choice(PRODUCTS)}

    def _branch(self) -> tuple[str, str, dict[str, Any]]:
        r = self._random
        kind = r.choices(("visit", "rm_meeting", "inquiry"), weights=(60, 15, 25))[0]
        if kind == "visit":
            return (
                "branch",
                kind,
                {
                    "purpose": r.choice(("cash", "account", "advice")),
                    "wait_minutes": r.choice((2, 5, 10, 15, 35)),
                },
            )
        if kind == "rm_meeting":
            return "branch", kind, {"rm_id": f"RM-{r.randint(1, 40):03d}", "topic": r.choice(TOPICS_)}
        return "branch", "inquiry", {"topic": r.choice(TOPICS_)}

    def _bad(self, occurred: datetime) -> Record:
        record = self._event(occurred)
        good = json.loads(record.value)
        topic, key = record.topic, record.key
        flaw = self._random.choice(("json", "missing", "channel", "type", "mismatch", "future"))
        if flaw == "json":
            return Record(topic, key, b'{"event_id": "broken", "channel": ')
        if flaw == "missing":
            del good["occurred_at"]
        elif flaw == "channel":
            good["channel"] = "fax"
        elif flaw == "type":
            good["type"] = "teleport"
        elif flaw == "mismatch":
            topic = topics.INTERACTIONS_WEB if good["channel"] != "web" else topics.INTERACTIONS_TELLER
        else:
            good["occurred_at"] = (occurred + timedelta(days=3)).isoformat()
        return Record(topic, key, json.dumps(good).encode())
