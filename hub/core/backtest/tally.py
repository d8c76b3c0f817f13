"""The report's figures per rule, counted one customer at a time.

A backtest reads the history ordered by customer, so a customer's decisions arrive
together: distinct customers are counted without a set of them, and overlaps between
rules are found within one customer's decisions. What is kept per rule is bounded by
the number of days and of rules, never by the length of the history.
"""

from bisect import insort
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.core.decide import Decided
from hub.core.policy import SALES

SAMPLES_PER_RULE = 3
OVERLAP_WINDOW = timedelta(days=7)
"""Two sales proposals this close compete for the customer: the 7-day sales cap lets one through."""


@dataclass(slots=True)
class Sample:
    """One decision of a rule, to show what it would have said; no identifier but the customer id.

    Not frozen, though nothing changes one: the tallies go from a backtest's processes to
    the parent by pickle, and a frozen dataclass of a compiled module (tools/compile_core.py)
    does not unpickle (its ``__setattr__`` refuses the fields)."""

    decision_id: str
    customer_id: str
    at: datetime
    outcome: str
    policy: str | None
    detail: str
    reason: str
    tier: str
    channel: str | None
    evidence: tuple[str, ...]


@dataclass(slots=True)
class Overlap:
    """Customers who would get this rule and another within :data:`OVERLAP_WINDOW`, and
    of those pairs of proposals, which one the policy let out."""

    customers: int = 0
    pairs: int = 0
    this_went_out: int = 0
    other_went_out: int = 0
    both_went_out: int = 0
    neither_went_out: int = 0


@dataclass(slots=True)
class RuleFigures:
    rule_id: str
    version: int
    kind: str
    would_fire: int = 0
    """Proposals the rule made: every decision, whatever the policy said."""
    outcomes: Counter[str] = field(default_factory=Counter)
    """published, suppressed, held_out."""
    stopped_by: Counter[str] = field(default_factory=Counter)
    """The policy that suppressed or held out a proposal (control_group holds out)."""
    customers_proposed: int = 0
    customers_reached: int = 0
    """Distinct customers with at least one published trigger of the rule."""
    published_per_day: Counter[date] = field(default_factory=Counter)
    proposed_per_day: Counter[date] = field(default_factory=Counter)
    by_tier: Counter[str] = field(default_factory=Counter)
    """Published triggers by the customer's tier."""
    by_channel: Counter[str] = field(default_factory=Counter)
    """Published triggers by recommended channel."""
    overlaps: dict[str, Overlap] = field(default_factory=dict)
    published_samples: list[Sample] = field(default_factory=list)
    stopped_samples: list[Sample] = field(default_factory=list)
    """The decisions with the lowest ids (a uuid5: as good as a random pick, and the same
    however the customers were split over processes), published and not."""

    @property
    def published(self) -> int:
        return self.outcomes["published"]

    @property
    def samples(self) -> list[Sample]:
        """A few decisions to show: two published and one stopped, or more of one if the other is short."""
        published, stopped = self.published_samples, self.stopped_samples
        chosen = published[: SAMPLES_PER_RULE - 1] + stopped[:1]
        rest = published[SAMPLES_PER_RULE - 1 :] + stopped[1:]
        return sorted(chosen + rest[: SAMPLES_PER_RULE - len(chosen)], key=lambda s: s.at)

    def keep_sample(self, sample: Sample) -> None:
        if self.wants_sample(sample.decision_id, sample.outcome):
            kept = self.published_samples if sample.outcome == "published" else self.stopped_samples
            insort(kept, sample, key=lambda s: s.decision_id)
            del kept[SAMPLES_PER_RULE:]

    def wants_sample(self, decision_id: str, outcome: str) -> bool:
        """Whether a decision of this id and outcome would be kept as a sample (most are not)."""
        kept = self.published_samples if outcome == "published" else self.stopped_samples
        return len(kept) < SAMPLES_PER_RULE or decision_id < kept[-1].decision_id


@dataclass(slots=True)
class Tally:
    """Figures per rule over the decisions counted (those at or after ``since``)."""

    zone: ZoneInfo
    """Days are counted in this time zone (the hub's default)."""
    since: datetime | None = None
    """Decisions before it belong to the warm-up: they shape the state, not the figures."""
    rules: dict[str, RuleFigures] = field(default_factory=dict)
    customers: int = 0
    """Customers replayed."""

    def add_customer(self, customer_id: str, decided: Sequence[Decided]) -> None:
        self.customers += 1
        counted = [d for d in decided if self.since is None or d.verdict.draft.at >= self.since]
        proposed: set[str] = set()
        reached: set[str] = set()
        for one in counted:
            figures = self._figures_of(one)
            self._count(figures, one)
            proposed.add(figures.rule_id)
            if one.verdict.outcome == "published":
                reached.add(figures.rule_id)
        for rule_id in proposed:
            self.rules[rule_id].customers_proposed += 1
        for rule_id in reached:
            self.rules[rule_id].customers_reached += 1
        self._overlaps(counted)

    def _figures_of(self, one: Decided) -> RuleFigures:
        draft = one.verdict.draft
        figures = self.rules.get(draft.rule.id)
        if figures is None:
            figures = self.rules[draft.rule.id] = RuleFigures(draft.rule.id, draft.rule.version, draft.kind)
        return figures

    def _count(self, figures: RuleFigures, one: Decided) -> None:
        verdict = one.verdict
        day = verdict.draft.at.astimezone(self.zone).date()
        figures.would_fire += 1
        figures.outcomes[verdict.outcome] += 1
        figures.proposed_per_day[day] += 1
        if verdict.policy is not None:
            figures.stopped_by[verdict.policy] += 1
        if verdict.outcome == "published":
            figures.published_per_day[day] += 1
            figures.by_tier[one.tier] += 1
            figures.by_channel[verdict.channel or "none"] += 1
        if figures.wants_sample(one.decision_id, verdict.outcome):
            figures.keep_sample(_sample(one))

    def _overlaps(self, counted: Sequence[Decided]) -> None:
        sales = sorted(
            (d for d in counted if d.verdict.draft.kind in SALES), key=lambda d: d.verdict.draft.at
        )
        met: set[tuple[str, str]] = set()
        for i, one in enumerate(sales):
            for other in sales[i + 1 :]:
                a, b = one.verdict, other.verdict
                if b.draft.at - a.draft.at > OVERLAP_WINDOW:
                    break  # sorted by time: none later is within the window either
                if a.draft.rule.id == b.draft.rule.id:
                    continue
                self._pair(a.draft.rule.id, b.draft.rule.id, a.outcome, b.outcome, met)
                self._pair(b.draft.rule.id, a.draft.rule.id, b.outcome, a.outcome, met)

    def _pair(self, this: str, other: str, this_out: str, other_out: str, met: set[tuple[str, str]]) -> None:
        overlaps = self.rules[this].overlaps
        overlap = overlaps.get(other)
        if overlap is None:  # not setdefault: a new Overlap for every pair would cost more than the count
            overlap = overlaps[other] = Overlap()
        if (this, other) not in met:
            met.add((this, other))
            overlap.customers += 1
        overlap.pairs += 1
        mine, theirs = this_out == "published", other_out == "published"
        if mine and theirs:
            overlap.both_went_out += 1
        elif mine:
            overlap.this_went_out += 1
        elif theirs:
            overlap.other_went_out += 1
        else:
            overlap.neither_went_out += 1


def _sample(one: Decided) -> Sample:
    verdict, draft = one.verdict, one.verdict.draft
    return Sample(
        decision_id=one.decision_id,
        customer_id=one.customer_id,
        at=draft.at,
        outcome=verdict.outcome,
        policy=verdict.policy,
        detail=verdict.detail,
        reason=draft.reason,
        tier=one.tier,
        channel=verdict.channel,
        evidence=draft.evidence,
    )


def merged(parts: Sequence[Tally]) -> Tally:
    """One tally of several over disjoint sets of customers (parts of one backtest)."""
    assert parts, "at least one part"
    total = Tally(parts[0].zone, parts[0].since)
    for part in parts:
        total.customers += part.customers
        for rule_id, figures in part.rules.items():
            into = total.rules.get(rule_id)
            if into is None:
                into = total.rules[rule_id] = RuleFigures(figures.rule_id, figures.version, figures.kind)
            _add_figures(into, figures)
    return total


def _add_figures(into: RuleFigures, figures: RuleFigures) -> None:
    into.would_fire += figures.would_fire
    into.customers_proposed += figures.customers_proposed
    into.customers_reached += figures.customers_reached
    # Counter.update adds.
    into.outcomes.update(figures.outcomes)
    into.stopped_by.update(figures.stopped_by)
    into.published_per_day.update(figures.published_per_day)
    into.proposed_per_day.update(figures.proposed_per_day)
    into.by_tier.update(figures.by_tier)
    into.by_channel.update(figures.by_channel)
    for other, overlap in figures.overlaps.items():
        total = into.overlaps.setdefault(other, Overlap())
        for name in Overlap.__dataclass_fields__:
            setattr(total, name, getattr(total, name) + getattr(overlap, name))
    for sample in [*figures.published_samples, *figures.stopped_samples]:
        into.keep_sample(sample)
