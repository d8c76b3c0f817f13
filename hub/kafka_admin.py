"""Plain aiokafka clients for what is not stream processing: topic set-up and publishing
tools. Connection problems become :class:`BrokerUnavailable` with the setting to fix."""

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from hub.errors import BrokerUnavailable
from hub.settings import Settings
from schemas import topics

CONNECT_TIMEOUT_S = 15


def client_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.require_kafka(),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
        if settings.kafka_ssl_certfile is not None:
            context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
        options["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def _unreachable(settings: Settings, exc: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(
        f"cannot reach Kafka at {settings.kafka_bootstrap} (HUB_KAFKA_BOOTSTRAP): "
        f"{exc or type(exc).__name__}. "
        "Start the broker or fix the address; `hub infra up` starts a local one."
    )


def contract_topics(settings: Settings) -> list[NewTopic]:
    """Every topic of the contract plus the hub's internal one, with this environment's prefix."""
    plain = [
        *topics.CHANNEL_TOPICS.values(),
        topics.TRIGGERS_OUTCOMES,
        topics.TRIGGERS_CROSS_SELL,
        topics.TRIGGERS_CARE,
        topics.INTERACTIONS_DLQ,
        topics.INTERACTIONS_ACCEPTED,
        topics.INTERACTIONS_UNRESOLVED,
    ]
    new = [NewTopic(settings.topic(name), settings.partitions, settings.replication_factor) for name in plain]
    new.append(
        NewTopic(
            settings.topic(topics.CUSTOMERS_PROFILE),
            settings.partitions,
            settings.replication_factor,
            topic_configs={"cleanup.policy": "compact"},
        )
    )
    return new


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=CONNECT_TIMEOUT_S * 1000)
    try:
        await asyncio.wait_for(admin.start(), CONNECT_TIMEOUT_S)
        existing = set(await admin.list_topics())
        missing = [t for t in contract_topics(settings) if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was first
                await admin.create_topics(missing)
            await _until_led(admin, [t.name for t in missing])
        return [t.name for t in missing]
    except (KafkaError, OSError, TimeoutError) as exc:
        raise _unreachable(settings, exc) from exc
    finally:
        await admin.close()


async def _until_led(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    # A consumer that subscribes before a new topic has leaders ignores the topic until
    # its next metadata refresh, minutes later: wait until every partition is led.
    deadline = asyncio.get_running_loop().time() + CONNECT_TIMEOUT_S
    while asyncio.get_running_loop().time() < deadline:
        described = await admin.describe_topics(names)
        if all(
            t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.2)


@asynccontextmanager
async def producer(settings: Settings, **overrides: Any) -> AsyncIterator[AIOKafkaProducer]:
    options = {"linger_ms": 5, "acks": "all", "enable_idempotence": True, **overrides}
    client = AIOKafkaProducer(**client_options(settings), **options)
    try:
        await asyncio.wait_for(client.start(), CONNECT_TIMEOUT_S)
    except (KafkaConnectionError, KafkaError, OSError, TimeoutError) as exc:
        await client.stop()
        raise _unreachable(settings, exc) from exc
    try:
        yield client
    finally:
        await client.stop()
