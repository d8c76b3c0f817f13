"""``hub history``: a customer's contact history from PostgreSQL, for people and scripts."""

import json

import click

from hub.core.pii import display_identifiers
from hub.settings import Settings
from hub.storage.customer_reads import CustomerReads
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
                        "event_id": row.event_id,
                        "channel": row.channel,
                        "type": row.type,
                        "occurred_at": row.occurred_at.isoformat(),
                        "source": row.source,
                        "payload": row.payload,
                        "customer_id": row.customer_id,
                        "identifiers": display_identifiers(row.identifiers),
                    }
                )
            )
        else:
            details = ", ".join(f"{k}={v}" for k, v in row.payload.items())
            click.echo(f"{row.occurred_at.isoformat()}  {row.channel:<6}  {row.type:<22} {details}")
