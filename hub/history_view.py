"""``hub history``: a customer's contact history from PostgreSQL, for people and scripts."""

import json

import click

from hub.settings import Settings
from hub.storage.history import HistoryStore


async def print_history(settings: Settings, customer_id: str, *, as_json: bool, limit: int) -> None:
    async with HistoryStore.connected(settings.require_database_url()) as store:
        rows = await store.history(customer_id, limit=limit)
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
                        "identifiers": row.identifiers,
                    }
                )
            )
        else:
            details = ", ".join(f"{k}={v}" for k, v in row.payload.items())
            click.echo(f"{row.occurred_at.isoformat()}  {row.channel:<6}  {row.type:<22} {details}")
