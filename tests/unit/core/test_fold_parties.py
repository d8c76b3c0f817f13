"""An event done for a company (on_behalf_of) is decided twice, once per copy: for the
one who acted on their state, for the company on the company's, each rule on the sides
it names, and a replay of either copy decides nothing again."""

from hub.core.fold import BatchDecisions, Subjects, decide_batch
from hub.core.records import CHECK_GRACE, ReceivedEvent
from hub.core.state import CustomerState
from schemas.profile import CustomerProfile
from tests.factories import company
from tests.unit.core.decisions import config, customer, event

TREASURER, COMPANY = "C000001", "K000001"


def _copies() -> tuple[ReceivedEvent, ReceivedEvent]:
    complaint = event("phone", "complaint", event_id="cmp", schema_version=2, on_behalf_of=COMPANY)
    received = complaint.occurred_at + CHECK_GRACE
    own = ReceivedEvent(complaint, received, "t", 0, 1, shard=0)
    return own, ReceivedEvent(complaint, received, "t", 0, 1, shard=1, party=COMPANY)


def _decide(events: list[ReceivedEvent], new: set[str], states: dict[str, CustomerState]) -> BatchDecisions:
    profiles: dict[str, CustomerProfile] = {
        TREASURER: customer(),
        COMPANY: CustomerProfile.model_validate(company()),
    }
    subjects = Subjects(
        lambda cid: states.setdefault(cid, CustomerState()), profiles.get, {}, lambda t: t.kind
    )
    return decide_batch(events, new, [], subjects, config())


def test_each_copy_is_decided_for_its_own_customer_by_the_rules_of_its_side() -> None:
    own, theirs = _copies()
    assert (own.side, theirs.side) == ("acting", "represented")
    assert (own.subject_id, theirs.subject_id) == (TREASURER, COMPANY)
    states: dict[str, CustomerState] = {}

    out = _decide([own, theirs], {own.record_key, theirs.record_key}, states)

    fired = sorted((d.customer_id, d.verdict.draft.rule.id) for d in out.decided)
    assert fired == [(TREASURER, "complaint_follow_up"), (COMPANY, "key_account_complaint")]
    assert states[TREASURER].has_seen("cmp") and states[COMPANY].has_seen("cmp")
    assert [e.shard for e in out.outbox if e.trigger.customer_id == COMPANY] == [1]


def test_the_two_copies_are_new_or_duplicates_each_on_its_own() -> None:
    own, theirs = _copies()
    states: dict[str, CustomerState] = {}

    first = _decide([theirs], {theirs.record_key}, states)
    again = _decide([own, theirs], {own.record_key}, states)

    assert [d.customer_id for d in first.decided] == [COMPANY]
    assert [d.customer_id for d in again.decided] == [TREASURER]
    assert (sum(again.recorded.values()), again.company_copies["duplicate"]) == (1, 1)
    assert first.company_copies["recorded"] == 1 and sum(first.recorded.values()) == 0
    assert own.record_key == "cmp" and theirs.record_key != own.record_key
