"""Customer profile schema versions 1 and 2 (merged_into)."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.profile import CustomerProfile
from tests.factories import profile, raw


def test_version_1_without_schema_version_is_accepted() -> None:
    record = profile()
    assert "schema_version" not in record
    parsed = CustomerProfile.model_validate_json(raw(record))
    assert parsed.schema_version == 1
    assert parsed.merged_into is None


def test_version_1_with_explicit_schema_version_is_accepted() -> None:
    assert CustomerProfile.model_validate(profile(schema_version=1)).schema_version == 1


def test_merged_into_with_schema_version_1_is_rejected() -> None:
    with pytest.raises(ValidationError, match="merged_into needs schema_version 2"):
        CustomerProfile.model_validate(profile(merged_into="C000002"))
    with pytest.raises(ValidationError, match="merged_into needs schema_version 2"):
        CustomerProfile.model_validate(profile(schema_version=1, merged_into="C000002"))


def test_merged_into_itself_is_rejected() -> None:
    with pytest.raises(ValidationError, match="cannot be merged into itself"):
        CustomerProfile.model_validate(profile(schema_version=2, merged_into="C000001"))


def test_version_2_with_merged_into_is_accepted() -> None:
    parsed = CustomerProfile.model_validate_json(raw(profile(schema_version=2, merged_into="C000002")))
    assert (parsed.schema_version, parsed.merged_into) == (2, "C000002")


def test_version_2_without_merged_into_is_accepted() -> None:
    parsed = CustomerProfile.model_validate(profile(schema_version=2, merged_into=None))
    assert parsed.merged_into is None


@pytest.mark.parametrize("version", [0, 4, "2"])
def test_other_schema_versions_are_rejected(version: object) -> None:
    with pytest.raises(ValidationError):
        CustomerProfile.model_validate_json(raw(profile(schema_version=version)))


def test_an_empty_merged_into_is_rejected() -> None:
    with pytest.raises(ValidationError):
        CustomerProfile.model_validate(profile(schema_version=2, merged_into=""))


def test_a_version_2_profile_round_trips_through_json() -> None:
    original = CustomerProfile(
        customer_id="C1", schema_version=2, merged_into="C2", updated_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert CustomerProfile.model_validate_json(original.model_dump_json()) == original
