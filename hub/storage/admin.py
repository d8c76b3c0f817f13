"""Schema administration from the command line."""

import asyncpg

from hub.errors import StoreUnavailable
from hub.settings import Settings
from hub.storage.errors import converted
from hub.storage.migrations import migrate


async def migrate_database(settings: Settings) -> list[str]:
    url = settings.require_database_url()
    try:
        with converted("connecting"):
            connection = await asyncpg.connect(url, timeout=10)
    except StoreUnavailable as exc:
        raise StoreUnavailable(
            f"cannot reach PostgreSQL (HUB_DATABASE_URL): {exc.__cause__}. "
            "Start the server or fix the URL; `hub infra up` starts a local one."
        ) from exc
    try:
        return [f"{m.version:04d}_{m.name}" for m in await migrate(connection)]
    finally:
        await connection.close()
