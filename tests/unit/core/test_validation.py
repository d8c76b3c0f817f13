import base64
from datetime import timedelta

import pytest

from hub.core.validation import Rejection, decode_interaction
from tests.factories import NOW, envelope, raw

DAY = timedelta(hours=24)


def decode(value: bytes | None, channel: str = "teller") -> object:
    return decode_interaction(value, topic_channel=channel, now=NOW, future_tolerance=DAY)


def reason_of(value: bytes | None, channel: str = "teller") -> str:
    outcome = decode(value, channel)
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason


def test_a_valid_record_is_accepted() -> None:
    outcome = decode(raw(envelope()))
    assert not isinstance(outcome, Rejection)
    assert outcome.event_id == "evt-teller-deposit"


def test_missing_payload_field_names_the_field_like_the_contract() -> None:
    record = envelope()
    del record["payload"]["amount"]
    assert reason_of(raw(record)) == "schema: payload.amount: field required"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"{not json", "invalid_json: "),
        (b"\xff\xfe\x00", "invalid_json: value is not UTF-8"),
        (None, "invalid_json: empty record"),
        (b"[1, 2]", "schema: the value must be a JSON object"),
        (raw({**envelope(), "channel": "fax"}), "unknown_channel: 'fax'"),
        (raw({**envelope(), "type": "teleport"}), "unknown_type: 'teleport' is not a type of channel teller"),
        # A reason quotes the start of a long tag only: a reason has at most 256 characters.
        (
            raw({**envelope(), "type": "t" * 300}),
            f"unknown_type: '{'t' * 38}… is not a type of channel teller",
        ),
        (raw({k: v for k, v in envelope().items() if k != "channel"}), "schema: channel: field required"),
        (
            raw({k: v for k, v in envelope().items() if k != "occurred_at"}),
            "schema: occurred_at: field required",
        ),
    ],
)
def test_each_rejection_kind_has_a_precise_reason(value: bytes | None, expected: str) -> None:
    assert reason_of(value).startswith(expected)


def test_a_channel_other_than_the_topics_is_rejected() -> None:
    assert reason_of(raw(envelope("web", "login")), channel="teller").startswith(
        "channel_mismatch: channel 'web' published on the teller topic"
    )


def test_more_than_24_hours_in_the_future_is_rejected_and_24_exactly_is_not() -> None:
    at_limit = envelope(occurred_at=(NOW + DAY).isoformat())
    beyond = envelope(occurred_at=(NOW + DAY + timedelta(seconds=1)).isoformat())
    assert not isinstance(decode(raw(at_limit)), Rejection)
    assert reason_of(raw(beyond)).startswith("future_event: ")


def test_an_event_with_only_a_channel_identifier_is_valid_and_left_to_identity_resolution() -> None:
    customer = {"customer_id": None, "account_no": "6222000011112222"}
    event = decode(raw(envelope(customer=customer)))
    assert not isinstance(event, Rejection)
    assert event.customer.customer_id is None
    assert event.customer.account_no == "6222000011112222"


def test_reasons_never_echo_the_values_of_the_record() -> None:
    record = envelope(customer={"customer_id": "C1", "card_no": 4000123412341234})
    assert "4000123412341234" not in reason_of(raw(record))


def test_non_utf8_raw_is_kept_as_base64_by_the_ingest() -> None:
    from hub.dead_letter import raw_as_text

    assert base64.b64decode(raw_as_text(b"\xff\xfe")) == b"\xff\xfe"
    assert raw_as_text(b'{"a": 1}') == '{"a": 1}'


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"payload": {"category": "lost\u0000payment"}}, "schema: text contains NUL characters"),
        ({"occurred_at": "0001-01-01T00:00:00+00:00"}, "schema: occurred_at: date 0001-01-01 is outside"),
    ],
)
def test_values_no_bank_record_has_are_rejected_before_they_reach_the_database(
    change: dict[str, object], expected: str
) -> None:
    record = envelope("phone", "complaint")
    payload = change.pop("payload", None)
    if isinstance(payload, dict):
        record["payload"].update(payload)
    record.update(change)
    assert reason_of(raw(record), channel="phone").startswith(expected)


def test_a_payload_date_out_of_range_is_rejected() -> None:
    record = envelope("teller", "time_deposit_opened", payload={"maturity_date": "0002-01-01"})
    assert reason_of(raw(record)).startswith("schema: payload.maturity_date: date 0002-01-01 is outside")
