"""The backtest can be trusted as a forecast: over the history of a live run, with the
same rules and policy, it decides exactly what the worker logged, ids and all."""

import asyncio
import hashlib
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bench import isolation
from hub.backtest.run import BacktestOptions, run_backtest
from hub.core.backtest.replay import CustomerHistory
from hub.core.backtest.session import Replayed
from hub.rules.loading import default_rules_text
from hub.settings import load_settings
from hub.simulate import TrafficGenerator
from tests.integration.harness import HubUnderTest, fetch, wait_for_metric

CUSTOMERS, EVENTS = 150, 3000
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "hub" / "rules" / "default.yaml"
TABLES = ("interactions", "decisions", "triggers", "scheduled_checks", "customer_state", "outcomes")


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    """A database of the test's own: the backtest reads the whole history, so no other test's."""
    server = os.environ["HUB_DATABASE_URL"]
    name = f"backtest_{uuid.uuid4().hex[:8]}"
    url = await isolation.create_database(server, name)
    yield url
    await isolation.drop_database(server, name)


async def _live_run(hub: HubUnderTest, url: str) -> None:
    """The simulator's traffic (duplicates, customers named by identifiers only) through a worker."""
    start = datetime.now(UTC) - timedelta(seconds=3 * EVENTS + 3600)
    traffic = TrafficGenerator(CUSTOMERS, seed=int(time.time()), start=start, bad_share=0.0, groups=3)
    profiles, events = list(traffic.profiles()), list(traffic.events(EVENTS))
    unique = len({json.loads(r.value)["event_id"] for r in events})
    await hub.produce([(r.topic, r.key, r.value) for r in profiles])
    await wait_for_metric(hub, "hub_profiles_consumed_total", len(profiles), timeout_s=60)
    await hub.produce([(r.topic, r.key, r.value) for r in events])
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and stored < unique:
        await asyncio.sleep(0.5)
        stored = (await _counts(url))["interactions"]
    assert stored == unique, f"{stored} of {unique} events stored:\n{hub.log()}"


async def _counts(url: str) -> dict[str, int]:
    previous = os.environ["HUB_DATABASE_URL"]
    os.environ["HUB_DATABASE_URL"] = url
    try:
        return {t: (await fetch(f"SELECT count(*) FROM {t}"))[0][0] for t in TABLES}
    finally:
        os.environ["HUB_DATABASE_URL"] = previous


@pytest.mark.timeout(400)
async def test_a_backtest_of_the_rules_in_force_decides_what_the_live_worker_logged(
    tmp_path: Path, own_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A control group as in production, so that held-out decisions are compared too.
    env = {"HUB_DATABASE_URL": own_database, "HUB_POLICY__CONTROL_SHARE": "0.05"}
    hub = HubUnderTest(tmp_path, extra_env=env)
    hub.hub("migrate")
    hub.start()
    try:
        await _live_run(hub, own_database)
        # Published in one burst over four topics, a third to a half of the events reach the
        # worker after a later one of their shard was decided (800 to 1,600 in runs here): the
        # backtest must decide them in the order the worker did, not in event-time order.
        late = sum(v for k, v in hub.metrics().items() if k.startswith("hub_events_late_total"))
        assert late > 0, "the run holds late events, which the replay's order must follow"
    finally:
        hub.stop()  # nothing changes the history from here on
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    logged = {r["decision_id"]: tuple(r.values())[1:] for r in await fetch(_LOGGED)}
    replayed: dict[str, tuple[object, ...]] = {}

    def collect(history: CustomerHistory, decisions: Replayed) -> None:
        for d in decisions.candidate:
            v = d.verdict
            draft = v.draft
            replayed.setdefault(
                d.decision_id,
                # What the recorder stores of a decision (UnitOfWork.add_decisions), in its order.
                (
                    d.customer_id, draft.rule.id, draft.rule.version, draft.kind, draft.product, d.tier,
                    v.outcome, v.policy, v.detail, draft.reason, list(draft.evidence), v.channel,
                    v.not_before, draft.at, draft.cap_key,
                ),
            )  # fmt: skip

    report = await run_backtest(load_settings(), BacktestOptions(DEFAULT_RULES), on_replayed=collect)

    assert len(logged) > 200, "the run decided enough to compare"
    assert {v[6] for v in logged.values()} == {"published", "suppressed", "held_out"}
    assert replayed.keys() == logged.keys()
    differing = [(k, logged[k], replayed[k]) for k in logged if logged[k] != replayed[k]]
    assert not differing, differing[:5]
    # The companies' copies of events done for them are replayed as the worker decided
    # them (the simulator's groups act through the people): companies are customers too.
    with_events = await fetch(_EVENTS_BY_CUSTOMER)
    assert report.customers == len(with_events) > CUSTOMERS
    company_rules = {"key_account_large_outflow", "company_fx_hedging_cross_sell", "key_account_complaint"}
    assert company_rules & {v[1] for v in logged.values()}, "the run decided for companies"

    await _a_changed_copy_from_the_command_line(hub, tmp_path, own_database)
    await _a_sample_split_over_processes(hub)


_LOGGED = """
SELECT decision_id, customer_id, rule_id, rule_version, kind, product, tier, outcome, policy, detail, reason,
       evidence, channel, not_before, decided_at, cap_key
FROM decisions
"""


async def _a_changed_copy_from_the_command_line(hub: HubUnderTest, tmp_path: Path, url: str) -> None:
    """``hub backtest NEW.yaml`` (the rules in force are the shipped ones): the report, the
    HTML file, nothing written, no broker needed; the rules it leaves alone that share no
    cap with a changed one (care) decide as the worker did."""
    rules = yaml.safe_load(default_rules_text())
    walk_in = next(r for r in rules["rules"] if r["id"] == "high_value_walk_in_rm_referral")
    walk_in["version"] += 1
    walk_in["when"]["event"]["money_at_least"]["amount"] = "100000"
    next(r for r in rules["rules"] if r["id"] == "travel_or_study_card")["enabled"] = False
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(rules))
    html = tmp_path / "report.html"
    before = await _counts(url)
    hub.extra_env["HUB_KAFKA_BOOTSTRAP"] = "127.0.0.1:1"  # never asked for
    result = hub.hub("backtest", str(changed), "--json", "--html", str(html), "--jobs", "2")
    assert await _counts(url) == before, "a backtest writes nothing"
    report = json.loads(result.stdout)
    by_rule = {r["rule_id"]: r for r in report["rules"]}
    assert by_rule["high_value_walk_in_rm_referral"]["change"] == "changed"
    assert by_rule["travel_or_study_card"]["candidate"]["would_fire"] == 0
    log = Counter((r["rule_id"], r["outcome"]) for r in await fetch("SELECT rule_id, outcome FROM decisions"))
    for rule_id, row in by_rule.items():
        current = row["current"]
        assert (current["published"], current["suppressed"], current["held_out"]) == (
            log[(rule_id, "published")],
            log[(rule_id, "suppressed")],
            log[(rule_id, "held_out")],
        ), rule_id
        if current["kind"] == "care":
            assert row["candidate"] == current, rule_id
    page = html.read_text()
    assert 'class="daily"' in page and 'id="breakdown"' in page


async def _a_sample_split_over_processes(hub: HubUnderTest) -> None:
    """``--sample 0.5``: the customers whose id's MD5 starts below half of 2^32, whatever
    ``--jobs`` (the parts split the sample into ranges of customer ids)."""
    events = {r["customer_id"]: r["n"] for r in await fetch(_EVENTS_BY_CUSTOMER)}
    chosen = [c for c in events if int.from_bytes(hashlib.md5(c.encode()).digest()[:4], "big") / 2**32 < 0.5]
    reports = [
        json.loads(
            hub.hub("backtest", str(DEFAULT_RULES), "--sample", "0.5", "--jobs", jobs, "--json").stdout
        )
        for jobs in ("1", "3")
    ]
    for report in reports:
        assert (report["customers"], report["events"]) == (len(chosen), sum(events[c] for c in chosen))
    assert reports[0]["rules"] == reports[1]["rules"]


# Each customer's copies: their own events, and a company's copies of events done for it.
_EVENTS_BY_CUSTOMER = """
SELECT customer_id, count(*) AS n FROM (
    SELECT customer_id FROM interactions
    UNION ALL SELECT customer_id FROM interaction_parties WHERE role = 'represented'
) AS copies GROUP BY customer_id
"""
