"""``hub history``: a customer's contact history from PostgreSQL, for people and scripts;
``hub history --group``: a corporate group's combined timeline."""

import json
from typing import Any

import click

from hub.core.pii import display_identifiers
from hub.settings import Settings
from hub.storage.customer_reads import CustomerReads, InteractionRecord
from hub.storage.history import HistoryStore


async def print_history(settings: Settings, customer_id: str, *, as_json: bool, limit: int) -> None:
    """Read as the API does: a merged customer's history is the survivor's, with the
    histories of every id merged into it; identifiers in display form only."""
    async with HistoryStore.connected(settings.require_database_url()) as store:
        reads = CustomerReads(store)
        who = await reads.customer_ids(customer_id)
        rows = await reads.history(who.ids, limit=limit) if who is not None else []
    if who is not None and who.customer_id != customer_id and not as_json:
        click.echo(f"{customer_id} was merged into {who.customer_id}: showing the history of both")
    if not rows and not as_json:
        click.echo(f"no interactions recorded for {customer_id}")
    for row in rows:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        **_event_fields(row),
                        "source": row.source,
                        "identifiers": display_identifiers(row.identifiers),
                    }
                )
            )
        else:
            details = ", ".join(f"{k}={v}" for k, v in row.payload.items())
            click.echo(f"{row.occurred_at.isoformat()}  {row.channel:<6}  {row.type:<22} {details}")


async def print_group_history(settings: Settings, group_id: str, *, as_json: bool, limit: int) -> None:
    """The combined timeline of a group and its member companies, as ``GET
    /groups/{id}/history`` reads it: who did what for which company, newest first."""
    async with HistoryStore.connected(settings.require_database_url()) as store:
        reads = CustomerReads(store)
        members = await reads.group_members(group_id)
        everyone = (group_id, *(m.customer_id for m in members))
        rows = await reads.history(everyone, limit=limit)
    if not as_json:
        nested = {m.customer_id: m.parent_id for m in members if m.depth > 1}
        named = [f"{m}{f' (in {nested[m]})' if m in nested else ''}" for m in everyone[1:]]
        click.echo(f"group {group_id}: {len(members)} member companies: {', '.join(named) or 'none'}")
        if not rows:
            click.echo(f"no interactions recorded for group {group_id}")
    for row in rows:
        who = row.customer_id if row.on_behalf_of is None else f"{row.customer_id} for {row.on_behalf_of}"
        if as_json:
            click.echo(json.dumps({**_event_fields(row), "on_behalf_of": row.on_behalf_of}))
        else:
            details = ", ".join(f"{k}={v}" for k, v in row.payload.items())
            click.echo(f"{row.occurred_at.isoformat()}  {who:<18} {row.channel:<6}  {row.type:<20} {details}")


def _event_fields(row: InteractionRecord) -> dict[str, Any]:
    """What a JSON line of either timeline says of every event."""
    return {
        "event_id": row.event_id,
        "channel": row.channel,
        "type": row.type,
        "occurred_at": row.occurred_at.isoformat(),
        "customer_id": row.customer_id,
        "payload": row.payload,
    }
