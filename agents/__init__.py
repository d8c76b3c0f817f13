"""Thin Faust agents: take a batch, hand it to the hub's core services, acknowledge it."""

import faust

from agents.history import register_history
from agents.ingest import register_ingest
from agents.lag import register_lag_monitor
from agents.profiles import register_profiles
from hub.kafka_app import declare_topics
from hub.runtime import Runtime


def register_agents(app: faust.App, runtime: Runtime) -> None:
    """Declare the hub's topics, tables and agents on ``app``."""
    hub_topics = declare_topics(app, runtime.settings)
    profiles = register_profiles(app, runtime, hub_topics.profiles)
    register_ingest(app, runtime, hub_topics.channels)
    register_history(app, runtime, hub_topics.accepted, profiles)
    register_lag_monitor(app)
