"""Versioned schema migrations: numbered SQL files applied once, in order.

A dozen lines of our own instead of a migration framework: the usual ones (alembic,
yoyo) bring a second driver and an ORM for what is here a list of SQL files.
An advisory lock makes concurrent ``hub migrate`` runs safe.
"""

from dataclasses import dataclass
from importlib import resources

import asyncpg

from hub.storage.errors import converted

_LOCK_KEY = 0x48_55_42  # "HUB"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("hub.storage").joinpath("sql").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


async def migrate(connection: asyncpg.Connection) -> list[Migration]:
    """Apply every migration not applied yet; return the ones applied now."""
    applied_now = []
    with converted("migrating the schema"):
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row["version"] for row in await connection.fetch("SELECT version FROM schema_migrations")}
            for migration in available_migrations():
                if migration.version in done:
                    continue
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
                applied_now.append(migration)
    return applied_now
