"""Groups of companies: the chain of groups above a company, and loops refused."""

from hub.core.groups import MAX_GROUP_DEPTH, cycle_through, groups_above, top_group

GROUPS = {"M1": "G-SUB", "G-SUB": "G-TOP", "M2": "G-TOP"}


def test_a_company_belongs_to_every_group_up_to_the_top() -> None:
    assert groups_above("M1", GROUPS.get) == ["G-SUB", "G-TOP"]
    assert top_group("M1", GROUPS.get) == top_group("M2", GROUPS.get) == "G-TOP"
    assert top_group("G-TOP", GROUPS.get) is None


def test_a_group_id_that_leads_back_to_the_company_is_a_cycle() -> None:
    assert cycle_through("G-TOP", "M1", GROUPS.get) == ["M1", "G-SUB", "G-TOP"]
    assert cycle_through("G-TOP", "G-TOP", GROUPS.get) == ["G-TOP"]


def test_a_group_id_into_another_branch_is_no_cycle() -> None:
    assert cycle_through("M3", "G-SUB", GROUPS.get) is None
    assert cycle_through("M3", None, GROUPS.get) is None


def test_readers_stop_at_a_loop_stored_before_and_at_the_depth_bound() -> None:
    looped = {"A": "B", "B": "C", "C": "B"}
    assert groups_above("A", looped.get) == ["B", "C"]
    assert cycle_through("X", "A", looped.get) is None
    deep = {f"L{n}": f"L{n + 1}" for n in range(100)}
    assert len(groups_above("L0", deep.get)) == MAX_GROUP_DEPTH
