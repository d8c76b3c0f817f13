"""``hub audit``: the audit of customer reads from PostgreSQL, for people and scripts."""

import dataclasses
import json
from datetime import datetime

import click

from hub.errors import StoreError
from hub.settings import Settings
from hub.storage.audit import AuditEntry, AuditQuery, AuditStore
from hub.storage.history import HistoryStore

UNAUTHENTICATED = "(no token)"
COLUMNS = ("read at", "who", "view", "customer", "served", "status", "client")


async def print_audit(settings: Settings, query: AuditQuery, *, as_json: bool, limit: int) -> None:
    """Entries newest first: a table, or one JSON object per line with ``as_json``."""
    async with HistoryStore.connected(settings.require_database_url()) as store:
        if not await store.is_migrated():
            raise StoreError("PostgreSQL has not been migrated to this version: run `hub migrate`")
        rows = await AuditStore(store).reads(query, limit=limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(dataclasses.asdict(row), default=_iso))
        return
    if not rows:
        click.echo("no customer reads recorded" + (" that match" if query != AuditQuery() else ""))
        return
    table = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _cells(row: AuditEntry) -> tuple[str, ...]:
    asked = row.customer_id or (f"{row.search_kind} {row.search_shown}" if row.search_kind else "")
    return (
        row.read_at.isoformat(timespec="seconds"),
        row.token_name or UNAUTHENTICATED,
        row.view,
        asked,
        row.served_id or "",
        str(row.status),
        row.client or "",
    )


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
