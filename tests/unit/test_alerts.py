"""The alert rules under deploy/observability: valid for Prometheus, each with its runbook,
and each unit-tested by promtool both firing and not firing."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMETHEUS_DIR = Path(__file__).parents[2] / "deploy" / "observability" / "prometheus"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = PROMETHEUS_DIR / "alerts.test.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        # A failure, never a skip: untested alerts would pass as tested.
        pytest.fail("promtool not found: run `make prometheus` (Debian's prometheus package)")
    return subprocess.run(
        [binary, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60, check=False
    )


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_rules() -> None:
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_unit_tests_pass() -> None:
    tested = promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    fires = {case["alertname"] for case in cases if case["exp_alerts"]}
    stays_quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    names = {rule["alert"] for rule in alerts()}
    assert names - fires == set(), "alerts never tested firing"
    assert names - stays_quiet == set(), "alerts never tested not firing"
    assert (fires | stays_quiet) - names == set(), "tests of alerts that do not exist"


def test_the_asked_for_alerts_exist() -> None:
    assert {rule["alert"] for rule in alerts()} >= {
        "HubWorkerDown",
        "HubConsumerLagGrowing",
        "HubDeadLetterSpike",
        "HubNoIntake",
        "HubPostgresRetries",
        "HubIdentityWaitingNearBound",
        "HubRuleReloadRejected",
    }


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_has_a_runbook(rule: dict[str, Any]) -> None:
    annotations = rule["annotations"]
    assert annotations.keys() >= {"summary", "description", "runbook"}
    runbook = annotations["runbook"]
    for part in ("Means:", "Check:", "Do:"):
        assert part in runbook, f"{rule['alert']}'s runbook says nothing after {part!r}"
    assert rule["labels"]["severity"] in {"critical", "warning"}
