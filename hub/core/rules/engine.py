"""Evaluating the rule set for one event, or for checks that have come due.

Pure: the customer's state, profile and the rules go in; drafts of triggers, checks to
schedule and checks to cancel come out. The state's counters are updated in place so
that counting is exactly once per event.

A rule set is compiled once (:func:`rule_index`): for each kind of event (channel and
type) the rules that can count it or answer it, in their order, with their conditions
compiled for that kind; an event meets only those.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hub.core.drafts import Cancellation, ScheduledCheck, TriggerDraft
from hub.core.money import Rates, UnknownCurrency, convert
from hub.core.records import SIDES, Side
from hub.core.rules.matching import (
    Compiled,
    Matcher,
    compile_match,
    event_money,
    large_outflow,
    payload_value,
    profile_holds,
)
from hub.core.rules.spec import (
    AbsentCondition,
    AnnualCondition,
    AtCondition,
    CountCondition,
    OutflowCondition,
    Override,
    ProfileCondition,
    RuleSpec,
    TriggerSpec,
)
from hub.core.state import CustomerState
from schemas.interaction import Interaction
from schemas.profile import CustomerProfile
from schemas.trigger import Addressee, AddresseeRole, RuleRef, Tier


@dataclass(frozen=True, slots=True)
class _Anniversary:
    """``due`` is the next anniversary of every time in (``after``, ``until``], both
    bounds in ``zone``, the time zone of the times asked about (compared fast)."""

    zone: tzinfo | None
    after: datetime
    until: datetime
    due: datetime

    def of(self, now: datetime) -> datetime | None:
        if now.tzinfo is self.zone and self.after < now <= self.until:
            return self.due
        return None


@dataclass(frozen=True, slots=True)
class Context:
    customer_id: str
    profile: CustomerProfile | None
    tier: Tier
    rates: Rates
    time_zone: ZoneInfo
    group: CustomerProfile | None = None
    """The profile of the top group a company belongs to, if any (for ``group_lead_rm``)."""
    anniversaries: dict[str, _Anniversary] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Rule id -> the customer's next anniversary for an annual rule, as last worked out."""


class Evaluation:
    """What the rules propose for one event. A plain class, as :class:`hub.core.decide.Decision`
    is: one is made for every event."""

    __slots__ = ("cancellations", "drafts", "schedules")

    def __init__(self) -> None:
        self.drafts: list[TriggerDraft] = []
        self.schedules: list[ScheduledCheck] = []
        self.cancellations: list[Cancellation] = []


# --- the rule set, compiled once ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """What one rule does with events of one kind.

    The rule's conditions are copied out of its (pydantic) spec: every event reads them,
    and an attribute of a compiled class is read several times faster than a model's."""

    rule: RuleSpec
    answers: Compiled
    """Whether the event answers the rule's pending checks (its ``absent`` match)."""
    meets: Compiled
    """Whether the event meets the rule's ``event`` condition."""
    overrides: tuple[tuple[Override, Compiled], ...]
    rule_id: str
    annual: AnnualCondition | None
    count: CountCondition | None
    absent: AbsentCondition | None
    at: AtCondition | None
    profile: ProfileCondition | None
    outflow: OutflowCondition | None


def _step(
    rule: RuleSpec, answers: Compiled, meets: Compiled, overrides: tuple[tuple[Override, Compiled], ...]
) -> _Step:
    when = rule.when
    return _Step(
        rule,
        answers,
        meets,
        overrides,
        rule.id,
        when.annual,
        when.count,
        when.absent,
        when.at,
        when.profile,
        when.outflow,
    )


@dataclass(frozen=True, slots=True)
class RulePlan:
    """The rules an event of one kind meets, in rule-file order."""

    counting: tuple[tuple[str, Matcher | Literal[True], timedelta], ...]
    """(rule id, what it counts, its window) of the rules that may count the event."""
    steps: tuple[_Step, ...]


class RuleIndex:
    """A rule set compiled per kind of event, each kind when it is first met."""

    __slots__ = ("_by_id", "_plans", "rules")

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        self.rules = tuple(rules)
        self._plans: dict[tuple[str, str, Side], RulePlan] = {}
        self._by_id: dict[str, RuleSpec] = {}
        for rule in self.rules:
            if rule.enabled:
                self._by_id.setdefault(rule.id, rule)

    def plan(self, channel: str, type_: str, side: Side = "own") -> RulePlan:
        """The rules that look at events of this kind seen from ``side`` (a rule's ``sides``)."""
        plan = self._plans.get((channel, type_, side))
        if plan is None:
            plan = self._plans[channel, type_, side] = self._compile(channel, type_, side)
        return plan

    def enabled(self, rule_id: str) -> RuleSpec | None:
        """The first enabled rule of this id."""
        return self._by_id.get(rule_id)

    def _compile(self, channel: str, type_: str, side: Side) -> RulePlan:
        counting: list[tuple[str, Matcher | Literal[True], timedelta]] = []
        steps: list[_Step] = []
        for rule in self.rules:
            if not rule.enabled or side not in rule.when.sides:
                continue
            when = rule.when
            if when.count is not None and when.event is not None:
                counts = compile_match(when.count.match or when.event, channel, type_)
                if counts is not False:
                    counting.append((rule.id, counts, when.count.within))
            if when.annual is not None:
                steps.append(_step(rule, False, False, ()))
                continue
            assert when.event is not None
            answers = False if when.absent is None else compile_match(when.absent.match, channel, type_)
            meets = compile_match(when.event, channel, type_)
            if answers is False and meets is False:
                continue
            overrides = tuple(
                (override, compile_match(override.when, channel, type_))
                for override in rule.trigger.overrides
            )
            steps.append(_step(rule, answers, meets, overrides))
        return RulePlan(tuple(counting), tuple(steps))


_INDEXES: dict[int, RuleIndex] = {}
_MAX_INDEXES = 8


def rule_index(rules: Sequence[RuleSpec]) -> RuleIndex:
    """The compiled form of ``rules``, kept while the same rules are passed in."""
    index = _INDEXES.get(id(rules))
    # The index holds the rules themselves: a new list at the address of a dropped one
    # differs from them, and so does a list changed in place.
    if index is not None and index.rules == tuple(rules):
        return index
    index = RuleIndex(rules)
    _INDEXES.pop(id(rules), None)
    while len(_INDEXES) >= _MAX_INDEXES:
        del _INDEXES[next(iter(_INDEXES))]
    _INDEXES[id(rules)] = index
    return index


def _holds(compiled: Compiled, event: Interaction, rates: Rates) -> bool:
    # The loops of every event test ``is True`` and ``is False`` in line instead.
    return compiled if isinstance(compiled, bool) else compiled(event, rates)


# --- evaluating ---------------------------------------------------------------------


def event_plan(rules: Sequence[RuleSpec], event: Interaction, side: Side = "own") -> RulePlan:
    """The rules that look at events like ``event`` from ``side``: worked out once for
    :func:`count_event` and :func:`evaluate_event` of the same event."""
    return rule_index(rules).plan(event.channel, event.type, side)


def evaluate_event(
    event: Interaction,
    state: CustomerState,
    rules: Sequence[RuleSpec],
    ctx: Context,
    side: Side = "own",
    *,
    plan: RulePlan | None = None,
) -> Evaluation:
    """What ``event`` (new to the hub) makes the rules propose, given the state before it,
    for the customer of ``ctx``, whom the event concerns as ``side`` (``plan``: its
    :func:`event_plan`, when already known)."""
    out = Evaluation()
    rates = ctx.rates
    facts: _Facts | None = None
    evidence: tuple[str, ...]
    at = event.occurred_at
    for step in (plan if plan is not None else event_plan(rules, event, side)).steps:
        if step.annual is not None:
            _schedule_annual(step, at, state, ctx, out)
            continue
        answers, meets, absent = step.answers, step.meets, step.absent
        if answers is not False and (answers is True or answers(event, rates)):
            assert absent is not None
            correlation = _correlation(event, absent.correlate)
            out.cancellations.append(Cancellation(ctx.customer_id, step.rule_id, correlation, at))
        if meets is not True and (meets is False or not meets(event, rates)):
            continue
        count, evidence = 1, (event.event_id,)
        counted = step.count
        if counted is not None:
            window = state.window(step.rule_id, at, counted.within)
            count, evidence = len(window), tuple(window)
            if count < counted.at_least:
                continue
        if not profile_holds(step.profile, ctx.profile, ctx.tier):
            continue
        if step.outflow is not None and not large_outflow(step.outflow, event, ctx.profile, rates):
            continue
        if facts is None:
            facts = _facts_of(event, rates)
        rule_facts = facts.with_count(count)
        rule = step.rule
        if absent is not None:
            due = at + absent.within
            correlation = _correlation(event, absent.correlate)
            out.schedules.append(_check(rule, ctx, due, correlation, evidence, rule_facts))
        elif step.at is not None:
            maturity_check = _due_at(event, step.at, ctx)
            if maturity_check is not None:
                out.schedules.append(_check(rule, ctx, maturity_check, None, evidence, rule_facts))
        else:
            out.drafts.append(_draft(rule, ctx, at, evidence, rule_facts, event, step.overrides))
    return out


def count_event(
    event: Interaction,
    state: CustomerState,
    rules: Sequence[RuleSpec],
    rates: Rates,
    side: Side = "own",
    *,
    plan: RulePlan | None = None,
) -> None:
    """Count ``event`` for every rule that counts events like it from ``side``; once per event id.

    Run for every event, replays included, before :func:`evaluate_event`: a state lost
    with a crashed batch gets its counts back when the batch is replayed.
    """
    for rule_id, counts, within in (plan if plan is not None else event_plan(rules, event, side)).counting:
        if counts is True or counts(event, rates):
            state.mark(rule_id, event.event_id, event.occurred_at, within)


def conditions_of(
    rules: Sequence[RuleSpec], rule_ids: frozenset[str], channel: str, type_: str
) -> list[tuple[Compiled, ProfileCondition | None]]:
    """What makes any of ``rule_ids`` act on an event of this kind: count it, be answered
    by it, or be met by it by a customer whose profile holds (the condition, or None for
    any customer); an annual rule, which looks at every event: True; from any side. An
    event that holds none of them is, for those rules, as if it were not there."""
    found: list[tuple[Compiled, ProfileCondition | None]] = []
    index = rule_index(rules)
    for side in SIDES:
        plan = index.plan(channel, type_, side)
        found += [(counts, None) for rule_id, counts, _ in plan.counting if rule_id in rule_ids]
        for step in plan.steps:
            when = step.rule.when
            if step.rule.id not in rule_ids:
                continue
            if when.annual is not None:
                found.append((True, None))
            if step.answers is not False:
                found.append((step.answers, None))
            if step.meets is not False:
                found.append((step.meets, when.profile))
    return found


def evaluate_due(check: ScheduledCheck, rules: Sequence[RuleSpec], ctx: Context) -> TriggerDraft | None:
    """The trigger a check proposes when it comes due unanswered (None: rule gone or disabled)."""
    rule = rule_index(rules).enabled(check.rule.id)
    if rule is None:
        return None
    if rule.when.annual is not None and (ctx.profile is None or ctx.profile.birth_date is None):
        return None
    return _draft(
        rule, ctx, check.due_at, check.evidence, check.context, None, (), version=check.rule.version
    )


# --- building blocks ------------------------------------------------------------------


def _draft(
    rule: RuleSpec,
    ctx: Context,
    at: datetime,
    evidence: tuple[str, ...],
    facts: dict[str, Any],
    event: Interaction | None,
    overrides: tuple[tuple[Override, Compiled], ...],
    version: int | None = None,
) -> TriggerDraft:
    """``overrides``: the rule's, compiled for the kind of ``event``."""
    spec = rule.trigger
    priority, valid_for = spec.priority, spec.valid_for
    if event is not None:
        for override, when in overrides:
            if _holds(when, event, ctx.rates):
                priority = override.priority if override.priority is not None else priority
                valid_for = override.valid_for or valid_for
    product = _product(spec, facts)
    return TriggerDraft(
        rule=rule_ref(rule.id, version or rule.version),
        kind=spec.kind,
        action=spec.action,
        product=product,
        reason=render(spec.reason, {**facts, "product": _words(product or "")})[:MAX_REASON],
        evidence=evidence,
        priority=priority,
        channels=tuple(spec.channels_for(ctx.tier)),
        at=at,
        valid_for=valid_for,
        once_per=spec.once_per,
        cap_key=None if spec.cap_by is None else str(facts.get(f"payload.{spec.cap_by}")),
        reached_by=None if event is None else event.channel,
        addressed_to=None if spec.address_to is None else addressee(spec.address_to, ctx),
    )


def addressee(role: AddresseeRole, ctx: Context) -> Addressee:
    """The RM a rule addresses its trigger to, from the company's or its group's team."""
    profile = ctx.profile if role == "lead_rm" else ctx.group
    return Addressee(role=role, rm_id=profile.lead_rm_id if profile is not None else None)


def _check(
    rule: RuleSpec,
    ctx: Context,
    due: datetime,
    correlation: str | None,
    evidence: tuple[str, ...],
    facts: dict[str, Any],
) -> ScheduledCheck:
    key = ",".join(evidence) if correlation is None else f"{correlation}/{','.join(evidence)}"
    return ScheduledCheck(
        check_id=f"{rule.id}/{ctx.customer_id}/{key}",
        customer_id=ctx.customer_id,
        rule=rule_ref(rule.id, rule.version),
        due_at=due,
        correlation=correlation,
        evidence=evidence,
        context=facts,
    )


def _schedule_annual(step: _Step, now: datetime, state: CustomerState, ctx: Context, out: Evaluation) -> None:
    annual, profile = step.annual, ctx.profile
    assert annual is not None
    birth_date = None if profile is None else profile.birth_date
    if birth_date is None:
        return
    rule_id = step.rule_id
    due = remembered_anniversary(ctx, rule_id, birth_date, now, annual.local_time)
    if state.annual_scheduled.get(rule_id) == due.year:
        return
    state.annual_scheduled[rule_id] = due.year
    out.schedules.append(
        ScheduledCheck(
            check_id=f"{rule_id}/{ctx.customer_id}/{due.year}",
            customer_id=ctx.customer_id,
            rule=rule_ref(rule_id, step.rule.version),
            due_at=due,
            correlation=None,
            evidence=(f"{annual.profile_field}:{due.year}",),
            context={},
        )
    )


@lru_cache(maxsize=1024)
def rule_ref(rule_id: str, version: int) -> RuleRef:
    """The reference to a rule's version, one immutable instance for all its drafts."""
    return RuleRef(id=rule_id, version=version)


def remembered_anniversary(ctx: Context, rule_id: str, day: date, now: datetime, at: Any) -> datetime:
    """:func:`next_anniversary` in the customer's time zone, remembered for the rule: every
    event of the customer asks, and the answer changes once a year."""
    known = ctx.anniversaries.get(rule_id)
    due = known.of(now) if known is not None else None
    if due is None:
        due = next_anniversary(day, now, at, ctx.time_zone)
        before = _local_anniversary(day, due.year - 1, at, ctx.time_zone)
        ctx.anniversaries[rule_id] = _Anniversary(
            now.tzinfo, before.astimezone(now.tzinfo), due.astimezone(now.tzinfo), due
        )
    return due


def next_anniversary(day: date, now: datetime, at: Any, zone: ZoneInfo) -> datetime:
    """The next local ``at`` on the month and day of ``day`` not before ``now`` (29 Feb -> 28 Feb)."""
    local_now = now.astimezone(zone)
    for year in (local_now.year, local_now.year + 1):
        candidate = _local_anniversary(day, year, at, zone)
        if candidate >= local_now:
            return candidate
    raise AssertionError("unreachable: next year's anniversary is always ahead")


@lru_cache(maxsize=16384)
def _local_anniversary(day: date, year: int, at: Any, zone: ZoneInfo) -> datetime:
    # Asked for on every event of a customer with a birth date (the birthday rule), with
    # the same few answers for the whole year.
    return datetime.combine(_same_day_in(day, year), at, tzinfo=zone)


def _same_day_in(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _due_at(event: Interaction, at: AtCondition, ctx: Context) -> datetime | None:
    value = payload_value(event, at.date_field)
    if not isinstance(value, date):
        return None
    day = value - at.offset if at.before else value + at.offset
    # A deposit opened less than the offset before it matures: decide at once, not in the past.
    return max(datetime.combine(day, at.local_time, tzinfo=ctx.time_zone), event.occurred_at)


def _correlation(event: Interaction, field_name: str | None) -> str | None:
    if field_name is None:
        return None
    value = payload_value(event, field_name)
    return None if value is None else str(value)


def _product(spec: TriggerSpec, facts: dict[str, Any]) -> str | None:
    if spec.product_from is not None:
        value = facts.get(f"payload.{spec.product_from}")
        return str(value) if value is not None else spec.product
    return spec.product


_FACTS: dict[int, "_Facts"] = {}
_MAX_FACTS = 256


def _facts_of(event: Interaction, rates: Rates) -> "_Facts":
    """The event's facts, worked out once for the last few events met: a backtest decides
    each event of a customer under two rule sets, one after the other (the entry holds
    the event, so that its id is not another's)."""
    known = _FACTS.get(id(event))
    if known is not None and known.event is event and (known.rates is rates or known.rates == rates):
        return known
    facts = _FACTS[id(event)] = _Facts(event, rates)
    if len(_FACTS) > _MAX_FACTS:
        del _FACTS[next(iter(_FACTS))]
    return facts


class _Facts:
    """What reasons and products may quote of an event."""

    __slots__ = ("_head", "_tail", "event", "rates")

    def __init__(self, event: Interaction, rates: Rates) -> None:
        self.event, self.rates = event, rates
        self._head = (_words(event.type), event.channel)
        tail: dict[str, Any] = {}
        for name, value in event.payload.model_dump(mode="json").items():
            tail[f"payload.{name}"] = value
        need = tail.get("payload.purpose") or tail.get("payload.topic")
        if need is not None:
            tail["need"] = _words(str(need))
        money = event_money(event)
        if money is not None:
            amount, currency = money
            tail["amount"], tail["currency"] = f"{amount:,.2f}", currency
            try:
                tail["usd"] = f"{convert(amount, currency, 'USD', rates=rates):,.0f}"
            except UnknownCurrency:
                tail["usd"] = "?"
        self._tail = tail

    def with_count(self, count: int) -> dict[str, Any]:
        """A new dict for one rule: type, channel, count, then the payload and money."""
        kind, channel = self._head
        return {"type": kind, "channel": channel, "count": count, **self._tail}


MAX_REASON = 256  # the contract's limit: long payload values must not make a trigger invalid
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


def render(template: str, facts: dict[str, Any]) -> str:
    """Fill ``{name}`` placeholders from ``facts``; unknown names stay as they are."""
    return _PLACEHOLDER.sub(lambda m: _words(str(facts[m[1]])) if m[1] in facts else m[0], template)


def _words(text: str) -> str:
    return text.replace("_", " ") if " " not in text else text
