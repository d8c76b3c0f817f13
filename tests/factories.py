"""Builders of valid contract records for tests; override any field by keyword."""

import json
from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

PAYLOADS: dict[tuple[str, str], dict[str, Any]] = {
    ("teller", "deposit"): {"amount": "1000.00", "currency": "CNY", "account_type": "savings"},
    ("teller", "withdrawal"): {"amount": "200.00", "currency": "CNY", "account_type": "current"},
    ("teller", "fx_exchange"): {
        "sell_amount": "5000.00",
        "sell_currency": "USD",
        "buy_currency": "CNY",
        "purpose": "travel",
    },
    ("teller", "time_deposit_opened"): {
        "amount": "100000.00",
        "currency": "CNY",
        "term_months": 12,
        "maturity_date": "2027-11-25",
    },
    ("teller", "inquiry"): {"topic": "mortgage"},
    ("phone", "call"): {"direction": "inbound", "reason": "card", "duration_s": 120, "resolved": True},
    ("phone", "complaint"): {"complaint_id": "CMP-1", "category": "lost_payment", "severity": "medium"},
    ("phone", "complaint_resolved"): {"complaint_id": "CMP-1"},
    ("web", "login"): {"success": True},
    ("web", "page_view"): {"page": "/fx", "product": "fx_deposit"},
    ("web", "application_started"): {"application_id": "APP-1", "product": "credit_card"},
    ("web", "application_submitted"): {"application_id": "APP-1", "product": "credit_card"},
    ("branch", "visit"): {"purpose": "cash", "wait_minutes": 5},
    ("branch", "rm_meeting"): {"rm_id": "RM-1", "topic": "wealth"},
    ("branch", "inquiry"): {"topic": "travel"},
}


def envelope(channel: str = "teller", type_: str = "deposit", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": overrides.pop("event_id", f"evt-{channel}-{type_}"),
        "schema_version": 1,
        "channel": channel,
        "type": type_,
        "occurred_at": NOW.isoformat(),
        "customer": {
            "customer_id": "C000001",
            "account_no": None,
            "card_no": None,
            "phone": None,
            "web_user": None,
        },
        "source": {"system": f"core-{channel}", "branch_id": "BR-017", "staff_id": "T-88"},
        "payload": dict(PAYLOADS[(channel, type_)]),
    }
    payload = overrides.pop("payload", None)
    if payload is not None:
        record["payload"].update(payload)
    record.update(overrides)
    return record


def raw(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode()


def profile(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "customer_id": "C000001",
        "birth_date": "1987-05-08",
        "time_zone": "Asia/Shanghai",
        "segment": "retail",
        "assets_under_management": {"amount": "820000.00", "currency": "CNY"},
        "products": ["savings", "debit_card"],
        "rm_id": None,
        "consents": {"marketing": True, "phone": True, "sms": True, "email": False},
        "identifiers": {"account_no": [], "card_no": [], "phone": [], "web_user": []},
        "updated_at": "2026-11-24T08:00:00+08:00",
    }
    record.update(overrides)
    return record


def company(**overrides: Any) -> dict[str, Any]:
    """A corporate customer (profile v3); ``corporate`` overrides merge into its block."""
    corporate = {
        "organisation_code": "91310000MA1FL8XQ3K",
        "industry": "manufacturing",
        "group_id": None,
        "rm_team": {"lead_rm_id": "RM-LEAD", "members": ["RM-2"]},
        "deposits": {"amount": "20000000.00", "currency": "CNY"},
        "loans": {"amount": "80000000.00", "currency": "CNY"},
        "fx_volume": {"amount": "3000000.00", "currency": "USD"},
        "settlement_volume": {"amount": "80000000.00", "currency": "CNY"},
        **overrides.pop("corporate", {}),
    }
    record = profile(
        customer_id="K000001",
        schema_version=3,
        customer_type="corporate",
        segment="corporate",
        birth_date=None,
        assets_under_management=None,
        corporate=corporate,
    )
    record.update(overrides)
    return record
