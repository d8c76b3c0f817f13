"""Prometheus metrics of the hub, served at ``/metrics`` by the worker's web server.

Labels are bounded: channels, types, reason categories, rule ids and trigger kinds come
from the contract and the rule set, never from record contents.
"""

from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# The *_created series double the output and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

M = TypeVar("M", Counter, Gauge, Histogram)
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def labelled(metric: M, *values: str) -> M:
    """``metric.labels(*values)``, looked up once. prometheus_client's ``labels()`` takes a
    lock and builds tuples on every call: 10% of the worker's samples when called per
    event. Labels are bounded (above), so is this; not for series that get removed."""
    key = (id(metric), values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


EVENTS_CONSUMED = Counter(
    "hub_events_consumed_total", "Interactions accepted from the channel topics.", ["channel", "type"]
)
EVENTS_REJECTED = Counter(
    "hub_events_rejected_total", "Records sent to the dead-letter topic, by reason category.", ["reason"]
)
EVENTS_RECORDED = Counter(
    "hub_events_recorded_total",
    "Interactions recorded in the contact history for the first time.",
    ["channel"],
)
EVENTS_DUPLICATE = Counter(
    "hub_events_duplicate_total", "Interactions whose event_id had been recorded before.", ["channel"]
)
EVENTS_LATE = Counter(
    "hub_events_late_total",
    "Interactions that arrived after a later event of their shard had been decided.",
)
EVENTS_WAITING_ALIGNMENT = Gauge(
    "hub_events_waiting_alignment",
    "Interactions held until the other input partitions of their shard catch up in event time.",
)
PROFILES_CONSUMED = Counter("hub_profiles_consumed_total", "Customer profiles stored in the profile table.")
TRIGGERS_PUBLISHED = Counter(
    "hub_triggers_published_total", "Triggers published for marketing.", ["kind", "rule"]
)
DECISIONS = Counter(
    "hub_decisions_total",
    "Decisions by rule, outcome and the policy that decided.",
    ["rule", "outcome", "policy"],
)
RULES_RELOADED = Counter("hub_rules_reloads_total", "Rule file reloads, by result.", ["result"])
OUTCOMES = Counter("hub_trigger_outcomes_total", "Outcomes reported by marketing services.", ["outcome"])
TRIGGERS_REPUBLISHED = Counter(
    "hub_triggers_republished_total", "Triggers recorded before a crash and published on replay."
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
TRIGGER_LATENCY = Histogram(
    "hub_trigger_latency_seconds",
    "Seconds from the last evidence event to the trigger's publication; "
    "origin=event_time uses occurred_at, origin=receipt the hub's receipt of the event.",
    ["origin"],
    buckets=_LATENCY_BUCKETS,
)
DB_WRITE_SECONDS = Histogram(
    "hub_db_write_seconds",
    "Seconds per batched PostgreSQL write.",
    ["table"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DB_BATCH_SIZE = Histogram(
    "hub_db_batch_size",
    "Rows per batched PostgreSQL write.",
    ["table"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
DB_RETRIES = Counter("hub_db_retries_total", "Batches retried because PostgreSQL was unavailable.")
CONSUMER_LAG = Gauge(
    "hub_consumer_lag_messages", "Messages behind the end of each assigned partition.", ["topic", "partition"]
)
IDENTITY_RESOLVED = Counter(
    "hub_identity_resolved_total",
    "Events without customer_id resolved by a channel identifier, by the identifier kind.",
    ["kind"],
)
IDENTITY_WAITING = Gauge(
    "hub_identity_waiting_events", "Events on this worker waiting for a profile that lists their identifiers."
)
IDENTITY_CONFLICTS = Counter(
    "hub_identity_conflicts_total",
    "Identifiers a profile claimed while another customer holds them (not reassigned).",
    ["kind"],
)
CUSTOMERS_MERGED = Counter(
    "hub_events_to_merged_customers_total", "Events for a merged customer id routed to the surviving id."
)
