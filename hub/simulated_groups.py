"""Corporate groups for :mod:`hub.simulate`: companies, their groups, and the people who
act for them (treasurers, finance officers).

Each group is a corporate profile (``G001``) with two to four member companies
(``K00101``, …); the first group holds a subsidiary group of its own, so that groups
nest. Every company has one or two representatives drawn from the simulated people, and
about a tenth of the traffic is corporate: mostly a representative acting for a company
(interaction v2 ``on_behalf_of``: deposits, withdrawals now and then large for the
company, trade FX, time deposits, calls and complaints), sometimes the company's own
event. Deterministic for the generator's random source.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas.interaction import Channel

INDUSTRIES = ("manufacturing", "trade", "logistics", "energy", "retail", "construction")
FOREIGN = ("USD", "EUR", "HKD", "JPY")
# Deposits and loans in millions of CNY: a key account, a large company, a small one.
SIZES = ((60, 150), (8, 30), (1, 4))

Event = tuple[Channel, str, dict[str, Any], str, str | None]
"""(channel, type, payload, the customer who did it, the company they acted for)."""


def group_id(n: int) -> str:
    """The id of the ``n``-th simulated group (from 1)."""
    return f"G{n:03d}"


@dataclass(slots=True)
class Company:
    customer_id: str
    group_id: str | None
    deposits: int
    """In CNY: the base of the large-outflow moment."""
    representatives: list[str] = field(default_factory=list)
    members: list["Company"] = field(default_factory=list)


class SimulatedGroups:
    def __init__(self, r: random.Random, groups: int, people: list[str], start: datetime) -> None:
        self._random = r
        self._start = start
        self._profiles: list[dict[str, Any]] = []
        self.companies: list[Company] = []
        """Every group and member company, each group before its members."""
        for g in range(1, groups + 1):
            top = self._company(group_id(g), None, size=0, people=people)
            for m in range(1, r.randint(2, 4) + 1):
                member = self._company(f"K{g:03d}{m:02d}", top.customer_id, r.randrange(3), people)
                top.members.append(member)
            if g == 1:
                # A subsidiary group inside the first one: groups nest.
                sub = top.members[-1]
                sub.members.append(self._company(f"K{g:03d}{99:02d}", sub.customer_id, 2, people))

    @property
    def group_ids(self) -> list[str]:
        return [c.customer_id for c in self.companies if c.group_id is None]

    def profiles(self) -> Iterator[dict[str, Any]]:
        yield from self._profiles

    def event(self, occurred: datetime) -> Event:
        r = self._random
        company = r.choice([c for c in self.companies if c.representatives])
        if r.random() < 0.75:
            channel, kind, payload = self._acting(company)
            return channel, kind, payload, r.choice(company.representatives), company.customer_id
        channel, kind, payload = self._own(company)
        return channel, kind, payload, company.customer_id, None

    # --- profiles -----------------------------------------------------------------------

    def _company(self, customer_id: str, group_id: str | None, size: int, people: list[str]) -> Company:
        r = self._random
        low, high = SIZES[size]
        deposits = r.randint(low, high) * 1_000_000
        company = Company(customer_id, group_id, deposits)
        if group_id is not None and people:
            company.representatives = r.sample(people, k=min(len(people), r.randint(1, 2)))
        n = len(self.companies) + 1
        self.companies.append(company)
        self._profiles.append(
            {
                "customer_id": customer_id,
                "schema_version": 3,
                "customer_type": "corporate",
                "segment": "corporate",
                "time_zone": "Asia/Shanghai",
                "products": r.sample(("current_account", "payroll", "fx_hedging", "cash_pooling"), k=2),
                "consents": {"marketing": True, "phone": True, "sms": False, "email": True},
                "corporate": {
                    "organisation_code": f"91310000{n:08d}X{n % 10}",
                    "industry": r.choice(INDUSTRIES),
                    "group_id": group_id,
                    "rm_team": {"lead_rm_id": f"RM-K{n:03d}", "members": [f"RM-{r.randint(1, 40):03d}"]},
                    "deposits": {"amount": f"{deposits}.00", "currency": "CNY"},
                    "loans": {"amount": f"{r.randint(low, high) * 1_000_000}.00", "currency": "CNY"},
                    "fx_volume": {"amount": f"{r.randint(1, 20) * 1_000_000}.00", "currency": "USD"},
                    "settlement_volume": {
                        "amount": f"{r.randint(10, 400) * 1_000_000}.00",
                        "currency": "CNY",
                    },
                },
                "updated_at": (self._start - timedelta(days=1)).isoformat(),
            }
        )
        return company

    # --- events -------------------------------------------------------------------------

    def _acting(self, company: Company) -> tuple[Channel, str, dict[str, Any]]:
        r = self._random
        kind = r.choices(
            ("deposit", "withdrawal", "fx_exchange", "time_deposit_opened", "call", "complaint", "login"),
            weights=(25, 25, 15, 8, 12, 5, 10),
        )[0]
        if kind in ("deposit", "withdrawal"):
            share = (
                r.uniform(0.3, 0.5) if kind == "withdrawal" and r.random() < 0.2 else r.uniform(0.001, 0.05)
            )
            amount = Decimal(company.deposits) * Decimal(f"{share:.4f}")
            return "teller", kind, {"amount": f"{amount:.2f}", "currency": "CNY", "account_type": "current"}
        if kind == "fx_exchange":
            return self._trade_fx()
        if kind == "time_deposit_opened":
            term = r.choice((3, 6, 12))
            maturity = (self._start + timedelta(days=30 * term)).date().isoformat()
            principal = f"{r.randint(1, 20) * 500_000}.00"
            return (
                "teller",
                kind,
                {"amount": principal, "currency": "CNY", "term_months": term, "maturity_date": maturity},
            )
        if kind == "call":
            payload = {
                "direction": "inbound",
                "reason": "payments",
                "duration_s": r.randint(60, 900),
                "resolved": True,
            }
            return "phone", kind, payload
        if kind == "complaint":
            severity = r.choice(("medium", "high"))
            payload = {
                "complaint_id": f"CMP-K{r.randint(1, 999):03d}",
                "category": "payments",
                "severity": severity,
            }
            return "phone", kind, payload
        return "web", "login", {"success": True}

    def _own(self, company: Company) -> tuple[Channel, str, dict[str, Any]]:
        if self._random.random() < 0.5:
            return self._trade_fx()
        return (
            "branch",
            "rm_meeting",
            {"rm_id": f"RM-{self._random.randint(1, 40):03d}", "topic": "credit_line"},
        )

    def _trade_fx(self) -> tuple[Channel, str, dict[str, Any]]:
        r = self._random
        payload = {
            "sell_amount": f"{r.randint(50, 2_000) * 1_000}.00",
            "sell_currency": r.choice(FOREIGN),
            "buy_currency": "CNY",
            "purpose": "trade",
        }
        return "teller", "fx_exchange", payload
