"""The group view's HTTP layer: who may see what, which ids a timeline reads, the audit."""

import httpx

from hub.storage.customer_reads import GroupMember, StoredProfile
from schemas.profile import CustomerProfile
from tests.factories import NOW, company
from tests.unit.api.fakes import AUDITOR, READER, FakeAudit, FakeReads


def _group(reads: FakeReads) -> None:
    for customer_id, group_id in (("G1", None), ("K1", "G1"), ("K2", "G1")):
        profile = CustomerProfile.model_validate(
            company(customer_id=customer_id, corporate={"group_id": group_id})
        )
        reads.profiles[customer_id] = StoredProfile(profile, NOW)
    reads.members["G1"] = [GroupMember(m, "G1", 1, reads.profiles[m].profile) for m in ("K1", "K2")]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_group_view_lists_members_and_shows_triggers_only_with_decisions_read(
    client: httpx.AsyncClient, reads: FakeReads, audit: FakeAudit
) -> None:
    _group(reads)
    full = (await client.get("/groups/G1", headers=_auth(AUDITOR))).json()
    assert [m["customer_id"] for m in full["members"]] == ["K1", "K2"]
    assert full["tier"] == "key_account" and full["rm_team"]["lead_rm_id"] == "RM-LEAD"
    assert len(full["recent_triggers"]) == 3
    desk = (await client.get("/groups/G1", headers=_auth(READER))).json()
    assert desk["recent_triggers"] is None
    assert [(r.view, r.customer_id, r.served_id, r.status) for r in audit.recorded] == [
        ("group", "G1", "G1", 200),
        ("group", "G1", "G1", 200),
    ]


async def test_a_person_or_an_unknown_id_is_no_group(client: httpx.AsyncClient, reads: FakeReads) -> None:
    _group(reads)
    assert (await client.get("/groups/C1", headers=_auth(READER))).status_code == 404
    assert (await client.get("/groups/nobody", headers=_auth(READER))).status_code == 404


async def test_the_combined_timeline_reads_the_group_and_its_members_or_the_members_asked_for(
    client: httpx.AsyncClient, reads: FakeReads
) -> None:
    _group(reads)
    assert (await client.get("/groups/G1/history", headers=_auth(READER))).status_code == 200
    assert reads.history_calls[-1]["ids"] == ["G1", "K1", "K2"]
    answer = await client.get("/groups/G1/history", params={"member": "K2"}, headers=_auth(READER))
    assert answer.status_code == 200 and reads.history_calls[-1]["ids"] == ["K2"]
    stranger = await client.get("/groups/G1/history", params={"member": "C1"}, headers=_auth(READER))
    assert stranger.status_code == 422
    assert stranger.json()["error"]["message"] == "query.member: not a member of this group"
