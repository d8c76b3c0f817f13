"""The backtest report as JSON, on the terminal and as HTML: the same figures, no personal data."""

import io
import json
from datetime import timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from rich.console import Console

from hub.backtest.html import render_html
from hub.backtest.terminal import print_report
from hub.core.backtest.compare import compare
from hub.core.backtest.replay import replay_customer
from hub.core.backtest.report import BacktestReport, RuleSource
from hub.core.backtest.tally import Tally
from hub.core.decide import DecisionConfig
from tests.unit.core.backtest.history import at, big_deposit, history, received, travel_exchange, wealthy
from tests.unit.core.decisions import RULES, config

WALK_IN, TRAVEL = "high_value_walk_in_rm_referral", "travel_or_study_card"
CARD = "4000123412341234"


def sample_report(*, diff_only: bool = False) -> BacktestReport:
    """Two customers over ten days; the candidate disables the walk-in referral."""
    walk_in = next(r for r in RULES if r.id == WALK_IN)
    candidate_rules = [walk_in.model_copy(update={"enabled": False}), *(r for r in RULES if r.id != WALK_IN)]
    base = config()
    tallies = []
    for rules in (candidate_rules, RULES):
        tally = Tally(ZoneInfo("Asia/Shanghai"))
        for cid in ("C1", "C2"):
            who = wealthy(cid, identifiers={"card_no": [CARD], "phone": ["+8613800000000"]})
            one = history(
                cid,
                big_deposit(cid, at(0), f"{cid}-1"),
                travel_exchange(cid, at(3), f"{cid}-2"),
                received(cid, "phone", "complaint", at(5), f"{cid}-3"),
                who=who,
            )
            decided = replay_customer(
                one, DecisionConfig(rules, base.tiers, base.rates, base.policy, base.default_zone), None
            )
            tally.add_customer(cid, decided)
        tallies.append(tally)
    return BacktestReport(
        candidate=RuleSource("new.yaml", "aaaa"),
        current=RuleSource("default rules", "bbbb"),
        diff_only=diff_only,
        period_from=at(0),
        period_to=at(0) + timedelta(days=9, hours=12),
        days=10,
        start_state="empty state",
        selection="every customer",
        order="as the worker recorded them",
        customers=2,
        events=6,
        seconds=0.5,
        rules=compare(candidate_rules, RULES, tallies[0], tallies[1]),
    )


def test_json_carries_each_figure_side_by_side_with_its_change() -> None:
    data = json.loads(json.dumps(sample_report().to_json()))
    rules = {r["rule_id"]: r for r in data["rules"]}
    travel = rules[TRAVEL]
    assert (travel["candidate"]["published"], travel["current"]["published"]) == (2, 0)
    assert travel["delta"] == {
        "would_fire": 0,
        "published": 2,
        "customers_reached": 2,
        "stopped_by": {"frequency_cap": -2},
    }
    assert travel["candidate"]["published_per_day"] == 0.2
    assert travel["candidate"]["by_tier"] == {"wealth": {"count": 2, "share": 1.0}}
    assert rules[WALK_IN]["current"]["overlaps"][TRAVEL]["this_went_out"] == 2
    assert rules[WALK_IN]["change"] == "changed"
    assert data["events_per_second"] == 12
    assert len(data["rules"]) == len(RULES)


def test_diff_mode_leaves_out_the_rules_that_change_nothing() -> None:
    shown = {r["rule_id"] for r in sample_report(diff_only=True).to_json()["rules"]}
    assert shown == {WALK_IN, TRAVEL}


def test_no_card_or_phone_number_in_any_output() -> None:
    report = sample_report()
    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    for text in (out.getvalue(), render_html(report), json.dumps(report.to_json(), default=str)):
        assert CARD not in text and "1234" not in text
        assert "13800000000" not in text


def test_the_terminal_shows_the_table_and_each_rules_details() -> None:
    out = io.StringIO()
    print_report(sample_report(diff_only=True), Console(file=out, width=200))
    text = out.getvalue()
    assert "travel_or_study_card" in text and "2 (+2)" in text
    assert "frequency_cap -2" in text
    assert "e.g." in text and "stated need" in text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_html_holds_a_daily_chart_per_rule_and_the_suppression_breakdown() -> None:
    parser = _Tags()
    parser.feed(render_html(sample_report()))
    charts = [a["data-rule"] for t, a in parser.tags if t == "svg" and a.get("class") == "daily"]
    assert charts == [TRAVEL, "complaint_follow_up"], "a chart for each rule with proposals"
    parts = [(a["data-part"]) for t, a in parser.tags if t == "rect" and a.get("class") == "part"]
    assert "frequency_cap" not in parts or "published" in parts
    assert "published" in parts
    assert not any(t == "script" for t, _ in parser.tags), "a self-contained page without scripts"
