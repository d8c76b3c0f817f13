"""Profile version 3 (corporate customers, groups) and interaction version 2 (on_behalf_of)."""

import json

import pytest
from pydantic import ValidationError

from schemas.interaction import INTERACTION_ADAPTER
from schemas.profile import CustomerProfile
from tests.factories import company, envelope, profile


def test_a_corporate_profile_of_version_3_carries_group_team_and_contribution() -> None:
    parsed = CustomerProfile.model_validate(company(corporate={"group_id": "G1"}))
    assert parsed.is_corporate and parsed.group_id == "G1"
    assert parsed.lead_rm_id == "RM-LEAD"
    assert parsed.corporate is not None and parsed.corporate.rm_team is not None
    assert parsed.corporate.rm_team.members == ["RM-2"]
    assert str(parsed.corporate.deposits.amount if parsed.corporate.deposits else "") == "20000000.00"


@pytest.mark.parametrize("version", [1, 2])
def test_a_corporate_customer_needs_version_3(version: int) -> None:
    with pytest.raises(ValidationError, match="customer_type corporate needs schema_version 3"):
        CustomerProfile.model_validate(company(schema_version=version))


def test_the_corporate_block_is_only_for_companies() -> None:
    record = company(customer_type="individual")
    with pytest.raises(ValidationError, match="corporate is only for customer_type corporate"):
        CustomerProfile.model_validate(record)


def test_a_company_cannot_be_a_member_of_its_own_group() -> None:
    with pytest.raises(ValidationError, match="cannot be a member of its own group"):
        CustomerProfile.model_validate(company(corporate={"group_id": "K000001"}))


@pytest.mark.parametrize("version", [1, 2, 3])
def test_personal_profiles_of_every_version_are_individuals(version: int) -> None:
    parsed = CustomerProfile.model_validate(profile(schema_version=version, rm_id="RM-9"))
    assert parsed.customer_type == "individual" and parsed.corporate is None
    assert parsed.group_id is None and parsed.lead_rm_id == "RM-9"


def test_an_interaction_of_version_2_may_name_the_company_acted_for() -> None:
    event = INTERACTION_ADAPTER.validate_json(json.dumps(envelope(schema_version=2, on_behalf_of="K000001")))
    assert event.on_behalf_of == "K000001" and event.schema_version == 2


def test_on_behalf_of_needs_version_2() -> None:
    with pytest.raises(ValidationError, match="on_behalf_of needs schema_version 2"):
        INTERACTION_ADAPTER.validate_json(json.dumps(envelope(on_behalf_of="K000001")))


def test_version_1_is_accepted_unchanged() -> None:
    event = INTERACTION_ADAPTER.validate_json(json.dumps(envelope()))
    assert event.schema_version == 1 and event.on_behalf_of is None
