"""Series exist at 0 for every label value known in advance; the rules in force are shown."""

import re
from pathlib import Path

from prometheus_client import REGISTRY

from hub import metrics
from hub.core.policy import POLICIES
from hub.core.validation import REJECTION_CATEGORIES
from hub.rules.book import RuleBook
from hub.rules.loading import read_rules
from schemas.interaction import TYPES_BY_CHANNEL

ROOT = Path(__file__).resolve().parents[2]


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_known_label_values_have_series_at_zero_from_start() -> None:
    metrics.initialise_known_series()
    assert value("hub_events_rejected_total", reason="future_event") is not None
    assert value("hub_events_consumed_total", channel="web", type="application_started") is not None
    assert value("hub_events_recorded_total", channel="branch") is not None
    assert value("hub_trigger_outcomes_total", outcome="expired") is not None
    assert value("hub_identity_resolved_total", kind="card_no") is not None
    assert value("hub_rules_reloads_total", result="rejected") is not None
    assert value("hub_db_batch_size_events_count", table="triggers") is not None
    build = [s for f in REGISTRY.collect() if f.name == "hub_build_info" for s in f.samples]
    assert len(build) == 1 and build[0].value == 1 and build[0].labels["version"]


def test_every_rejection_category_and_policy_in_the_code_is_listed() -> None:
    code = "\n".join(p.read_text() for d in ("hub", "agents") for p in (ROOT / d).rglob("*.py"))
    categories = set(re.findall(r'Rejection\(\s*"([a-z_]+)"', code))
    categories |= set(re.findall(r'category="([a-z_]+)"', code))
    assert categories and categories <= set(REJECTION_CATEGORIES)
    policy = (ROOT / "hub/core/policy.py").read_text()
    named = set(re.findall(r'return "([a-z_]+)", f?"', policy))
    named |= set(re.findall(r'draft, "suppressed", "([a-z_]+)"', policy))
    named |= set(re.findall(r'"held_out",\s*"([a-z_]+)"', policy))
    assert named and named <= set(POLICIES)
    assert set(TYPES_BY_CHANNEL) == {"teller", "phone", "web", "branch"}


def test_the_rules_in_force_are_shown_and_replaced_on_reload(tmp_path: Path) -> None:
    RuleBook(None)
    shipped = read_rules(None)
    assert value("hub_rules_info", sha256=shipped.sha256, source="default rules") == 1
    assert value("hub_rule_version", rule="long_branch_wait") is not None
    for rule in shipped.rules.rules:
        assert value("hub_triggers_published_total", kind=rule.trigger.kind, rule=rule.id) is not None
        assert value("hub_decisions_total", rule=rule.id, outcome="published", policy="") is not None
    assert (
        value("hub_decisions_total", rule="fx_active_up_sell", outcome="held_out", policy="control_group")
        == 0
    )
    assert (
        value("hub_decisions_total", rule="long_branch_wait", outcome="held_out", policy="control_group")
        is None
    )

    path = tmp_path / "rules.yaml"
    first = read_rules(None).rules.rules[0]
    path.write_text("rules:\n" + _one_rule_yaml(first.id))
    book = RuleBook(path)
    mine = read_rules(path)
    assert value("hub_rules_info", sha256=mine.sha256, source=str(path)) == 1
    assert value("hub_rules_info", sha256=shipped.sha256, source="default rules") is None
    assert value("hub_rule_version", rule="long_branch_wait") is None
    assert book.rules[0].id == first.id


def _one_rule_yaml(rule_id: str) -> str:
    import yaml

    data = yaml.safe_load((ROOT / "hub/rules/default.yaml").read_text())
    rule = next(r for r in data["rules"] if r["id"] == rule_id)
    return "  - " + yaml.safe_dump(rule, default_flow_style=True, width=10_000).strip() + "\n"
