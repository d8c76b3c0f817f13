"""Prometheus metrics of the hub, served at ``/metrics`` by the worker's web server.

Labels are bounded: channels, types, reason categories, rule ids and trigger kinds come
from the contract and the rule set, never from record contents. Every label value known
in advance has its series from start, at 0 (:func:`initialise_known_series`, and
:func:`rules_loaded` for the rules' ids), so that ``rate()`` and alerts see the first
increment and a missing series means a missing worker, not a quiet one.
"""

from collections.abc import Sequence
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from hub.core.pii import IDENTIFIER_KINDS
from hub.core.policy import POLICIES
from hub.core.validation import REJECTION_CATEGORIES
from schemas.interaction import CHANNELS, TYPES_BY_CHANNEL
from schemas.trigger import SALES_KINDS, OutcomeKind

if TYPE_CHECKING:
    from hub.core.rules.spec import RuleSpec

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
COMPANY_COPIES = Counter(
    "hub_company_copies_total",
    "Companies' copies of events done for them (on_behalf_of): recorded for the first time, or again.",
    ["outcome"],
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
    "hub_db_batch_size_events",
    "Rows (events or triggers) per batched PostgreSQL write.",
    ["table"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
DB_RETRIES = Counter("hub_db_retries_total", "Batches retried because PostgreSQL was unavailable.")
CONSUMER_LAG = Gauge(
    "hub_consumer_lag_messages",
    "Messages behind the end of each assigned partition of a data topic (no changelog topics).",
    ["topic", "partition"],
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
BUILD_INFO = Gauge(
    "hub_build_info", "Always 1; the version of the hub that serves these metrics.", ["version"]
)
RULES_INFO = Gauge(
    "hub_rules_info",
    "Always 1; the SHA-256 (first 16 hex digits) of the rule file in force and where it came from.",
    ["sha256", "source"],
)
RULE_VERSION = Gauge("hub_rule_version", "The version of each rule in force.", ["rule"])

DB_TABLES = ("interactions", "decisions", "triggers", "states")
RULE_RELOAD_RESULTS = ("loaded", "rejected")


def initialise_known_series() -> None:
    """Create, at 0, the series of every label value the code knows before any record."""
    BUILD_INFO.labels(version("interaction-hub")).set(1)
    for channel in CHANNELS:
        for type_ in TYPES_BY_CHANNEL[channel]:
            labelled(EVENTS_CONSUMED, channel, type_)
        labelled(EVENTS_RECORDED, channel)
        labelled(EVENTS_DUPLICATE, channel)
    for outcome in ("recorded", "duplicate"):
        labelled(COMPANY_COPIES, outcome)
    for category in REJECTION_CATEGORIES:
        labelled(EVENTS_REJECTED, category)
    for result in RULE_RELOAD_RESULTS:
        RULES_RELOADED.labels(result)
    for outcome in get_args(OutcomeKind):
        OUTCOMES.labels(outcome)
    for kind in IDENTIFIER_KINDS:
        labelled(IDENTITY_RESOLVED, kind)
        IDENTITY_CONFLICTS.labels(kind)
    for table in DB_TABLES:
        labelled(DB_WRITE_SECONDS, table)
    for table in ("interactions", "triggers"):
        labelled(DB_BATCH_SIZE, table)
    for origin in ("event_time", "receipt"):
        labelled(TRIGGER_LATENCY, origin)


def rules_loaded(rules: Sequence["RuleSpec"], *, sha256: str, source: str) -> None:
    """Say which rules are in force, and give each rule's trigger and decision series a 0.

    Series of rules no longer in force stay: their counts are history, and Prometheus
    forgets them at the next restart."""
    RULES_INFO.clear()
    RULES_INFO.labels(sha256, source).set(1)
    RULE_VERSION.clear()
    for rule in rules:
        RULE_VERSION.labels(rule.id).set(rule.version)
        kind = rule.trigger.kind
        labelled(TRIGGERS_PUBLISHED, kind, rule.id)
        labelled(DECISIONS, rule.id, "published", "")
        for policy in POLICIES:
            if policy == "control_group":
                if kind in SALES_KINDS:
                    labelled(DECISIONS, rule.id, "held_out", policy)
            else:
                labelled(DECISIONS, rule.id, "suppressed", policy)
