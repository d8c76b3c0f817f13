"""The AsyncAPI 3 document of every topic (``schemas/asyncapi.yaml``, written by ``make schemas``).

Built from the same pydantic models, through the same adapters, as the JSON Schema files
(:data:`schemas.export.SHAPES`), so the two never disagree; a unit test fails when the
checked-in file is stale, and another validates it with the AsyncAPI parser.

    document()["channels"]["triggers_care"]["address"]  # 'triggers.care'
"""

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

import yaml
from pydantic import TypeAdapter

from schemas import headers, topics
from schemas.interaction import INTERACTION_ADAPTER
from schemas.profile import CustomerProfile
from schemas.rejected import RejectedRecord
from schemas.trigger import Trigger, TriggerOutcome

ASYNCAPI_VERSION = "3.1.0"
KAFKA_BINDING = "0.5.0"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True, slots=True)
class Message:
    name: str
    schema: str
    """Its payload's name under components/schemas."""
    adapter: TypeAdapter[Any]
    summary: str
    key: str
    headers: tuple[str, ...] = ()
    optional_headers: tuple[str, ...] = ()
    """Headers only some of its records carry."""


@dataclass(frozen=True, slots=True)
class Topic:
    address: str
    message: str
    hub: tuple[Literal["receive", "send"], ...]
    """What the hub does with it: receives (consumes), sends (produces), or both."""
    description: str
    compacted: bool = False


def _header(description: str, **schema: str) -> dict[str, str]:
    return {"type": "string", **schema, "description": description}


_HEADERS = {
    headers.CONTENT_TYPE: _header(
        "Every record the hub produces is a JSON object.", const=headers.JSON.decode()
    ),
    headers.SOURCE_TOPIC: _header("The topic the record was consumed from."),
    headers.SOURCE_PARTITION: _header("Its partition, in decimal.", pattern="^[0-9]+$"),
    headers.SOURCE_OFFSET: _header(
        "Its offset, in decimal. Topic, partition and offset identify the record: a replay "
        "dead-letters the same record again, and a consumer drops the repeats by this position.",
        pattern="^[0-9]+$",
    ),
    headers.RECEIVED_AT: _header("When ingest received the channel record.", format="date-time"),
    headers.SOURCE_KEY: _header("The channel record's original key, when it had one."),
    headers.CUSTOMER_ID: _header("The customer the event goes to, after identity resolution and merges."),
    headers.PARTY_ID: _header(
        "On the company's copy of an event done for it (on_behalf_of): the company, whose "
        "history and state it goes to; the customer id header then names the one who acted."
    ),
}
_POSITION = (headers.SOURCE_TOPIC, headers.SOURCE_PARTITION, headers.SOURCE_OFFSET)
_INTERNAL = (headers.CONTENT_TYPE, *_POSITION, headers.RECEIVED_AT, headers.SOURCE_KEY)
_CUSTOMER_KEY = "The customer id."

MESSAGES = (
    Message(
        "interaction",
        "Interaction",
        INTERACTION_ADAPTER,
        "An interaction envelope (version 1, or 2 with on_behalf_of): one of its channel's event types.",
        "The customer id, or a channel identifier (card, phone, account, login).",
    ),
    Message(
        "customerProfile",
        "CustomerProfile",
        TypeAdapter(CustomerProfile),
        "A customer profile from CRM or core banking (version 1, 2 or 3).",
        _CUSTOMER_KEY,
    ),
    Message(
        "triggerOutcome",
        "TriggerOutcome",
        TypeAdapter(TriggerOutcome),
        "What marketing did with a trigger.",
        _CUSTOMER_KEY,
    ),
    Message(
        "trigger",
        "Trigger",
        TypeAdapter(Trigger),
        "A cross-sell, up-sell, repeat-sell, RM-referral or care trigger for marketing.",
        _CUSTOMER_KEY,
        (headers.CONTENT_TYPE,),
    ),
    Message(
        "rejectedRecord",
        "RejectedRecord",
        TypeAdapter(RejectedRecord),
        "A record the hub could not accept, with the reason and the original bytes.",
        "The rejected record's original key.",
        (headers.CONTENT_TYPE, *_POSITION),
    ),
    Message(
        "acceptedInteraction",
        "Interaction",
        INTERACTION_ADAPTER,
        "Internal: a valid interaction on its way to its customer's worker.",
        "The customer id (on a company's copy, the company's).",
        (*_INTERNAL, headers.CUSTOMER_ID),
        (headers.PARTY_ID,),
    ),
    Message(
        "unresolvedInteraction",
        "Interaction",
        INTERACTION_ADAPTER,
        "Internal: a valid interaction that names no customer id, waiting for identity resolution.",
        "The keyed hash of its identifier.",
        _INTERNAL,
    ),
)

_INTERNAL_TOPIC = "Internal, not part of the contract: "
TOPICS = (
    *(
        Topic(
            address,
            "interaction",
            ("receive",),
            f"What happened at the {channel} channel: one topic per channel system, channel `{channel}`.",
        )
        for channel, address in topics.CHANNEL_TOPICS.items()
    ),
    Topic(
        topics.CUSTOMERS_PROFILE,
        "customerProfile",
        ("receive",),
        "Reference data from CRM / core banking: the latest profile of each customer.",
        compacted=True,
    ),
    Topic(
        topics.TRIGGERS_OUTCOMES,
        "triggerOutcome",
        ("receive",),
        "Feedback from the marketing services: delivered, accepted, declined, expired.",
    ),
    Topic(
        topics.TRIGGERS_CROSS_SELL,
        "trigger",
        ("send",),
        "Sales triggers: kinds cross_sell, up_sell, repeat_sell and rm_referral.",
    ),
    Topic(topics.TRIGGERS_CARE, "trigger", ("send",), "Care triggers: kind care."),
    Topic(
        topics.INTERACTIONS_DLQ,
        "rejectedRecord",
        ("send",),
        "Every record the hub cannot accept, with the reason.",
    ),
    Topic(
        topics.INTERACTIONS_ACCEPTED,
        "acceptedInteraction",
        ("send", "receive"),
        _INTERNAL_TOPIC + "validated interactions re-keyed by customer id.",
    ),
    Topic(
        topics.INTERACTIONS_UNRESOLVED,
        "unresolvedInteraction",
        ("send", "receive"),
        _INTERNAL_TOPIC + "interactions keyed by the hash of their identifier, for identity resolution.",
    ),
)


def channel_id(address: str) -> str:
    """``triggers.cross_sell`` -> ``triggers_cross_sell`` (AsyncAPI ids allow no dots)."""
    return address.replace(".", "_")


def _without_discriminators(node: Any) -> Any:
    # pydantic marks a tagged union with OpenAPI's discriminator object; AsyncAPI's is a
    # property name with another meaning (inheritance through allOf). The oneOf branches
    # carry their tags as const values, so the schema validates the same without it.
    if isinstance(node, dict):
        return {
            key: _without_discriminators(value)
            for key, value in node.items()
            if not (key == "discriminator" and isinstance(value, dict) and "propertyName" in value)
        }
    if isinstance(node, list):
        return [_without_discriminators(item) for item in node]
    return node


def _collect(adapter: TypeAdapter[Any], title: str, into: dict[str, Any]) -> None:
    """Add the adapter's schema under ``title`` and its definitions beside it."""
    schema = _without_discriminators(adapter.json_schema(mode="validation", ref_template=REF))
    for name, definition in {**schema.pop("$defs", {}), title: schema}.items():
        if into.setdefault(name, definition) != definition:
            raise ValueError(f"two different models are both named {name}")


def _message(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": message.name,
        "contentType": headers.JSON.decode(),
        "summary": message.summary,
        "payload": {"$ref": REF.format(model=message.schema)},
        "bindings": {
            "kafka": {"key": {"type": "string", "description": message.key}, "bindingVersion": KAFKA_BINDING}
        },
    }
    if message.headers:
        body["headers"] = {
            "type": "object",
            "properties": {name: _HEADERS[name] for name in (*message.headers, *message.optional_headers)},
            "required": list(message.headers),
        }
    return body


def _channel(topic: Topic) -> dict[str, Any]:
    binding: dict[str, Any] = {"topic": topic.address, "bindingVersion": KAFKA_BINDING}
    if topic.compacted:
        binding["topicConfiguration"] = {"cleanup.policy": ["compact"]}
    return {
        "address": topic.address,
        "description": topic.description + " The physical name has HUB_TOPIC_PREFIX in front.",
        "messages": {topic.message: {"$ref": f"#/components/messages/{topic.message}"}},
        "bindings": {"kafka": binding},
    }


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic in TOPICS:
        channel = channel_id(topic.address)
        for action in topic.hub:
            operations[f"{action}_{channel}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"The hub {'consumes' if action == 'receive' else 'produces'} {topic.address}.",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{topic.message}"}],
            }
    return operations


def document() -> dict[str, Any]:
    """The whole AsyncAPI document as plain data."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for message in MESSAGES:
        _collect(message.adapter, message.schema, schemas)
        messages[message.name] = _message(message)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Customer interaction hub",
            "version": version("interaction-hub"),
            "description": (
                "The Kafka topics of the customer interaction hub: what channel systems and CRM "
                "publish, the triggers the hub sends to marketing services and their outcomes, the "
                "dead letters, and the hub's two internal topics. Every value is a UTF-8 JSON object. "
                "Generated from the pydantic models in schemas/ by `make schemas`; do not edit."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": headers.JSON.decode(),
        "channels": {channel_id(topic.address): _channel(topic) for topic in TOPICS},
        "operations": _operations(),
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def rendered() -> str:
    """The file's text, exactly as checked in."""
    return (
        "# Generated by `make schemas` (schemas/asyncapi.py) from the models in schemas/; do not edit.\n"
        + yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100)
    )
