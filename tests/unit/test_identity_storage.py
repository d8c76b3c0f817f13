"""What the identifier index stores of a profile (claims, display forms) and merged_into_of."""

import json
import re
from datetime import UTC, datetime

from hub.core.pii import Hasher, Keyring
from hub.profiles import merged_into_of, without_personal_numbers
from hub.storage.identity import claims_of, stored_profile
from schemas.profile import CustomerProfile, Identifiers
from tests.factories import company, profile, raw

HASHER = Hasher("k1", b"a test key of some length")
ACCOUNT = "6222000011112222"
CARD = "4000123412345678"
PHONE = "13977774321"
UPDATED = datetime(2026, 11, 24, tzinfo=UTC)


def customer(**identifiers: list[str]) -> CustomerProfile:
    return CustomerProfile(customer_id="C1", updated_at=UPDATED, identifiers=Identifiers(**identifiers))


def test_claims_hash_each_identifier_and_show_its_display_form() -> None:
    claims = claims_of(
        customer(account_no=[ACCOUNT], card_no=[CARD], phone=[PHONE], web_user=["alice.w"]), HASHER
    )
    assert {(c.kind, c.display, c.lookup_key) for c in claims} == {
        ("account_no", "************2222", HASHER.digest("account_no", ACCOUNT)),
        ("card_no", "************5678", HASHER.digest("card_no", CARD)),
        ("phone", "*******4321", HASHER.digest("phone", PHONE)),
        ("web_user", "alice.w", HASHER.digest("web_user", "alice.w")),
    }
    keys = [c.lookup_key for c in claims]
    assert keys == sorted(keys), "one lock order for every writer of the identifier index"


def test_a_claim_carries_its_keys_under_retired_pii_keys() -> None:
    retired = Hasher("k0", b"the retired key of some length")
    [claim] = claims_of(customer(card_no=[CARD]), Keyring(HASHER, (retired,)))
    assert claim.lookup_key == HASHER.digest("card_no", CARD)
    assert claim.aliases == (retired.digest("card_no", CARD),)


def test_duplicate_identifiers_collapse_into_one_claim() -> None:
    claims = claims_of(customer(card_no=[CARD, CARD, "4000 1234 1234 5678"], phone=[PHONE, PHONE]), HASHER)
    assert sorted(c.kind for c in claims) == ["card_no", "phone"]
    assert len({c.lookup_key for c in claims}) == 2


def test_a_profile_without_identifiers_claims_nothing() -> None:
    assert claims_of(customer(), HASHER) == []


def test_the_stored_profile_keeps_display_forms_and_no_raw_numbers() -> None:
    full = CustomerProfile.model_validate(
        profile(
            identifiers={
                "account_no": [ACCOUNT],
                "card_no": [CARD, CARD],
                "phone": [PHONE],
                "web_user": ["alice.w"],
            }
        )
    )
    text = stored_profile(full, claims_of(full, HASHER))
    for value in (ACCOUNT, CARD, PHONE, ACCOUNT[:-4], CARD[:-4], PHONE[:-4]):
        assert value not in text
    document = json.loads(text)
    assert document["identifiers"] == {
        "account_no": ["************2222"],
        "card_no": ["************5678"],
        "phone": ["*******4321"],
        "web_user": ["alice.w"],
    }
    assert not re.search(r"\d{5,}", json.dumps(document["identifiers"]))
    assert "k1:" not in text, "lookup keys live in the index, not in the document"
    assert document["customer_id"] == full.customer_id
    assert document["segment"] == full.segment


def test_the_stored_profile_keeps_merged_into() -> None:
    merged = CustomerProfile(customer_id="C1", schema_version=2, merged_into="C2", updated_at=UPDATED)
    document = json.loads(stored_profile(merged, claims_of(merged, HASHER)))
    assert (document["schema_version"], document["merged_into"]) == (2, "C2")
    assert document["identifiers"] == {"account_no": [], "card_no": [], "phone": [], "web_user": []}


def test_merged_into_of_nothing_stored_is_none() -> None:
    assert merged_into_of(None) is None


def test_merged_into_of_a_version_1_profile_is_none() -> None:
    assert merged_into_of(raw(profile())) is None
    v1 = CustomerProfile.model_validate(profile())
    assert merged_into_of(v1.model_dump_json().encode()) is None


def test_merged_into_of_a_profile_with_merged_into_null_is_none() -> None:
    unmerged = CustomerProfile(customer_id="C1", schema_version=2, updated_at=UPDATED)
    stored = unmerged.model_dump_json().encode()
    assert b'"merged_into":null' in stored
    assert merged_into_of(stored) is None


def test_merged_into_of_a_merged_version_2_profile_is_the_survivor() -> None:
    merged = CustomerProfile(customer_id="C1", schema_version=2, merged_into="C2", updated_at=UPDATED)
    assert merged_into_of(merged.model_dump_json().encode()) == "C2"


CODE = "91310000MA1FL8XQ3K"


def test_an_organisation_code_is_stored_masked_beside_its_keyed_hash_and_read_back() -> None:
    firm = CustomerProfile.model_validate(company(corporate={"organisation_code": CODE}))
    text = stored_profile(firm, claims_of(firm, HASHER), HASHER)
    assert CODE not in text
    corporate = json.loads(text)["corporate"]
    assert corporate["organisation_code"] == "**************XQ3K"
    assert corporate["organisation_code_hash"] == HASHER.digest("organisation_code", CODE)
    again = CustomerProfile.model_validate_json(text)
    assert again.corporate is not None and again.corporate.organisation_code == "**************XQ3K"


def test_the_workers_profile_table_keeps_no_organisation_code_nor_identifiers() -> None:
    firm = CustomerProfile.model_validate(
        company(corporate={"organisation_code": CODE}, identifiers={"account_no": [ACCOUNT]})
    )
    hot = without_personal_numbers(firm).model_dump_json()
    assert CODE not in hot and ACCOUNT not in hot
    assert CustomerProfile.model_validate_json(hot).group_id == firm.group_id
