"""The Faust application: broker connection, topics and tables, no business logic."""

import ssl
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import faust
import mode
from faust.types import TopicT

from hub.faust_compat import ack_current_generation_only, commit_only_handled
from hub.settings import Settings
from schemas import topics


def raw_topic(app: faust.App, *names: str, partitions: int | None = None) -> TopicT:
    """A topic of raw bytes: the hub validates values with its own pydantic models."""
    return app.topic(
        *names,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


@dataclass(frozen=True)
class HubTopics:
    unresolved: TopicT
    profiles: TopicT
    outcomes: TopicT


WRITTEN_BY_THE_HUB = (topics.INTERACTIONS_UNRESOLVED,)
"""The Faust-consumed topics only the hub writes, without transactions or compaction:
every offset is a record, so a record the consumer skips can be noticed (hub.offsets)."""


def create_app(
    settings: Settings, *, contiguous_topics: Collection[str] = WRITTEN_BY_THE_HUB, **overrides: Any
) -> faust.App:
    ack_current_generation_only()
    options: dict[str, Any] = {
        "broker": ";".join(f"kafka://{host}" for host in settings.require_kafka().split(",")),
        "store": settings.store,
        "datadir": str(settings.data_dir),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "processing_guarantee": "at_least_once",
        # Unacknowledged records are redelivered after a restart; waiting for them at
        # shutdown only hangs a worker whose batch cannot finish (database down).
        "stream_wait_empty": False,
        # One fetch per partition of up to 4 MiB: the largest single lever on a batch
        # agent's throughput (about 2x over the 1 MiB default, measured here).
        "consumer_max_fetch_size": 4 * 1024 * 1024,
        "producer_acks": -1,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": settings.session_timeout_s / 3,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_bind": settings.web_host,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "broker_credentials": _credentials(settings),
    }
    options.update(overrides)
    app = faust.App(settings.app_id, **options)
    contiguous = {settings.topic(name) for name in contiguous_topics}
    commit_only_handled(app, contiguous=contiguous.__contains__)
    return app


# An unexpected error ends the worker instead of restarting the agent on later records:
# Faust can commit past a failed batch's offsets once later ones succeed. A restarted
# worker reprocesses the batch from the last committed offset.
AGENT_SUPERVISOR = mode.CrashingSupervisor


def declare_topics(app: faust.App, settings: Settings) -> HubTopics:
    return HubTopics(
        unresolved=raw_topic(
            app, settings.topic(topics.INTERACTIONS_UNRESOLVED), partitions=settings.partitions
        ),
        profiles=raw_topic(app, settings.topic(topics.CUSTOMERS_PROFILE)),
        outcomes=raw_topic(app, settings.topic(topics.TRIGGERS_OUTCOMES)),
    )


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options for a plain aiokafka client, the same as the Faust app's."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.require_kafka(),
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = password.get_secret_value() if password else None
    return options


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_ssl_certfile is not None:
        context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return context


def _credentials(settings: Settings) -> Any:
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = _ssl_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=context,
    )
