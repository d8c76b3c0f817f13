"""The profile agent: customer reference data into a table every worker can read."""

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import faust
from faust.types import StreamT, TopicT

from agents.batching import one_by_one
from hub import metrics
from hub.core.groups import cycle_through
from hub.dead_letter import DeadLetters, SourceRecord
from hub.faust_compat import as_current_event, use_raw_bytes
from hub.kafka_app import AGENT_SUPERVISOR
from hub.profiles import is_newer, without_personal_numbers
from hub.runtime import Runtime, retrying
from hub.sink import FaustProducerSink
from hub.storage.history import HistoryStore
from schemas import topics
from schemas.profile import CustomerProfile

log = logging.getLogger(__name__)


def register_profiles(
    app: faust.App, runtime: Runtime, profiles_topic: TopicT
) -> Callable[[str], bytes | None]:
    """Consume ``customers.profile`` into a global table; return the lookup by customer id.

    A global table, because every worker needs every profile: later, channel identifiers
    are resolved to customers before events are partitioned by customer.
    """
    settings = runtime.settings
    table = use_raw_bytes(
        app.GlobalTable("customer-profiles", partitions=settings.partitions, key_type=bytes, value_type=bytes)
    )
    keyring = settings.require_pii_keyring()
    dead_letters = DeadLetters(FaustProducerSink(app), settings.topic(topics.INTERACTIONS_DLQ))

    @app.agent(profiles_topic, name="profiles", concurrency=1, supervisor_strategy=AGENT_SUPERVISOR)
    async def profiles(stream: StreamT[bytes]) -> None:
        store = await runtime.store()
        within_s = settings.batch_within_ms / 1000
        await one_by_one(
            stream, partial(store_profile, store=store), max_=settings.batch_max, within_s=within_s
        )

    async def store_profile(event: Any, store: HistoryStore) -> None:
        record = SourceRecord.of(event.message)
        profile = await dead_letters.validate(CustomerProfile, record, category="profile_schema")
        if profile is None:
            return
        loop = cycle_through(profile.customer_id, profile.group_id, group_of)
        if loop is not None:
            log.warning(
                "profile of %s refused: group_id %s would make a cycle of groups (%s)",
                profile.customer_id,
                profile.group_id,
                " -> ".join([profile.customer_id, *loop]),
            )
            reason = f"profile_group_cycle: corporate.group_id would make a cycle of {len(loop)} group(s)"
            await dead_letters.reject(record, category="profile_group_cycle", reason=reason)
            return
        conflicts = await retrying(partial(store.record_profile, profile, keyring), "recording a profile")
        for conflict in conflicts or ():
            metrics.IDENTITY_CONFLICTS.labels(conflict.kind).inc()
            log.warning(
                "identifier conflict: %s %s claimed by %s is held by %s; not reassigned "
                "(see identifier_conflicts)",
                conflict.kind,
                conflict.display,
                conflict.claimant_id,
                conflict.owner_id,
            )
        key = profile.customer_id.encode()
        if is_newer(table.get(key), profile.updated_at):
            # Rules never read identifiers: the table (a changelog topic and RocksDB
            # files) keeps no card or phone number, nor an organisation code.
            hot = without_personal_numbers(profile)
            with as_current_event(event):
                table[key] = hot.model_dump_json().encode()
            metrics.PROFILES_CONSUMED.inc()
            await retrying(
                partial(store.record_products, profile.customer_id, profile.products, profile.updated_at),
                "recording products held",
            )

    def group_of(customer_id: str) -> str | None:
        stored = table.get(customer_id.encode())
        return None if stored is None else CustomerProfile.model_validate_json(stored).group_id

    def lookup(customer_id: str) -> bytes | None:
        value: bytes | None = table.get(customer_id.encode())
        return value

    return lookup
