"""Thin Faust agents: take a batch, hand it to the hub's core services, acknowledge it.

The channel topics and the internal topic of accepted events are not Faust agents: the
hot path (:mod:`hub.hot_path`) reads them with its own aiokafka consumer, hosted in the
app as a service, at a fraction of Faust's cost per record.
"""

import faust

from agents.identity import identity_of
from agents.lag import register_lag_monitor
from agents.outcomes import register_outcomes
from agents.profiles import register_profiles
from agents.resolve import register_resolve
from agents.rules import register_rule_reloads
from hub.hot_path import HotPath
from hub.kafka_app import declare_topics
from hub.rules.book import RuleBook
from hub.runtime import Runtime


def register_agents(app: faust.App, runtime: Runtime) -> HotPath:
    """Declare the hub's topics, tables, agents and the hot path on ``app``."""
    hub_topics = declare_topics(app, runtime.settings)
    rulebook = RuleBook(runtime.settings.rules_file)
    profiles = register_profiles(app, runtime, hub_topics.profiles)
    register_resolve(app, runtime, hub_topics.unresolved, profiles)
    register_outcomes(app, runtime, hub_topics.outcomes)
    register_lag_monitor(app, runtime.settings)
    register_rule_reloads(app, rulebook, runtime.settings.rules_reload_seconds)
    hot_path = HotPath(runtime, identity_of(runtime, profiles), profiles, lambda: rulebook.rules)
    app.service(hot_path)  # type: ignore[arg-type]
    return hot_path
