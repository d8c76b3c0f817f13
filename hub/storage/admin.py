"""Schema administration from the command line."""

import asyncpg

from hub.settings import Settings
from hub.storage.errors import connecting
from hub.storage.migrations import migrate


async def migrate_database(settings: Settings) -> list[str]:
    url = settings.require_database_url()
    with connecting(url):
        connection = await asyncpg.connect(url, timeout=10)
    try:
        return [f"{m.version:04d}_{m.name}" for m in await migrate(connection)]
    finally:
        await connection.close()
