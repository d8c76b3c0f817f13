"""Thin Faust agents: take a batch, hand it to the hub's core services, acknowledge it."""

import faust

from agents.history import register_history
from agents.ingest import register_ingest
from agents.lag import register_lag_monitor
from agents.outcomes import register_outcomes
from agents.profiles import register_profiles
from agents.resolve import register_resolve
from agents.rules import register_rule_reloads
from hub.kafka_app import declare_topics
from hub.rules.book import RuleBook
from hub.runtime import Runtime


def register_agents(app: faust.App, runtime: Runtime) -> None:
    """Declare the hub's topics, tables and agents on ``app``."""
    hub_topics = declare_topics(app, runtime.settings)
    rulebook = RuleBook(runtime.settings.rules_file)
    profiles = register_profiles(app, runtime, hub_topics.profiles)
    register_ingest(app, runtime, hub_topics.channels, profiles)
    register_resolve(app, runtime, hub_topics.unresolved, profiles)
    register_history(app, runtime, hub_topics.accepted, profiles, rulebook)
    register_outcomes(app, runtime, hub_topics.outcomes)
    register_lag_monitor(app)
    register_rule_reloads(app, rulebook, runtime.settings.rules_reload_seconds)
