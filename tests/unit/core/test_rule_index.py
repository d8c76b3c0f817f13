"""The compiled rule set decides what the rules as written decide.

The engine meets an event only with the rules that can match its kind, with their
conditions compiled for that kind (hub.core.rules.engine.rule_index). Here it is checked
against the interpreter :func:`hub.core.rules.matching.matches` on random conditions,
and against the engine as it was before (a loop over every rule, copied below) on random
histories decided with the default rules.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core.drafts import Cancellation, TriggerDraft
from hub.core.money import Rates, UnknownCurrency, convert
from hub.core.rules import engine
from hub.core.rules.engine import (
    MAX_REASON,
    Context,
    Evaluation,
    count_event,
    evaluate_due,
    evaluate_event,
    rule_index,
)
from hub.core.rules.matching import (
    compile_match,
    event_money,
    holds,
    matches,
    payload_value,
    profile_holds,
    value_test,
)
from hub.core.rules.spec import EventMatch, Predicate, RuleSpec
from hub.core.state import CustomerState
from hub.core.tiers import tier_of
from hub.rules.loading import parse_rules
from hub.settings import DEFAULT_FX_RATES, TierSettings
from schemas.interaction import TYPES_BY_CHANNEL, Interaction
from schemas.profile import CustomerProfile
from schemas.trigger import RuleRef
from tests.factories import PAYLOADS
from tests.unit.core.decisions import RULES, event
from tests.unit.core.test_policy_properties import histories, profiles

RATES = Rates(DEFAULT_FX_RATES, "CNY")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHECKS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# --- random conditions, against the interpreter -----------------------------------------

KINDS = sorted(PAYLOADS)
# Payload fields with the values their payloads hold (tests/unit/core/test_policy_properties.py),
# so that eq, ne, in and the bounds meet them; "nope" is no payload's field.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "purpose": st.sampled_from(["travel", "study_abroad", "trade", "investment", "other"]),
    "topic": st.sampled_from(["travel", "study_abroad", "mortgage", "fx"]),
    "success": st.booleans(),
    "resolved": st.booleans(),
    "wait_minutes": st.sampled_from([0, 5, 29, 30, 31, 90]),
    "severity": st.sampled_from(["low", "medium", "high"]),
    "amount": st.sampled_from([50000, 49999.99, 1000]),
    "product": st.sampled_from(["credit_card", "personal_loan", "fx_deposit"]),
    "nope": st.none(),
}
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 100), st.floats(-5, 100, allow_nan=False), st.text()
)


@st.composite
def predicates(draw: Callable[..., Any], field: str) -> dict[str, Any]:
    ops = draw(st.sets(st.sampled_from(["eq", "ne", "in", "is_null", "gte", "lte"]), min_size=1, max_size=2))
    values = st.one_of(FIELD_VALUES[field], FIELD_VALUES[field], SCALARS)
    spec: dict[str, Any] = {}
    for op in ops:
        if op in ("eq", "ne"):
            spec[op] = draw(values)
        elif op == "in":
            spec[op] = draw(st.lists(values, max_size=3))
        elif op == "is_null":
            spec[op] = draw(st.booleans())
        else:
            spec[op] = draw(
                st.one_of(st.sampled_from([0, 29, 30, 30.5, 50000]), st.floats(-5, 100, allow_nan=False))
            )
    return spec


@st.composite
def payload_conditions(draw: Callable[..., Any]) -> dict[str, Any]:
    fields = draw(st.sets(st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=2))
    return {field: draw(predicates(field)) for field in fields}


@st.composite
def event_matches(draw: Callable[..., Any], depth: int = 0) -> EventMatch:
    spec: dict[str, Any] = {}
    # Each part is left out more often than not, so that many conditions match something.
    if draw(st.integers(0, 2)) == 0:
        spec["channel"] = draw(st.sampled_from(list(TYPES_BY_CHANNEL)))
    if draw(st.integers(0, 2)) == 0:
        spec["types"] = draw(st.lists(st.sampled_from(sorted({t for _, t in KINDS})), min_size=1, max_size=4))
    if draw(st.integers(0, 3)) > 0:
        spec["payload"] = draw(payload_conditions())
    if draw(st.integers(0, 3)) == 0:
        spec["foreign_currency"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        amount = draw(st.sampled_from(["1", "1000", "50000"]))
        spec["money_at_least"] = {"amount": amount, "currency": draw(st.sampled_from(["USD", "CNY", "XAU"]))}
    if depth < 2 and draw(st.integers(0, 2)) == 0:
        spec["any_of"] = draw(st.lists(event_matches(depth + 1), max_size=3))
    return EventMatch.model_validate(spec)


VARIANTS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("teller", "deposit"): [{}, {"currency": "USD", "amount": "50000.00"}, {"currency": "XAU"}],
    ("teller", "withdrawal"): [{}, {"currency": "EUR", "amount": "46200.00"}],
    ("teller", "fx_exchange"): [
        {},
        {"purpose": "study_abroad", "sell_currency": "CNY", "sell_amount": "355000.00"},
        {"purpose": "trade", "sell_currency": "JPY"},
    ],
    ("teller", "time_deposit_opened"): [{}, {"currency": "USD"}],
    ("teller", "inquiry"): [{}, {"topic": "travel"}],
    ("phone", "call"): [{}, {"resolved": False, "duration_s": 30}],
    ("phone", "complaint"): [{}, {"severity": "high"}, {"severity": "low"}],
    ("phone", "complaint_resolved"): [{}],
    ("web", "login"): [{}, {"success": False}],
    ("web", "page_view"): [{}, {"product": None}],
    ("web", "application_started"): [{}, {"product": "personal_loan"}],
    ("web", "application_submitted"): [{}],
    ("branch", "visit"): [
        {},
        {"wait_minutes": 29},
        {"wait_minutes": 30},
        {"wait_minutes": 90, "purpose": "travel"},
    ],
    ("branch", "rm_meeting"): [{}],
    ("branch", "inquiry"): [{}, {"topic": "mortgage"}],
}
POOL = [
    event(channel, type_, payload=payload)
    for (channel, type_), payloads in VARIANTS.items()
    for payload in payloads
]


@settings(CHECKS, max_examples=500)
@given(match=event_matches())
def test_a_compiled_match_agrees_with_the_interpreter(match: EventMatch) -> None:
    for ev in POOL:
        compiled = compile_match(match, ev.channel, ev.type)
        got = compiled if isinstance(compiled, bool) else compiled(ev, RATES)
        assert got == matches(match, ev, RATES), (match, ev)


OPERANDS: list[Any] = [None, True, False, 0, 1, 29, 30, 30.0, 30.5, "travel", "", "30"]
VALUES: list[Any] = [
    *OPERANDS,
    Decimal("30"),
    Decimal("30.00"),
    Decimal("29.99"),
    -1,
    "other",
    date(2027, 1, 1),
]


def test_a_compiled_predicate_agrees_with_holds_on_every_operator_and_boundary() -> None:
    single = [{op: operand} for op in ("eq", "ne") for operand in OPERANDS]
    single += [{"is_null": flag} for flag in (None, True, False)]
    single += [{"in": list(options)} for options in ([], [None], ["travel", 30], [True], [0, "30"])]
    single += [{op: bound} for op in ("gte", "lte") for bound in (None, 0, 29.5, 30, 30.0)]
    pairs = [{**a, **b} for a in single[::3] for b in single[1::4] if a.keys() != b.keys()]
    for spec in single + pairs:
        predicate = Predicate.model_validate(spec)
        test = value_test(predicate)
        for value in VALUES:
            try:
                expected: bool | type[Exception] = holds(predicate, value)
            except TypeError:
                expected = TypeError
            try:
                got: bool | type[Exception] = test(value)
            except TypeError:
                got = TypeError
            assert got == expected, (spec, value)


def test_what_the_kind_decides_is_decided_once() -> None:
    login = EventMatch.model_validate({"channel": "web", "types": ["login"]})
    failed = EventMatch.model_validate(
        {"channel": "web", "types": ["login"], "payload": {"success": {"eq": False}}}
    )
    either = EventMatch.model_validate({"any_of": [{"channel": "phone"}, {"types": ["login"]}]})
    assert compile_match(login, "web", "login") is True
    assert compile_match(login, "web", "page_view") is False
    assert compile_match(login, "teller", "login") is False
    assert callable(compile_match(failed, "web", "login"))
    assert compile_match(either, "phone", "call") is True
    assert compile_match(either, "branch", "visit") is False


# --- the engine before, a loop over every rule with the interpreter ----------------------


def old_evaluate_event(
    event: Interaction, state: CustomerState, rules: list[RuleSpec], ctx: Context
) -> Evaluation:
    out = Evaluation()
    for rule in rules:
        if not rule.enabled:
            continue
        when = rule.when
        if when.annual is not None:
            engine._schedule_annual(engine._step(rule, False, False, ()), event.occurred_at, state, ctx, out)
            continue
        if when.absent is not None and matches(when.absent.match, event, ctx.rates):
            correlation = engine._correlation(event, when.absent.correlate)
            out.cancellations.append(Cancellation(ctx.customer_id, rule.id, correlation, event.occurred_at))
        assert when.event is not None
        if not matches(when.event, event, ctx.rates):
            continue
        count, evidence = 1, tuple[str, ...]((event.event_id,))
        if when.count is not None:
            window = state.window(rule.id, event.occurred_at, when.count.within)
            count, evidence = len(window), tuple(window)
            if count < when.count.at_least:
                continue
        if not profile_holds(when.profile, ctx.profile, ctx.tier):
            continue
        facts = old_facts(event, ctx.rates, count)
        if when.absent is not None:
            due = event.occurred_at + when.absent.within
            correlation = engine._correlation(event, when.absent.correlate)
            out.schedules.append(engine._check(rule, ctx, due, correlation, evidence, facts))
        elif when.at is not None:
            maturity_check = engine._due_at(event, when.at, ctx)
            if maturity_check is not None:
                out.schedules.append(engine._check(rule, ctx, maturity_check, None, evidence, facts))
        else:
            out.drafts.append(old_draft(rule, ctx, evidence, facts, event))
    return out


def old_count_event(event: Interaction, state: CustomerState, rules: list[RuleSpec], rates: Rates) -> None:
    for rule in rules:
        count, event_match = rule.when.count, rule.when.event
        if count is None or event_match is None or not rule.enabled:
            continue
        if matches(count.match or event_match, event, rates):
            state.mark(rule.id, event.event_id, event.occurred_at, count.within)


def old_draft(
    rule: RuleSpec, ctx: Context, evidence: tuple[str, ...], facts: dict[str, Any], event: Interaction
) -> TriggerDraft:
    spec = rule.trigger
    priority, valid_for = spec.priority, spec.valid_for
    for override in spec.overrides:
        if matches(override.when, event, ctx.rates):
            priority = override.priority if override.priority is not None else priority
            valid_for = override.valid_for or valid_for
    product = engine._product(spec, facts)
    return TriggerDraft(
        rule=RuleRef(id=rule.id, version=rule.version),
        kind=spec.kind,
        action=spec.action,
        product=product,
        reason=engine.render(spec.reason, {**facts, "product": engine._words(product or "")})[:MAX_REASON],
        evidence=evidence,
        priority=priority,
        channels=tuple(spec.channels_for(ctx.tier)),
        at=event.occurred_at,
        valid_for=valid_for,
        once_per=spec.once_per,
        cap_key=None if spec.cap_by is None else str(facts.get(f"payload.{spec.cap_by}")),
        reached_by=event.channel,
    )


def old_facts(event: Interaction, rates: Rates, count: int) -> dict[str, Any]:
    facts: dict[str, Any] = {"type": engine._words(event.type), "channel": event.channel, "count": count}
    for name, value in event.payload.model_dump(mode="json").items():
        facts[f"payload.{name}"] = value
    need = facts.get("payload.purpose") or facts.get("payload.topic")
    if need is not None:
        facts["need"] = engine._words(str(need))
    money = event_money(event)
    if money is not None:
        amount, currency = money
        facts["amount"], facts["currency"] = f"{amount:,.2f}", currency
        try:
            facts["usd"] = f"{convert(amount, currency, 'USD', rates=rates):,.0f}"
        except UnknownCurrency:
            facts["usd"] = "?"
    return facts


def context_for(who: CustomerProfile | None) -> Context:
    return Context("C000001", who, tier_of(who, TierSettings(), rates=RATES), RATES, SHANGHAI)


def same_evaluations(rules: list[RuleSpec], events: list[Interaction], who: CustomerProfile | None) -> None:
    ctx = context_for(who)
    old_state, new_state = CustomerState(), CustomerState()
    for ev in events:
        old_count_event(ev, old_state, rules, RATES)
        count_event(ev, new_state, rules, RATES)
        assert new_state.counters == old_state.counters
        before = old_evaluate_event(ev, old_state, rules, ctx)
        after = evaluate_event(ev, new_state, rules, ctx)
        assert after.drafts == before.drafts
        assert after.schedules == before.schedules
        assert [list(c.context) for c in after.schedules] == [list(c.context) for c in before.schedules]
        assert after.cancellations == before.cancellations
        assert new_state.annual_scheduled == old_state.annual_scheduled
        for check in after.schedules:
            assert evaluate_due(check, rules, ctx) == old_due(check, rules, ctx)
        old_state.apply(ev)
        new_state.apply(ev)


def old_due(check: Any, rules: list[RuleSpec], ctx: Context) -> TriggerDraft | None:
    rule = next((r for r in rules if r.id == check.rule.id and r.enabled), None)
    if rule is None:
        return None
    if rule.when.annual is not None and (ctx.profile is None or ctx.profile.birth_date is None):
        return None
    return engine._draft(rule, ctx, check.due_at, check.evidence, check.context, None, (), check.rule.version)


@CHECKS
@given(events=histories(), who=st.one_of(st.none(), profiles()))
def test_the_default_rules_evaluate_as_before(events: list[Interaction], who: CustomerProfile | None) -> None:
    same_evaluations(RULES, events, who)


_MORE_RULES = """
rules:
  - id: switched_off
    version: 1
    enabled: false
    when: {event: {types: [deposit]}}
    trigger: {kind: care, action: call, priority: 10, reason: "off", channels: {default: [phone]}}
  - id: any_money
    version: 1
    when:
      event: {money_at_least: {amount: "1000", currency: USD}, foreign_currency: false}
      count: {match: {payload: {amount: {gte: 10}}}, at_least: 2, within: 30d}
    trigger:
      kind: cross_sell
      action: offer
      product_from: product
      product: fallback
      priority: 40
      reason: "{count} x {amount} {currency}"
      channels: {default: [sms], wealth: [email]}
      overrides:
        - when: {channel: teller, types: [fx_exchange]}
          priority: 90
        - when: {payload: {currency: {ne: CNY}}}
          valid_for: 1h
  - id: nullish
    version: 3
    when:
      event: {payload: {product: {is_null: true}, topic: {in: [travel, null]}}}
      absent: {match: {any_of: [{types: [call]}, {channel: web, payload: {success: {eq: true}}}]}, within: 2h}
    trigger:
      {kind: care, action: call, priority: 20, reason: "{type} on {channel}", channels: {default: [phone]}}
"""


@CHECKS
@given(events=histories(), who=st.one_of(st.none(), profiles()))
def test_rules_the_default_set_does_not_use_evaluate_as_before(
    events: list[Interaction], who: CustomerProfile | None
) -> None:
    same_evaluations([*parse_rules(_MORE_RULES, source="test").rules, *RULES], events, who)


# --- the index of a rule set ----------------------------------------------------------------


def test_an_event_meets_only_the_rules_that_can_match_its_kind() -> None:
    index = rule_index(RULES)
    steps = {kind: [step.rule.id for step in index.plan(*kind).steps] for kind in KINDS}
    assert steps[("web", "login")] == ["birthday_greeting", "digital_distress"]
    assert steps[("teller", "fx_exchange")] == [
        "high_value_walk_in_rm_referral",
        "birthday_greeting",
        "fx_active_up_sell",
        "travel_or_study_card",
        "company_fx_hedging_cross_sell",
    ]
    # A treasurer's exchange for a company is no personal moment; the company's copy
    # meets only the company rules.
    assert [step.rule.id for step in index.plan("teller", "fx_exchange", "acting").steps] == [
        "birthday_greeting"
    ]
    assert [step.rule.id for step in index.plan("teller", "fx_exchange", "represented").steps] == [
        "company_fx_hedging_cross_sell"
    ]
    assert steps[("web", "application_submitted")] == ["birthday_greeting", "abandoned_application"]
    counting = {kind: [rule_id for rule_id, _, _ in index.plan(*kind).counting] for kind in KINDS}
    assert counting[("teller", "inquiry")] == ["repeated_unresolved_contact"]
    assert counting[("teller", "deposit")] == []


def test_the_index_is_kept_for_the_same_rules_and_made_anew_for_others() -> None:
    rules = list(parse_rules(_MORE_RULES, source="test").rules)
    index = rule_index(rules)
    assert rule_index(rules) is index
    assert rule_index(list(rules)) is not index
    disabled = replace_rule(rules[1], enabled=False)
    rules[1] = disabled  # changed in place: the same list, other rules
    changed = rule_index(rules)
    assert changed is not index and changed.rules[1] is disabled
    assert changed.enabled("any_money") is None
    assert index.enabled("any_money") is not None
    assert all(step.rule.id != "any_money" for step in changed.plan("teller", "deposit").steps)


def replace_rule(rule: RuleSpec, **changes: Any) -> RuleSpec:
    return rule.model_copy(update=changes)


def test_a_check_of_a_disabled_or_unknown_rule_proposes_nothing() -> None:
    rules = list(parse_rules(_MORE_RULES, source="test").rules)
    ctx = context_for(None)
    ev = event("teller", "inquiry", payload={"topic": "travel"})
    [check] = evaluate_event(ev, CustomerState(), rules, ctx).schedules
    assert evaluate_due(check, rules, ctx) is not None
    assert evaluate_due(check, [replace_rule(rules[2], enabled=False)], ctx) is None
    assert evaluate_due(replace(check, rule=RuleRef(id="gone", version=1)), rules, ctx) is None


def test_money_is_compared_in_the_threshold_currency() -> None:
    # 1,000 USD = 7,100 CNY: a deposit of 7,100.00 CNY is at the threshold, 7,099.99 below.
    rules = parse_rules(_MORE_RULES, source="test").rules
    state, ctx = CustomerState(), context_for(None)
    for n, amount in enumerate(["7100.00", "7099.99", "7100.00"]):
        ev = event(payload={"amount": amount}, event_id=f"d{n}")
        count_event(ev, state, rules, RATES)
        drafts = evaluate_event(ev, state, rules, ctx).drafts
        state.apply(ev)
        assert [d.rule.id for d in drafts] == (["any_money"] if n == 2 else [])
    assert payload_value(ev, "amount") == Decimal("7100.00")
