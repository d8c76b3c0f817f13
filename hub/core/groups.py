"""Corporate groups (集团客户): which group a company belongs to, up to the top.

A group is itself a corporate profile, and groups nest (a subsidiary group within a
holding group), so a company's groups are the chain of ``corporate.group_id`` from its
profile upwards. A profile whose ``group_id`` would close a loop is refused by the
profile agent (:func:`cycle_through`); the readers still stop after
:data:`MAX_GROUP_DEPTH` hops and at a repeat, since profiles can arrive in any order.
"""

from collections.abc import Callable

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
