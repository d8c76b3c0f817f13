"""The commit position: the first delivered record not yet handled."""

from hub.offsets import HandledOffsets

P = ("interactions.unresolved", 0)


def delivered(*offsets: int) -> HandledOffsets[tuple[str, int]]:
    book: HandledOffsets[tuple[str, int]] = HandledOffsets()
    for offset in offsets:
        book.delivered(P, offset)
    return book


def test_nothing_delivered_nothing_to_commit() -> None:
    assert HandledOffsets[tuple[str, int]]().committable(P) is None


def test_a_partition_never_committed_stops_at_its_first_unhandled_record() -> None:
    book = delivered(0, 1, 2)
    book.handled(P, 1)
    book.handled(P, 2)
    assert book.committable(P) == 0
    book.handled(P, 0)
    assert book.committable(P) == 3


def test_a_gap_of_a_single_record_holds_the_commit() -> None:
    book = delivered(10, 11, 12)
    book.handled(P, 10)
    book.handled(P, 12)
    assert book.committable(P) == 11


def test_offsets_never_delivered_do_not_hold_the_commit() -> None:
    # A compacted topic skips offsets: only what was delivered counts.
    book = delivered(3, 7, 9)
    for offset in (3, 7, 9):
        book.handled(P, offset)
    assert book.committable(P) == 10


def test_a_redelivered_record_changes_nothing() -> None:
    book = delivered(0, 1)
    book.handled(P, 0)
    book.delivered(P, 0)  # after a seek back: already handled
    assert book.committable(P) == 1
    book.handled(P, 0)
    assert book.committable(P) == 1


def test_an_acknowledgement_of_a_record_not_delivered_here_is_ignored() -> None:
    book = delivered(5)
    book.handled(P, 4)
    book.handled(P, 6)
    assert book.committable(P) == 5


def test_a_revoked_partition_is_forgotten() -> None:
    book = delivered(0, 1)
    book.handled(P, 0)
    book.forget(P)
    assert book.committable(P) is None
    book.delivered(P, 1)  # the next assignment starts from the committed offset
    assert book.committable(P) == 1


def test_records_delivered_between_revocation_and_assignment_do_not_start_the_next_generation() -> None:
    book: HandledOffsets[tuple[str, int]] = HandledOffsets()
    for offset in (0, 1, 2):
        book.delivered(P, offset, generation=4)
    book.handled(P, 1)  # 0 waits for its profile
    book.forget(P)  # revoked...
    book.delivered(P, 3, generation=4)  # ...a record fetched before still reaches the stream
    book.handled(P, 3)
    assert book.committable(P, generation=5) is None, "nothing delivered in the new generation yet"
    for offset in (0, 1, 2, 3):  # delivered again from the committed offset
        book.delivered(P, offset, generation=5)
    book.handled(P, 1)
    book.handled(P, 3)
    assert book.committable(P, generation=5) == 0, "0 still waits: nothing past it is committed"


def contiguous() -> HandledOffsets[tuple[str, int]]:
    return HandledOffsets(contiguous=lambda partition: partition == P)


def test_records_skipped_after_the_seek_to_the_committed_offset_hold_the_commit_until_fetched_again() -> None:
    # Seen in the chaos suite: sought to 46, the stream's first record was 47.
    book = contiguous()
    book.started(P, 46, generation=3)
    assert book.committable(P, generation=3) == 46
    assert book.delivered(P, 47, generation=3) == 46, "fetch again from 46"
    book.handled(P, 47)
    assert book.delivered(P, 48, generation=3) is None, "fetched before the rewind: asked once"
    book.handled(P, 48)
    assert book.committable(P, generation=3) == 46
    for offset in (46, 47, 48):  # fetched again
        assert book.delivered(P, offset, generation=3) is None
    book.handled(P, 47)
    book.handled(P, 48)
    assert book.committable(P, generation=3) == 46, "46 itself is not handled yet"
    book.handled(P, 46)
    assert book.committable(P, generation=3) == 49


def test_a_topic_not_known_to_be_contiguous_may_skip_offsets_after_the_seek() -> None:
    # A compacted or transactional topic has offsets that are no record.
    book: HandledOffsets[tuple[str, int]] = HandledOffsets(contiguous=lambda partition: False)
    book.started(P, 46, generation=3)
    assert book.delivered(P, 47, generation=3) is None
    book.handled(P, 47)
    assert book.committable(P, generation=3) == 48


def test_a_seek_to_the_committed_offset_in_the_same_generation_counts_delivery_afresh() -> None:
    book = contiguous()
    book.started(P, 10, generation=2)
    for offset in (10, 11):
        book.delivered(P, offset, generation=2)
    book.handled(P, 11)  # 10 waits
    book.started(P, 10, generation=2)  # Faust seeks back to the committed offset again
    assert book.delivered(P, 11, generation=2) == 10, "10 must come first"
    for offset in (10, 11):
        book.delivered(P, offset, generation=2)
    book.handled(P, 11)
    assert book.committable(P, generation=2) == 10
    book.handled(P, 10)
    assert book.committable(P, generation=2) == 12
