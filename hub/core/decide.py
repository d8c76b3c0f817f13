"""The decision: from one new event and what we know of the customer, which triggers go out.

This is the function the agents call and the tests exercise; it reads no clock and does
no I/O, so a replay of the same events gives the same triggers with the same ids.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from hub.core.drafts import TriggerDraft
from hub.core.policy import judge
from hub.core.rules import DEFAULT_RULES, Rule, RuleContext
from hub.core.state import CustomerState
from hub.core.tiers import tier_of
from hub.settings import RuleSettings, TierSettings
from schemas.interaction import Interaction
from schemas.profile import CustomerProfile
from schemas.trigger import ContactChannel, Tier, Trigger

TRIGGER_ID_NAMESPACE = uuid.UUID("6f1d4c1e-2b7a-5d3e-9a41-7c0e8b5f3a21")


@dataclass(frozen=True, slots=True)
class DecisionConfig:
    rules: RuleSettings
    tiers: TierSettings
    rates: Mapping[str, Decimal]
    home_currency: str


@dataclass(frozen=True, slots=True)
class Suppressed:
    draft: TriggerDraft
    policy: str


@dataclass(slots=True)
class Decision:
    triggers: list[Trigger] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)


def decide(
    event: Interaction,
    state: CustomerState,
    profile: CustomerProfile | None,
    config: DecisionConfig,
    rules: tuple[Rule, ...] = DEFAULT_RULES,
) -> Decision:
    """Evaluate ``rules`` for a new ``event`` against the state *before* it is applied."""
    tier = tier_of(profile, config.tiers, rates=config.rates, home=config.home_currency)
    context = RuleContext(profile, tier, config.rules, config.rates, config.home_currency)
    decision = Decision()
    for rule in rules:
        draft = rule(event, state, context)
        if draft is None:
            continue
        verdict = judge(draft, state, profile, event.occurred_at)
        if verdict.channel is None or not verdict.allowed:
            decision.suppressed.append(Suppressed(draft, verdict.suppressed_by or "channel_consent"))
            continue
        decision.triggers.append(make_trigger(draft, event, tier, verdict.channel))
    return decision


def trigger_id(rule_id: str, rule_version: int, customer_id: str, evidence: tuple[str, ...]) -> str:
    """A stable id: the same rule on the same evidence for the same customer, the same id."""
    name = f"{rule_id}/{rule_version}/{customer_id}/{','.join(evidence)}"
    return str(uuid.uuid5(TRIGGER_ID_NAMESPACE, name))


def make_trigger(draft: TriggerDraft, event: Interaction, tier: Tier, channel: ContactChannel) -> Trigger:
    customer_id = event.customer.customer_id
    assert customer_id is not None, "validation rejects events without a customer_id"
    # Event time, not arrival time: a replay must produce the very same trigger.
    created_at = event.occurred_at
    return Trigger(
        trigger_id=trigger_id(draft.rule.id, draft.rule.version, customer_id, draft.evidence),
        kind=draft.kind,
        customer_id=customer_id,
        rule=draft.rule,
        action=draft.action,
        product=draft.product,
        reason=draft.reason,
        evidence=list(draft.evidence),
        tier=tier,
        priority=draft.priority,
        recommended_channel=channel,
        created_at=created_at,
        not_before=created_at,
        expires_at=created_at + draft.valid_for,
    )
