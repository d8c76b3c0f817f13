"""``python -m bench.backtest_parts`` measures each part of a backtest over a stored history."""

import os
import uuid

import pytest

from bench import backtest_parts, isolation
from bench.backtest import seed_history
from hub.settings import load_settings
from hub.storage.admin import migrate_database

EVENTS = 3_000


@pytest.mark.timeout(180)
async def test_each_part_of_a_backtest_is_measured_over_the_same_seeded_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = os.environ["HUB_DATABASE_URL"]
    name = f"parts_{uuid.uuid4().hex[:8]}"
    url = await isolation.create_database(server, name)
    try:
        monkeypatch.setenv("HUB_DATABASE_URL", url)
        settings = load_settings().model_copy(update={"rules_file": None})
        await migrate_database(settings)
        await seed_history(url, EVENTS)

        costs = await backtest_parts.measure(settings, url)
    finally:
        await isolation.drop_database(server, name)

    assert costs.events == EVENTS
    assert costs.server_us > 0 and costs.reading_us > 0
    assert 0 < costs.replayed_events < EVENTS  # the first 2,000 of the customers only
    one, every = costs.replays
    assert one.cpu_us > 0 and every.cpu_us > 0
    # A new version of every rule acts on every customer from their first event; the
    # walk-in referral's threshold only on those with a large foreign-currency deposit.
    assert every.forked == costs.customers
    assert one.forked < every.forked
    assert len(costs.lines()) == 4
