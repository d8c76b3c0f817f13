"""py-spy's collapsed stacks: parsed, written back diffably, and ranked by own samples."""

from collections import Counter

from bench.profile import parse_collapsed, render_collapsed, top_functions

RAW = """\
<module> (hub/__main__.py);run (asyncio/runners.py);handle (hub/recorder.py);validate_json (pydantic) 40
<module> (hub/__main__.py);run (asyncio/runners.py);handle (hub/recorder.py) 10
<module> (hub/__main__.py);run (asyncio/runners.py);select (selectors.py) 25
not a stack line
<module> (hub/__main__.py);run (asyncio/runners.py);handle (hub/recorder.py) 5
"""


def test_parse_sums_repeated_stacks_and_skips_malformed_lines() -> None:
    stacks = parse_collapsed(RAW)

    assert sum(stacks.values()) == 80
    assert stacks["<module> (hub/__main__.py);run (asyncio/runners.py);handle (hub/recorder.py)"] == 15


def test_render_is_sorted_by_stack_and_parses_back() -> None:
    stacks = parse_collapsed(RAW)
    text = render_collapsed(stacks)

    assert text.splitlines() == sorted(text.splitlines())
    assert parse_collapsed(text) == stacks


def test_top_functions_rank_own_samples_and_count_callees_once_per_stack() -> None:
    recursive = Counter({"a;b;a": 3})
    top = top_functions(parse_collapsed(RAW) + recursive, 3)

    assert [(t.function, t.own) for t in top] == [
        ("validate_json (pydantic)", 40),
        ("select (selectors.py)", 25),
        ("handle (hub/recorder.py)", 15),
    ]
    assert top[2].total == 55
    assert top_functions(recursive, 1)[0].total == 3
