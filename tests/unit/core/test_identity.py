"""Pure identity resolution: lookup keys, resolution, merge survivors, the waiting room."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.core.identity import MAX_MERGE_HOPS, WaitingRoom, lookup_keys, resolve, survivor
from hub.core.pii import Hasher, Keyring
from schemas.interaction import CustomerRef

CURRENT = Hasher("k2", b"the current key of some length")
RETIRED = Hasher("k1", b"the retired key of some length")
ROTATED = Keyring(CURRENT, (RETIRED,))
SINGLE = Keyring(CURRENT)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


# Received at the start; the real-time grace long over by the time the tests ask.
RECEIVED = minutes(0)
LONG_AFTER = minutes(24 * 60)


# --- lookup_keys ---------------------------------------------------------------------


def test_lookup_keys_lists_only_the_identifiers_present() -> None:
    keys = lookup_keys(CustomerRef(phone="13977774321"), SINGLE)
    assert keys == {"phone": [CURRENT.digest("phone", "13977774321")]}


def test_lookup_keys_ignore_the_customer_id() -> None:
    keys = lookup_keys(CustomerRef(customer_id="C1", web_user="alice"), SINGLE)
    assert list(keys) == ["web_user"]


def test_lookup_keys_follow_the_precedence_account_card_phone_web_user() -> None:
    ref = CustomerRef(
        web_user="alice", phone="13977774321", card_no="4000123412341234", account_no="62220001"
    )
    assert list(lookup_keys(ref, SINGLE)) == ["account_no", "card_no", "phone", "web_user"]


def test_lookup_keys_hash_by_kind_so_equal_values_of_two_kinds_differ() -> None:
    keys = lookup_keys(CustomerRef(account_no="12345678", card_no="12345678"), SINGLE)
    assert keys["account_no"] != keys["card_no"]


def test_a_keyring_with_a_previous_key_yields_both_digests_the_current_first() -> None:
    keys = lookup_keys(CustomerRef(card_no="4000123412341234"), ROTATED)
    assert keys == {
        "card_no": [
            CURRENT.digest("card_no", "4000123412341234"),
            RETIRED.digest("card_no", "4000123412341234"),
        ]
    }
    assert keys["card_no"][0].startswith("k2:")
    assert keys["card_no"][1].startswith("k1:")


def test_lookup_keys_do_not_contain_the_identifier_value() -> None:
    keys = lookup_keys(CustomerRef(phone="13977774321"), ROTATED)
    assert all("13977774321" not in key for key in keys["phone"])


# --- resolve -------------------------------------------------------------------------


def test_resolve_picks_the_first_kind_held_in_precedence_order() -> None:
    ref = CustomerRef(account_no="62220001", phone="13977774321", web_user="alice")
    keys = lookup_keys(ref, SINGLE)
    owners = {
        CURRENT.digest("web_user", "alice"): "C-WEB",
        CURRENT.digest("phone", "13977774321"): "C-PHONE",
    }
    assert resolve(keys, owners) == ("phone", "C-PHONE")


def test_resolve_is_none_when_no_identifier_is_held() -> None:
    keys = lookup_keys(CustomerRef(phone="13977774321"), ROTATED)
    assert resolve(keys, {CURRENT.digest("phone", "13900000000"): "C1"}) is None
    assert resolve({}, {"anything": "C1"}) is None


def test_an_identifier_stored_under_a_retired_key_still_resolves() -> None:
    keys = lookup_keys(CustomerRef(card_no="4000123412341234"), ROTATED)
    owners = {RETIRED.digest("card_no", "4000123412341234"): "C-OLD"}
    assert resolve(keys, owners) == ("card_no", "C-OLD")


def test_the_current_key_wins_over_a_retired_one_for_the_same_identifier() -> None:
    keys = lookup_keys(CustomerRef(card_no="4000123412341234"), ROTATED)
    owners = {
        RETIRED.digest("card_no", "4000123412341234"): "C-OLD",
        CURRENT.digest("card_no", "4000123412341234"): "C-NEW",
    }
    assert resolve(keys, owners) == ("card_no", "C-NEW")


def test_a_retired_key_of_an_earlier_kind_beats_a_later_kind() -> None:
    keys = lookup_keys(CustomerRef(card_no="4000123412341234", phone="13977774321"), ROTATED)
    owners = {
        CURRENT.digest("phone", "13977774321"): "C-PHONE",
        RETIRED.digest("card_no", "4000123412341234"): "C-CARD",
    }
    assert resolve(keys, owners) == ("card_no", "C-CARD")


# --- survivor ------------------------------------------------------------------------


def links(merges: dict[str, str]) -> Callable[[str], str | None]:
    return merges.get


def test_a_customer_never_merged_survives_itself() -> None:
    assert survivor("A", links({})) == "A"
    assert survivor("A", links({"B": "A"})) == "A"


def test_a_chain_is_followed_to_its_end() -> None:
    merges = {"C": "B", "B": "A"}
    assert survivor("C", links(merges)) == "A"
    assert survivor("B", links(merges)) == "A"


def test_a_cycle_stops_at_the_last_id_before_it_repeats() -> None:
    assert survivor("A", links({"A": "B", "B": "C", "C": "A"})) == "C"
    assert survivor("A", links({"A": "B", "B": "A"})) == "B"


def test_a_self_loop_stops_at_once() -> None:
    assert survivor("A", links({"A": "A"})) == "A"


def test_a_chain_of_exactly_max_hops_is_followed_to_its_end() -> None:
    merges = {f"C{i}": f"C{i + 1}" for i in range(MAX_MERGE_HOPS)}
    assert survivor("C0", links(merges)) == f"C{MAX_MERGE_HOPS}"


def test_a_chain_longer_than_max_hops_stops_after_max_hops() -> None:
    merges = {f"C{i}": f"C{i + 1}" for i in range(MAX_MERGE_HOPS + 10)}
    calls: list[str] = []

    def merged_into(customer_id: str) -> str | None:
        calls.append(customer_id)
        return merges.get(customer_id)

    assert survivor("C0", merged_into) == f"C{MAX_MERGE_HOPS}"
    assert len(calls) == MAX_MERGE_HOPS


# --- the waiting room ----------------------------------------------------------------


def room(max_wait_minutes: float = 15, max_per_partition: int = 100) -> WaitingRoom[str, str]:
    return WaitingRoom(max_wait=timedelta(minutes=max_wait_minutes), max_per_partition=max_per_partition)


def test_release_keeps_each_partitions_order_and_keeps_the_rest() -> None:
    waiting = room()
    for i, item in enumerate(["a1", "b1", "a2", "b2", "a3"]):
        waiting.add(item[0], item, minutes(i), RECEIVED)
    released = waiting.release(lambda item: item != "a2")
    assert [i for i in released if i.startswith("a")] == ["a1", "a3"]
    assert [i for i in released if i.startswith("b")] == ["b1", "b2"]
    assert list(waiting) == ["a2"]
    assert len(waiting) == 1
    assert waiting.release(lambda item: True) == ["a2"]
    assert len(waiting) == 0


def test_release_of_nothing_keeps_everything_in_order() -> None:
    waiting = room()
    for i in range(3):
        waiting.add("p", f"x{i}", minutes(i), RECEIVED)
    assert waiting.release(lambda item: False) == []
    assert list(waiting) == ["x0", "x1", "x2"]


def test_time_bound_uses_the_partitions_own_latest_event_time() -> None:
    waiting = room(max_wait_minutes=15)
    waiting.add("p1", "old", minutes(0), RECEIVED)
    waiting.observe("p2", minutes(60))  # another partition's later events
    waiting.add("p2", "other", minutes(60), RECEIVED)
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == []
    assert list(waiting) == ["old", "other"]
    waiting.observe("p1", minutes(16))
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == [("old", "time")]
    assert list(waiting) == ["other"]


def test_exactly_max_wait_is_not_expired_yet() -> None:
    waiting = room(max_wait_minutes=15)
    waiting.add("p", "x", minutes(0), RECEIVED)
    waiting.observe("p", minutes(15))
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == []
    waiting.observe("p", minutes(15) + timedelta(microseconds=1))
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == [("x", "time")]


def test_observe_never_moves_the_clock_back() -> None:
    waiting = room(max_wait_minutes=15)
    waiting.add("p", "x", minutes(0), RECEIVED)
    waiting.observe("p", minutes(20))
    waiting.observe("p", minutes(1))
    waiting.add(
        "p", "late", minutes(2), RECEIVED
    )  # an older event arriving late does not move it back either
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == [("x", "time"), ("late", "time")]


def test_only_the_events_past_the_bound_expire_in_arrival_order() -> None:
    waiting = room(max_wait_minutes=15)
    waiting.add("p", "x0", minutes(0), RECEIVED)
    waiting.add("p", "x10", minutes(10), RECEIVED)
    waiting.add("p", "x3", minutes(3), RECEIVED)
    waiting.observe("p", minutes(20))
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == [("x0", "time"), ("x3", "time")]
    assert list(waiting) == ["x10"]


def test_memory_bound_drops_the_oldest_first_and_reports_memory() -> None:
    waiting = room(max_per_partition=2)
    for i in range(4):
        waiting.add("p", f"x{i}", minutes(i), RECEIVED)
    waiting.add("q", "y0", minutes(0), RECEIVED)
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == [("x0", "memory"), ("x1", "memory")]
    assert list(waiting) == ["x2", "x3", "y0"]
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == []


def test_an_event_removed_for_memory_is_not_reported_again_for_time() -> None:
    waiting = room(max_wait_minutes=15, max_per_partition=1)
    waiting.add("p", "x0", minutes(0), RECEIVED)
    waiting.add("p", "x1", minutes(30), RECEIVED)
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == [("x0", "memory")]
    assert list(waiting) == ["x1"]


def test_forget_drops_only_the_rejected_partitions_and_returns_their_items() -> None:
    waiting = room()
    waiting.add("keep", "k0", minutes(0), RECEIVED)
    waiting.add("drop", "d0", minutes(0), RECEIVED)
    waiting.add("drop", "d1", minutes(1), RECEIVED)
    waiting.add("keep", "k1", minutes(1), RECEIVED)
    assert waiting.forget(lambda partition: partition == "keep") == ["d0", "d1"]
    assert list(waiting) == ["k0", "k1"]
    assert len(waiting) == 2
    assert waiting.forget(lambda partition: True) == []


def test_a_forgotten_partition_starts_a_new_clock() -> None:
    waiting = room(max_wait_minutes=15)
    waiting.add("p", "x", minutes(60), RECEIVED)
    waiting.forget(lambda partition: False)
    waiting.add("p", "y", minutes(0), RECEIVED)
    assert waiting.expired(received_before=LONG_AFTER, now=RECEIVED) == []
    assert list(waiting) == ["y"]


def test_len_counts_every_partition() -> None:
    waiting = room()
    assert len(waiting) == 0
    waiting.add("a", "1", minutes(0), RECEIVED)
    waiting.add("b", "2", minutes(0), RECEIVED)
    waiting.add("b", "3", minutes(0), RECEIVED)
    waiting.observe("c", minutes(0))
    assert len(waiting) == 3


@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 1000), st.booleans()), max_size=40),
)
def test_release_and_the_rest_partition_the_items_in_each_partitions_order(
    items: list[tuple[str, int, bool]],
) -> None:
    waiting: WaitingRoom[str, tuple[str, int, bool]] = WaitingRoom(
        max_wait=timedelta(days=365), max_per_partition=1000
    )
    for n, (partition, offset, ready) in enumerate(items):
        waiting.add(partition, (partition, n, ready), minutes(offset), RECEIVED)
    released = waiting.release(lambda item: item[2])
    rest = list(waiting)
    assert all(item[2] for item in released)
    assert not any(item[2] for item in rest)
    assert len(released) + len(rest) == len(items)
    for partition in "abc":
        for group in (released, rest):
            ns = [item[1] for item in group if item[0] == partition]
            assert ns == sorted(ns)


def test_the_time_bound_waits_for_the_real_time_grace_of_each_event() -> None:
    waiting: WaitingRoom[str, str] = WaitingRoom(max_wait=timedelta(minutes=15), max_per_partition=10)
    waiting.add("p", "backlog", minutes(0), received_at=minutes(100))
    waiting.add("p", "long-waiting", minutes(1), received_at=minutes(90))
    waiting.observe("p", minutes(30))
    # A backlog read quickly: event time is far past the bound, real time is not.
    assert waiting.expired(received_before=minutes(95), now=minutes(95)) == [("long-waiting", "time")]
    assert waiting.expired(received_before=minutes(101), now=minutes(101)) == [("backlog", "time")]


def test_on_a_quiet_partition_an_event_expires_after_the_bound_in_real_time() -> None:
    waiting: WaitingRoom[str, str] = WaitingRoom(max_wait=timedelta(minutes=15), max_per_partition=10)
    waiting.add("p", "alone", minutes(0), received_at=minutes(0))
    assert waiting.expired(received_before=minutes(14), now=minutes(14)) == []
    assert waiting.expired(received_before=minutes(15), now=minutes(15)) == [("alone", "time")]
