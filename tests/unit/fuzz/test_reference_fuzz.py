"""Fuzzing the reference records: customer profiles and trigger outcomes.

Valid records from their published JSON Schemas, mutated field by field, and bytes that
are none, go through :class:`hub.dead_letter.DeadLetters` as the profile and outcome
agents take them; an accepted profile then goes the way the hot path uses it (the copy
without identifiers that the profile table keeps, its tier, the identifiers' lookup keys)
and decides a deposit with the shipped rules.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from pydantic import BaseModel

from hub.core.tiers import tier_of
from hub.dead_letter import DeadLetters, SourceRecord, raw_as_text
from hub.settings import TierSettings
from schemas.profile import CustomerProfile, Identifiers
from schemas.rejected import RejectedRecord
from schemas.trigger import TriggerOutcome
from tests.unit.core.decisions import config
from tests.unit.core.decisions import event as deposit
from tests.unit.fuzz.pipeline import Pipeline, decide_alone, fuzz_settings, round_trip
from tests.unit.fuzz.records import encoded, garbage, mutated
from tests.unit.fuzz.schema_strategies import from_schema, load

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

PROFILES = from_schema(load("customer_profile.v3"))
OUTCOMES = from_schema(load("trigger_outcome.v1"))


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    under_test = Pipeline()
    yield under_test
    under_test.close()


def _validate(pipeline: Pipeline, model: type[BaseModel], value: bytes, category: str) -> Any:
    """``value`` through DeadLetters as its agent takes it: the model, or None once
    dead-lettered (checked)."""
    h = pipeline.harness
    h.sink.sent.clear()
    record = SourceRecord("t.reference", 0, 7, b"k", value)
    valid = pipeline.loop.run_until_complete(
        DeadLetters(h.sink, h.dlq, lambda: h.now).validate(model, record, category=category)
    )
    if valid is not None:
        assert h.sink.sent == []
        again = model.model_validate_json(valid.model_dump_json())
        assert again == valid
        event("accepted")
        return valid
    [(topic, key, body, headers)] = h.sink.sent
    dead = RejectedRecord.model_validate_json(body)
    assert (topic, key, headers) == (h.dlq, b"k", record.position_headers())
    assert dead.reason.startswith(f"{category}: ")
    assert dead.raw == raw_as_text(value)
    event("dead-lettered")
    return None


def _use(pipeline: Pipeline, profile: CustomerProfile) -> None:
    """What the hub does with an accepted profile, short of PostgreSQL."""
    hot = profile.model_copy(update={"identifiers": Identifiers()})
    stored = CustomerProfile.model_validate_json(hot.model_dump_json())
    decisions = config()
    tier_of(stored, TierSettings(), rates=decisions.rates)
    keyring = pipeline.harness.keyring
    for kind, values in profile.identifiers.model_dump().items():
        for value in values:
            keyring.lookup_keys(kind, value)
    decide_alone([round_trip(deposit_of(profile.customer_id))], stored)


def deposit_of(customer_id: str) -> bytes:
    return deposit(customer={"customer_id": customer_id}).model_dump_json().encode()


PROFILE_RECORDS = st.one_of(
    st.builds(encoded, PROFILES, st.booleans()),
    st.builds(encoded, mutated(PROFILES), st.booleans()),
    garbage(PROFILES),
)


@fuzz_settings(0.1)
# Found by make fuzz: a time zone longer than a file name raised OSError from ZoneInfo,
# out of the validator and the profile agent, instead of a dead letter.
@example(b'{"customer_id": "C1", "updated_at": "2026-11-25T09:00:00Z", "time_zone": "' + b"x" * 300 + b'"}')
@example(
    b'{"customer_id": "C1", "updated_at": "2026-11-25T09:00:00Z", "time_zone": "' + b"x" * 1_000_000 + b'"}'
)
@given(PROFILE_RECORDS)
def test_profiles_are_accepted_and_usable_or_dead_lettered(pipeline: Pipeline, value: bytes) -> None:
    profile = _validate(pipeline, CustomerProfile, value, "profile_schema")
    if profile is not None:
        _use(pipeline, profile)


@fuzz_settings(0.05)
@given(
    st.one_of(
        st.builds(encoded, OUTCOMES, st.booleans()),
        st.builds(encoded, mutated(OUTCOMES), st.booleans()),
        garbage(OUTCOMES),
    )
)
def test_outcomes_are_accepted_or_dead_lettered(pipeline: Pipeline, value: bytes) -> None:
    _validate(pipeline, TriggerOutcome, value, "outcome_schema")
