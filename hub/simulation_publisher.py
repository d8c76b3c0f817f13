"""Publishes :mod:`hub.simulate` traffic to the broker."""

import asyncio
from datetime import UTC, datetime, timedelta

from rich.progress import Progress

from hub.kafka_admin import ensure_topics, producer
from hub.settings import Settings
from hub.simulate import TrafficGenerator

PROFILE_SETTLE_SECONDS = 2.0
GROUPS = 3


async def publish_traffic(
    settings: Settings,
    *,
    customers: int,
    events: int,
    seed: int = 7,
    groups: int = GROUPS,
    progress: bool = False,
    settle_seconds: float = PROFILE_SETTLE_SECONDS,
) -> TrafficGenerator:
    """Profiles first (so that rules see them; a group before its members), then the
    interactions, in event-time order. Returns the generator (its groups, for a demo)."""
    await ensure_topics(settings)
    start = datetime.now(UTC) - timedelta(seconds=3 * events + 60)
    traffic = TrafficGenerator(customers, seed=seed, start=start, groups=groups)
    profiles = list(traffic.profiles())
    async with producer(settings) as client:
        with Progress(disable=not progress, transient=False) as bar:
            task = bar.add_task("profiles", total=len(profiles))
            for record in profiles:
                await client.send(settings.topic(record.topic), record.value, key=record.key)
                bar.advance(task)
            await client.flush()
            await asyncio.sleep(settle_seconds)
            task = bar.add_task("interactions", total=events)
            for record in traffic.events(events):
                await client.send(settings.topic(record.topic), record.value, key=record.key)
                bar.advance(task)
            await client.flush()
    return traffic
