"""Corporate groups (集团客户): which group a company belongs to, up to the top.

A group is itself a corporate profile, and groups nest (a subsidiary group within a
holding group), so a company's groups are the chain of ``corporate.group_id`` from its
profile upwards. A profile whose ``group_id`` would close a loop is refused by the
profile agent (:func:`cycle_through`); the readers still stop after
:data:`MAX_GROUP_DEPTH` hops and at a repeat, since profiles can arrive in any order.

The group-level cap (:class:`GroupPitches`) is the one policy that needs other
customers' decisions: members of one group live on different partitions, so their
claims meet in PostgreSQL, loaded with the batch and written in its transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

MAX_GROUP_DEPTH = 16

GroupOf = Callable[[str], str | None]
"""A customer id -> the group id its stored profile names (None: none, or no profile)."""


def groups_above(customer_id: str, group_of: GroupOf) -> list[str]:
    """The groups a customer belongs to, nearest first, ending at the top group."""
    chain: list[str] = []
    seen = {customer_id}
    current = group_of(customer_id)
    while current is not None and current not in seen and len(chain) < MAX_GROUP_DEPTH:
        chain.append(current)
        seen.add(current)
        current = group_of(current)
    return chain


def top_group(customer_id: str, group_of: GroupOf) -> str | None:
    """The outermost group a customer belongs to; None when it belongs to none."""
    chain = groups_above(customer_id, group_of)
    return chain[-1] if chain else None


def cycle_through(customer_id: str, group_id: str | None, group_of: GroupOf) -> list[str] | None:
    """The loop that making ``customer_id`` a member of ``group_id`` would close, as the
    chain of groups from ``group_id`` back to ``customer_id``; None when there is none."""
    if group_id is None:
        return None
    chain = [group_id]
    current: str | None = group_id
    while current is not None and len(chain) <= MAX_GROUP_DEPTH:
        if current == customer_id:
            return chain
        current = group_of(current)
        if current is not None:
            if current in chain:
                return None  # a loop above, not through this customer: the readers stop at it
            chain.append(current)
    return None


PitchKey = tuple[str, str, date]
"""(group id, product, week): what the group-level cap allows once."""


def pitch_week(at: datetime) -> date:
    """The Monday (UTC) of the calendar week ``at`` falls in."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


@dataclass(slots=True)
class GroupPitches:
    """The group-level cap's claims: which trigger pitched a product to a group in a week.

    ``stored``: the claims of the batch's groups as PostgreSQL held them before the batch
    (any member's, any worker's); the batch adds its own (``claimed``), which its
    transaction writes. A claim is a trigger id, so a replayed batch finds its own
    claims and publishes as the first run did. Two workers claiming the same key at once
    are told apart by the table's key: the later transaction fails and is decided again
    with the earlier one's claim loaded."""

    stored: dict[PitchKey, str] = field(default_factory=dict)
    claimed: list[tuple[PitchKey, str, str]] = field(default_factory=list)
    """(key, trigger id, customer id) claimed by the batch."""

    def holder(self, key: PitchKey, trigger_id: str) -> str | None:
        """The other trigger that pitched ``key`` already, or None (then claimed for ``trigger_id``)."""
        held = self.stored.get(key)
        if held is not None and held != trigger_id:
            return held
        return None

    def claim(self, key: PitchKey, trigger_id: str, customer_id: str) -> None:
        if key not in self.stored:
            self.stored[key] = trigger_id
            self.claimed.append((key, trigger_id, customer_id))
