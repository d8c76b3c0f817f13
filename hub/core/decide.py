"""The decision: from one new event (or a check come due), which triggers go out.

This is the function the agents call and the tests exercise; it reads no clock and does
no I/O, so a replay of the same events gives the same decisions with the same ids.
"""

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from hub.core.drafts import Cancellation, ScheduledCheck, TriggerDraft
from hub.core.groups import GroupPitches, pitch_week
from hub.core.money import Rates
from hub.core.policy import Customer, Verdict, judge
from hub.core.records import Side
from hub.core.rules.engine import Context, count_event, evaluate_due, evaluate_event, event_plan
from hub.core.rules.spec import RuleSpec
from hub.core.state import CustomerState, Sent
from hub.core.tiers import tier_of
from hub.settings import PolicySettings, TierSettings
from schemas.interaction import Interaction
from schemas.profile import CustomerProfile
from schemas.trigger import CORPORATE_TIERS, SALES_KINDS, Tier, Trigger

TRIGGER_ID_NAMESPACE = uuid.UUID("6f1d4c1e-2b7a-5d3e-9a41-7c0e8b5f3a21")


@dataclass(frozen=True, slots=True)
class DecisionConfig:
    rules: list[RuleSpec]
    tiers: TierSettings
    rates: Rates
    policy: PolicySettings
    default_zone: ZoneInfo
    triggers: bool = True
    """Whether a decision with a channel gets its trigger built (a validated pydantic model):
    a backtest, which publishes nothing and counts decisions, does without."""
    contexts: dict[str, Context] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Customer id -> the context last worked out from their profile under this config,
    good while the profile is the same object (profiles are immutable): for the events of
    a customer in one batch, or in one replay. A few, so as not to keep profiles alive."""


@dataclass(frozen=True, slots=True)
class Decided:
    """One verdict, with the trigger it published or would have published (None when it has
    no channel, or under a config that builds no triggers: :attr:`DecisionConfig.triggers`)."""

    decision_id: str
    customer_id: str
    tier: Tier
    verdict: Verdict
    trigger: Trigger | None


class Decision:
    """What one event or due check decided, and the checks it schedules or answers.

    A plain class rather than a dataclass: one is made for every event, and in the
    compiled core (tools/compile_core.py) a dataclass keeps the Python ``__init__`` that
    :mod:`dataclasses` writes, five times the cost of this compiled one."""

    __slots__ = ("cancellations", "decided", "schedules")

    def __init__(
        self,
        decided: list[Decided] | None = None,
        schedules: list[ScheduledCheck] | None = None,
        cancellations: list[Cancellation] | None = None,
    ) -> None:
        self.decided = [] if decided is None else decided
        self.schedules = [] if schedules is None else schedules
        self.cancellations = [] if cancellations is None else cancellations

    def __repr__(self) -> str:
        return (
            f"Decision(decided={self.decided!r}, schedules={self.schedules!r}, "
            f"cancellations={self.cancellations!r})"
        )

    @property
    def triggers(self) -> list[Trigger]:
        return [d.trigger for d in self.decided if d.verdict.outcome == "published" and d.trigger is not None]


@dataclass(frozen=True, slots=True)
class Subject:
    """The customer a decision is about, with what is known of them."""

    customer_id: str
    state: CustomerState
    profile: CustomerProfile | None
    declined: Mapping[str, datetime] = field(default_factory=dict)
    group_id: str | None = None
    """The top group the company belongs to, if any (profile v3 ``corporate.group_id``)."""
    group: CustomerProfile | None = None
    """That group's profile, when known."""
    pitches: GroupPitches | None = None
    """The group-level cap's claims for the batch (None: no cap applies)."""


def decide(event: Interaction, subject: Subject, config: DecisionConfig, side: Side = "own") -> Decision:
    """Evaluate the rules for a new ``event`` against the state *before* it is applied;
    ``side``: how the event concerns the subject (a company's copy is ``represented``)."""
    ctx = _context(subject, config)
    plan = event_plan(config.rules, event, side)
    count_event(event, subject.state, config.rules, config.rates, side, plan=plan)
    evaluation = evaluate_event(event, subject.state, config.rules, ctx, side, plan=plan)
    return Decision(
        _judged(evaluation.drafts, subject, ctx, config), evaluation.schedules, evaluation.cancellations
    )


def decide_due(check: ScheduledCheck, subject: Subject, config: DecisionConfig) -> Decision:
    """Decide a check that came due without being answered."""
    ctx = _context(subject, config)
    draft = evaluate_due(check, config.rules, ctx)
    return Decision(_judged([draft] if draft is not None else [], subject, ctx, config))


def trigger_id(rule_id: str, rule_version: int, customer_id: str, evidence: tuple[str, ...]) -> str:
    """A stable id: the same rule on the same evidence for the same customer, the same id."""
    name = f"{rule_id}/{rule_version}/{customer_id}/{','.join(evidence)}"
    return uuid5_text(TRIGGER_ID_NAMESPACE, name)


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` without the UUID object (two thirds of the time):
    the SHA-1's first 32 hex digits, with the version digit set to 5 and the variant's two
    bits (the top of the 17th digit) to 10, as uuid.UUID sets them."""
    d = hashlib.sha1(namespace.bytes + name.encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-5{d[13:16]}-{_RFC_4122_VARIANT[d[16]]}{d[17:20]}-{d[20:32]}"


_RFC_4122_VARIANT = {f"{digit:x}": f"{(digit & 0x3) | 0x8:x}" for digit in range(16)}
"""A hex digit -> the same digit with its top two bits set to 10."""


MAX_CONTEXTS = 1024


def _context(subject: Subject, config: DecisionConfig) -> Context:
    # Every event of the customer needs it, and the tier takes a currency conversion.
    profile = subject.profile
    known = config.contexts.get(subject.customer_id)
    if known is not None and known.profile is profile and known.group is subject.group:
        return known
    tier = tier_of(profile, config.tiers, rates=config.rates)
    zone = config.default_zone
    if profile is not None and profile.time_zone:
        zone = ZoneInfo(profile.time_zone)
    context = Context(subject.customer_id, profile, tier, config.rates, zone, subject.group)
    if len(config.contexts) >= MAX_CONTEXTS:
        config.contexts.clear()
    config.contexts[subject.customer_id] = context
    return context


def _judged(
    drafts: list[TriggerDraft], subject: Subject, ctx: Context, config: DecisionConfig
) -> list[Decided]:
    if not drafts:  # most events propose nothing
        return []
    customer = Customer(subject.customer_id, subject.profile, subject.state, subject.declined, ctx.time_zone)
    decided = []
    for judged in judge(drafts, customer, config.policy):
        draft = judged.draft
        decision_id = trigger_id(draft.rule.id, draft.rule.version, subject.customer_id, draft.evidence)
        verdict = _group_cap(judged, decision_id, subject, config)
        trigger = None
        if verdict.channel is not None and config.triggers:
            trigger = _trigger(decision_id, draft, subject.customer_id, ctx.tier, verdict)
        if verdict.outcome != "suppressed":
            subject.state.record_sent(
                Sent(
                    at=draft.at,
                    rule_id=draft.rule.id,
                    kind=draft.kind,
                    product=draft.product,
                    cap_key=draft.cap_key,
                )
            )
        decided.append(Decided(decision_id, subject.customer_id, ctx.tier, verdict, trigger))
    return decided


def _group_cap(verdict: Verdict, decision_id: str, subject: Subject, config: DecisionConfig) -> Verdict:
    """The group-level cap, after the company's own policy: a sales trigger of a product
    that another member's trigger pitched to the same group this week is suppressed."""
    draft, pitches, group_id = verdict.draft, subject.pitches, subject.group_id
    if (
        verdict.outcome != "published"
        or draft.kind not in SALES_KINDS
        or pitches is None
        or group_id is None
        or not config.policy.group_cap
    ):
        return verdict
    key = (group_id, draft.product or "", pitch_week(draft.at))
    holder = pitches.holder(key, decision_id)
    if holder is not None:
        detail = f"{draft.product} was pitched to group {group_id} this week already (trigger {holder})"
        return replace(
            verdict, outcome="suppressed", policy="group_cap", detail=detail, channel=None, not_before=None
        )
    pitches.claim(key, decision_id, subject.customer_id)
    return verdict


def _trigger(
    decision_id: str, draft: TriggerDraft, customer_id: str, tier: Tier, verdict: Verdict
) -> Trigger:
    assert verdict.channel is not None
    not_before = verdict.not_before or draft.at
    corporate = draft.addressed_to is not None or tier in CORPORATE_TIERS
    return Trigger(
        trigger_id=decision_id,
        schema_version=2 if corporate else 1,
        addressed_to=draft.addressed_to,
        kind=draft.kind,
        customer_id=customer_id,
        rule=draft.rule,
        action=draft.action,
        product=draft.product,
        reason=draft.reason,
        evidence=list(draft.evidence),
        tier=tier,
        priority=draft.priority,
        recommended_channel=verdict.channel,
        # Event time, not arrival time: a replay must produce the very same trigger.
        created_at=draft.at,
        not_before=not_before,
        expires_at=not_before + draft.valid_for,
    )
