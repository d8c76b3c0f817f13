"""``GET /groups/{group_id}`` and its combined timeline: a corporate group at once.

A group (集团客户) is a corporate profile that other corporate profiles name as their
``group_id``; groups nest. The view gathers what a key-account team needs: the member
companies, the people who acted for them (interaction v2 ``on_behalf_of``), open
complaints and published triggers across the group, and the RM team. The timeline is
the cross-channel history of the group and every member, one list, filterable by member.
Both are customer reads, recorded in the audit; the triggers need ``decisions:read`` too,
as a customer's decision log does.
"""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from hub.api.audit import ReadNote, audited, read_note
from hub.api.auth import AuthenticatedRoute, requires
from hub.api.errors import ERRORS
from hub.api.models import (
    DecisionItem,
    GroupMemberView,
    GroupView,
    HistoryPage,
    OpenComplaint,
    RepresentativeView,
)
from hub.api.paging import Cursor, Limit, Timestamp, decode_cursor, encode_cursor
from hub.api.reads import Reads
from hub.api.timeline import timeline_item
from hub.core.money import Rates
from hub.core.tiers import tier_of
from hub.settings import Settings
from hub.storage import customer_reads as stored
from schemas.interaction import Channel

Note = Annotated[ReadNote, Depends(read_note)]
RECENT_TRIGGERS = 20


def groups_router(settings: Settings, reads: Reads, rates: Rates) -> APIRouter:
    router = APIRouter(route_class=AuthenticatedRoute)

    async def group_of(
        group_id: str, note: ReadNote
    ) -> tuple[stored.StoredProfile, list[stored.GroupMember]]:
        note.customer_id = group_id
        ids = await reads.customer_ids(group_id)
        found = await reads.profile(ids.customer_id) if ids is not None else None
        if ids is None or found is None or not found.profile.is_corporate:
            raise HTTPException(404, "no corporate customer with that id")
        note.served_id = ids.customer_id
        return found, await reads.group_members(ids.customer_id)

    @router.get(
        "/groups/{group_id}",
        tags=["groups"],
        responses=ERRORS,
        dependencies=[Depends(requires("customers:read")), Depends(audited("group"))],
    )
    async def group(group_id: str, note: Note, request: Request) -> GroupView:
        """The group: member companies, who acted for them, open complaints, recent triggers
        (with the ``decisions:read`` scope too), RM team."""
        found, members = await group_of(group_id, note)
        may_see_decisions = "decisions:read" in request.state.api_token.scopes
        profile = found.profile
        everyone = (profile.customer_id, *(m.customer_id for m in members))
        corporate = profile.corporate
        return GroupView(
            group_id=profile.customer_id,
            customer_type=profile.customer_type,
            industry=corporate.industry if corporate else None,
            tier=tier_of(profile, settings.tiers, rates=rates),
            rm_team=corporate.rm_team if corporate else None,
            members=[
                GroupMemberView(
                    customer_id=m.customer_id,
                    parent_id=m.parent_id,
                    depth=m.depth,
                    industry=m.profile.corporate.industry if m.profile.corporate else None,
                    tier=tier_of(m.profile, settings.tiers, rates=rates),
                    rm_team=m.profile.corporate.rm_team if m.profile.corporate else None,
                )
                for m in members
            ],
            representatives=[RepresentativeView(**asdict(r)) for r in await reads.representatives(everyone)],
            open_complaints=[OpenComplaint(**asdict(c)) for c in await reads.open_complaints(everyone)],
            recent_triggers=await _recent_triggers(everyone) if may_see_decisions else None,
        )

    async def _recent_triggers(everyone: tuple[str, ...]) -> list[DecisionItem]:
        rows = await reads.recent_triggers(everyone, limit=RECENT_TRIGGERS)
        return [DecisionItem(**asdict(d)) for d in rows]

    @router.get(
        "/groups/{group_id}/history",
        tags=["groups"],
        responses=ERRORS,
        dependencies=[Depends(requires("customers:read")), Depends(audited("group_history"))],
    )
    async def group_history(
        group_id: str,
        note: Note,
        member: Annotated[
            list[str], Query(description="Only these members (or the group itself); repeat for several.")
        ] = [],  # noqa: B006
        channel: Annotated[list[Channel], Query(description="Repeat to ask for several.")] = [],  # noqa: B006
        since: Annotated[Timestamp | None, Query(description="RFC 3339, inclusive.")] = None,
        until: Annotated[Timestamp | None, Query(description="RFC 3339, exclusive.")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> HistoryPage:
        """The combined timeline of the group and its members, across channels, newest first.
        An event someone did for a member shows once, as theirs, with ``on_behalf_of``."""
        after = decode_cursor(cursor)
        found, members = await group_of(group_id, note)
        everyone = (found.profile.customer_id, *(m.customer_id for m in members))
        if member:
            strangers = sorted(set(member) - set(everyone))
            if strangers:
                raise HTTPException(422, "query.member: not a member of this group")
            everyone = tuple(m for m in everyone if m in member)
        rows = await reads.history(
            everyone, channels=list(channel), since=since, until=until, after=after, limit=limit + 1
        )
        page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return HistoryPage(
            items=[timeline_item(row) for row in page],
            next_cursor=encode_cursor(last.occurred_at, last.event_id) if last else None,
        )

    return router
