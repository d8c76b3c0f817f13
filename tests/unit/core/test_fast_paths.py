"""Shortcuts taken for speed give what the plain way gives."""

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.core.decide import TRIGGER_ID_NAMESPACE, trigger_id, uuid5_text
from hub.core.money import Rates
from hub.core.pii import _SEPARATORS, normalised
from hub.core.rules.engine import Context, _same_day_in, next_anniversary, remembered_anniversary
from hub.core.validation import Rejection, decode_interaction
from schemas.interaction import INTERACTION_ADAPTER
from tests.factories import NOW, PAYLOADS, envelope, raw


@pytest.mark.parametrize(
    "value",
    [
        "6222021234567890",
        "+8613977774321",
        "+86 (139) 7777-4321",
        "4000-1234 1234.5678",
        "",
        "+",
        "++86",
        "+86\u00a0139",  # a no-break space is a separator too
        "\u0661\u0662\u0663",  # Arabic-Indic digits: digits, nothing to take out
        "²³",
        "12a-3",
        " 123 ",
    ],
)
def test_a_number_already_in_one_spelling_is_left_as_it_is(value: str) -> None:
    for kind in ("account_no", "card_no", "phone"):
        assert normalised(kind, value) == _SEPARATORS.sub("", value)
    assert normalised("web_user", value) == value.strip()


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Europe/London", "UTC"])
def test_next_anniversary_is_the_first_local_time_on_the_day_not_before_now(zone: str) -> None:
    tz = ZoneInfo(zone)
    at = time(2, 30)  # inside the spring-forward gap in New York and London
    for birthday in (date(1988, 2, 29), date(1987, 3, 8), date(1990, 3, 29), date(1970, 12, 31)):
        for hours in range(0, 2 * 366 * 24, 37):
            now = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
            local = now.astimezone(tz)
            expected = next(
                candidate
                for year in (local.year, local.year + 1)
                if (candidate := datetime.combine(_same_day_in(birthday, year), at, tzinfo=tz)) >= local
            )
            got = next_anniversary(birthday, now, at, tz)
            assert (got, got.tzinfo, got.fold) == (expected, expected.tzinfo, expected.fold)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_the_remembered_anniversary_is_the_next_one_whatever_order_the_times_come_in(zone: str) -> None:
    tz = ZoneInfo(zone)
    ctx = Context("C1", None, "mass", Rates({}, "CNY"), tz)
    at, birthday = time(9, 0), date(1988, 2, 29)
    shuffled = random.Random(3)
    nows = [datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(0, 3 * 366 * 24, 13)]
    shuffled.shuffle(nows)  # late events: back and forth across birthdays
    nows += [datetime(2028, 2, 29, 9, 0, tzinfo=tz) + timedelta(microseconds=d) for d in (1, 0, -1)]
    for now in nows:
        assert remembered_anniversary(ctx, "birthday", birthday, now, at) == next_anniversary(
            birthday, now, at, tz
        )


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_a_record_decodes_to_what_its_text_validates_to(kind: tuple[str, str]) -> None:
    channel, type_ = kind
    value = raw(envelope(channel, type_))
    event = decode_interaction(value, topic_channel=channel, now=NOW, future_tolerance=timedelta(hours=24))
    assert not isinstance(event, Rejection)
    assert event == INTERACTION_ADAPTER.validate_json(value.decode())


@pytest.mark.parametrize(
    "value",
    [
        raw(envelope("phone", "complaint", payload={"category": "a\u0000b"})),  # escaped: \\u0000
        raw(envelope("phone", "complaint")).replace(b'"lost_payment"', b'"lost\\u0000payment"'),
    ],
)
def test_a_nul_is_found_in_the_bytes_as_in_the_text(value: bytes) -> None:
    outcome = decode_interaction(value, topic_channel="phone", now=NOW, future_tolerance=timedelta(hours=24))
    assert isinstance(outcome, Rejection)
    assert outcome.reason == "schema: text contains NUL characters"


def test_trigger_ids_are_the_uuid5_of_rule_version_customer_and_evidence() -> None:
    rng = random.Random(5)
    alphabet = "abz09/,_-é中\u0000 "
    names = ["", "x", "high_value_walk_in_rm_referral/2/C000001/evt-teller-deposit"]
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(120))) for _ in range(3000)]
    for name in names:
        for namespace in (TRIGGER_ID_NAMESPACE, uuid.NAMESPACE_URL):
            assert uuid5_text(namespace, name) == str(uuid.uuid5(namespace, name)), name
    assert trigger_id("r", 1, "C1", ("e1", "e2")) == str(uuid.uuid5(TRIGGER_ID_NAMESPACE, "r/1/C1/e1,e2"))
