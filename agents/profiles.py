"""The profile agent: customer reference data into a table every worker can read."""

import logging
from collections.abc import Callable
from datetime import datetime

import faust
from pydantic import ValidationError

from hub import metrics
from hub.clock import utc_now
from hub.ingest import raw_as_text
from hub.faust_compat import use_raw_bytes
from hub.kafka_app import RAW
from hub.runtime import Runtime
from schemas import topics
from schemas.profile import CustomerProfile
from schemas.rejected import RejectedRecord

log = logging.getLogger(__name__)


def register_profiles(
    app: faust.App, runtime: Runtime, profiles_topic: faust.types.TopicT
) -> Callable[[str], bytes | None]:
    """Consume ``customers.profile`` into a global table; return the lookup by customer id.

    A global table, because every worker needs every profile: later, channel identifiers
    are resolved to customers before events are partitioned by customer.
    """
    settings = runtime.settings
    table = use_raw_bytes(app.GlobalTable("customer-profiles", partitions=settings.partitions, key_type=bytes, value_type=bytes))
    dlq = app.topic(settings.topic(topics.INTERACTIONS_DLQ), **RAW)

    @app.agent(profiles_topic, name="profiles", concurrency=1)
    async def profiles(stream: faust.Stream) -> None:
        async for event in stream.events():
            message = event.message
            try:
                profile = CustomerProfile.model_validate_json(message.value or b"")
            except ValidationError as exc:
                metrics.EVENTS_REJECTED.labels("profile_schema").inc()
                first = exc.errors(include_url=False, include_input=False)[0]
                where = ".".join(str(p) for p in first["loc"]) or "(record)"
                rejected = RejectedRecord(
                    reason=f"profile_schema: {where}: {first['msg']}",
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    received_at=utc_now(),
                    raw=raw_as_text(message.value),
                )
                await dlq.send(key=message.key, value=rejected.model_dump_json().encode())
                continue
            key = profile.customer_id.encode()
            if _is_newer(table.get(key), profile.updated_at):
                table[key] = profile.model_dump_json().encode()
                metrics.PROFILES_CONSUMED.inc()

    def lookup(customer_id: str) -> bytes | None:
        value: bytes | None = table.get(customer_id.encode())
        return value

    return lookup


def _is_newer(stored: bytes | None, updated_at: datetime) -> bool:
    # A compacted topic replayed out of order must not roll a profile back.
    if stored is None:
        return True
    return CustomerProfile.model_validate_json(stored).updated_at <= updated_at
