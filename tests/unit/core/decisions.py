"""Helpers to run the decision core on test events: the default rules, a fixed config."""

from datetime import datetime
from zoneinfo import ZoneInfo

from hub.core.decide import Decision, DecisionConfig, Subject, decide, decide_due
from hub.core.drafts import ScheduledCheck
from hub.core.money import Rates
from hub.core.state import CustomerState
from hub.rules.loading import load_rules
from hub.settings import DEFAULT_FX_RATES, PolicySettings, TierSettings
from schemas.interaction import INTERACTION_ADAPTER, Interaction
from schemas.profile import CustomerProfile
from tests.factories import envelope, profile, raw

RULES = load_rules(None).rules


def config(**policy: object) -> DecisionConfig:
    """The shipped rules; no control group unless asked, so that sales are published."""
    return DecisionConfig(
        rules=RULES,
        tiers=TierSettings(),
        rates=Rates(DEFAULT_FX_RATES, "CNY"),
        policy=PolicySettings(**{"control_share": 0.0, **policy}),
        default_zone=ZoneInfo("Asia/Shanghai"),
    )


def event(channel: str = "teller", type_: str = "deposit", **overrides: object) -> Interaction:
    return INTERACTION_ADAPTER.validate_json(raw(envelope(channel, type_, **overrides)))


def customer(**overrides: object) -> CustomerProfile:
    return CustomerProfile.model_validate(profile(**overrides))


def run(
    ev: Interaction,
    state: CustomerState | None = None,
    who: CustomerProfile | None = None,
    declined: dict[str, datetime] | None = None,
    **policy: object,
) -> Decision:
    """Decide on ``ev`` for customer C000001 and apply it to ``state``, like the recorder."""
    state = state if state is not None else CustomerState()
    decision = decide(ev, Subject("C000001", state, who, declined or {}), config(**policy))
    state.apply(ev)
    return decision


def run_due(
    check: ScheduledCheck, state: CustomerState, who: CustomerProfile | None, **policy: object
) -> Decision:
    return decide_due(check, Subject(check.customer_id, state, who, {}), config(**policy))


def published(decision: Decision) -> list[str]:
    return [t.rule.id for t in decision.triggers]
