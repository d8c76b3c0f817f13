"""The contact policy: which proposed triggers go out, through which channel, and when.

Applied to the drafts of one moment (an event, or a check come due) for one customer,
in this order: consent and care-first, declined offers, repeat and frequency caps, a
consented channel; then arbitration among the sales drafts left; then the control
group; then quiet hours. Every draft gets a verdict that says which policy decided.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from hub.core.drafts import TriggerDraft
from hub.core.state import CustomerState
from hub.settings import PolicySettings
from schemas.profile import CustomerProfile
from schemas.trigger import SALES_KINDS, ContactChannel

Outcome = Literal["published", "suppressed", "held_out"]
POLICIES = (
    "consent",
    "complaint_open",
    "declined",
    "once_per",
    "frequency_cap",
    "channel_consent",
    "arbitration",
    "control_group",
    "group_cap",
)
"""Every policy that suppresses or holds out a proposal (a verdict's ``policy``)."""
SALES = frozenset(SALES_KINDS)
_WEEK, _MONTH = timedelta(days=7), timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Verdict:
    draft: TriggerDraft
    outcome: Outcome
    policy: str | None = None
    """The policy that suppressed or held it out: consent, complaint_open, declined, ..."""
    detail: str = ""
    channel: ContactChannel | None = None
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    profile: CustomerProfile | None
    state: CustomerState
    declined: Mapping[str, datetime]
    """Product -> until when a declined offer of it is not repeated."""
    zone: ZoneInfo


def judge(drafts: list[TriggerDraft], customer: Customer, settings: PolicySettings) -> list[Verdict]:
    verdicts: list[Verdict] = []
    candidates: list[tuple[TriggerDraft, ContactChannel]] = []
    for draft in drafts:
        stopped = _stopped(draft, customer, settings)
        if stopped is not None:
            verdicts.append(Verdict(draft, "suppressed", *stopped))
            continue
        channel = first_consented_channel(draft.channels, customer.profile, reached_by=draft.reached_by)
        if channel is None:
            verdicts.append(
                Verdict(draft, "suppressed", "channel_consent", "no recommended channel is consented to")
            )
            continue
        candidates.append((draft, channel))
    sales = sorted(
        (c for c in candidates if c[0].kind in SALES), key=lambda c: (-c[0].priority, c[0].rule.id)
    )
    for draft, _ in sales[1:]:
        winner = sales[0][0]
        detail = f"{winner.rule.id} (priority {winner.priority}) outranks it for this moment"
        verdicts.append(Verdict(draft, "suppressed", "arbitration", detail))
    for draft, channel in [c for c in candidates if c[0].kind not in SALES] + sales[:1]:
        not_before = quiet_hours_end(draft.at, channel, customer.zone, settings)
        if draft.kind in SALES and in_control_group(customer.customer_id, settings.control_share):
            verdicts.append(
                Verdict(
                    draft,
                    "held_out",
                    "control_group",
                    "customer is in the control group",
                    channel,
                    not_before,
                )
            )
        else:
            verdicts.append(Verdict(draft, "published", None, "", channel, not_before))
    return verdicts


def _stopped(draft: TriggerDraft, customer: Customer, settings: PolicySettings) -> tuple[str, str] | None:
    """The policy and its reason if ``draft`` may not go out, else None."""
    profile, state, at = customer.profile, customer.state, draft.at
    sales = draft.kind in SALES
    if sales:
        if profile is None:
            return "consent", "no profile, so no known consent to marketing"
        if not profile.consents.marketing:
            return "consent", "the customer has not consented to marketing"
        open_complaints = state.open_complaints
        if open_complaints:
            return "complaint_open", f"care first: complaint {open_complaints[0]} is open"
        until = customer.declined.get(draft.product or "", at)
        if until > at:
            return "declined", f"{draft.product} was declined; not offered again before {until:%Y-%m-%d}"
    if draft.once_per is not None and state.busiest_window(at, draft.once_per, rule_id=draft.rule.id):
        return "once_per", f"{draft.rule.id} already fired within {draft.once_per.days} days"
    if sales:
        if state.busiest_window(at, _WEEK, kinds=SALES) >= settings.sales_per_7_days:
            return "frequency_cap", f"at most {settings.sales_per_7_days} sales trigger(s) in 7 days"
        if state.busiest_window(at, _MONTH, kinds=SALES) >= settings.sales_per_30_days:
            return "frequency_cap", f"at most {settings.sales_per_30_days} sales triggers in 30 days"
    elif state.busiest_window(
        at, timedelta(days=settings.care_reason_days), rule_id=draft.rule.id, cap_key=draft.cap_key
    ):
        return "frequency_cap", f"{draft.rule.id} at most once in {settings.care_reason_days} days"
    return None


def first_consented_channel(
    preferred: tuple[ContactChannel, ...], profile: CustomerProfile | None, *, reached_by: str | None = None
) -> ContactChannel | None:
    """The first channel the customer allows; web and branch need no outbound consent."""
    for channel in preferred:
        if channel in ("web", "branch"):
            return channel
        if profile is None:
            # Without a profile only care reaches this point and consents are unknown:
            # call back only a customer who called us.
            if channel == "phone" and reached_by == "phone":
                return channel
            continue
        if getattr(profile.consents, channel):
            return channel
    return None


def quiet_hours_end(
    at: datetime, channel: ContactChannel, zone: ZoneInfo, settings: PolicySettings
) -> datetime:
    """``at``, or the end of quiet hours when a call would fall inside them (local time)."""
    if channel != "phone":
        return at
    local = at.astimezone(zone)
    start, end = settings.quiet_start, settings.quiet_end
    if not _within(local.time(), start, end):
        return at
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def _within(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


def in_control_group(customer_id: str, share: float) -> bool:
    """A stable choice: the same customer is in or out on every worker and every run."""
    digest = hashlib.sha256(f"control-group:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share
