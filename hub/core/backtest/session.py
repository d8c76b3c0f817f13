"""A backtest in progress: each customer's history replayed under two rule sets, and tallied.

The candidate rules and the rules in force are replayed side by side, each with a
state of its own, over the very same events, so that the figures compare like with
like. Pure: the histories are handed in by the caller, who reads them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hub.core.backtest.change import RuleChange
from hub.core.backtest.replay import CustomerHistory, CustomerReplay, clean_cut, replay_customer
from hub.core.backtest.tally import Tally
from hub.core.decide import Decided, DecisionConfig


@dataclass(frozen=True, slots=True)
class Replayed:
    """One customer's decisions under each rule set, warm-up included."""

    candidate: list[Decided]
    current: list[Decided]


class Backtest:
    def __init__(
        self,
        candidate: DecisionConfig,
        current: DecisionConfig,
        *,
        horizons: Mapping[int, datetime],
        since: datetime | None,
        zone: ZoneInfo,
    ) -> None:
        """``horizons``: per shard, how far its event time went (its checks due by then
        fire); ``since``: decisions before it are the warm-up's, not counted."""
        self._candidate, self._current = candidate, current
        # The fold is deterministic: the events before the first one a changed rule acts
        # on are decided the same by both sets, so they are replayed once (all of them
        # when there is no such event) and the replay forks there.
        self._change = RuleChange(candidate, current)
        self._horizons = horizons
        self.candidate = Tally(zone, since)
        self.current = Tally(zone, since)
        self.events = 0

    def add(self, history: CustomerHistory) -> Replayed:
        horizon = self._horizons.get(history.shard)
        first = self._change.first_acted_on(history)
        if first is None:
            candidate = current = replay_customer(history, self._candidate, horizon)
        else:
            shared = CustomerReplay(history, self._candidate)
            shared.through(clean_cut(history.events, first))
            current = shared.forked(self._current).finish(horizon)
            candidate = shared.finish(horizon)
        replayed = Replayed(candidate, current)
        self.candidate.add_customer(history.customer_id, replayed.candidate)
        self.current.add_customer(history.customer_id, replayed.current)
        self.events += len(history.events)
        return replayed
