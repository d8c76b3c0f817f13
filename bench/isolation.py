"""Each run on a database of its own, and its topics deleted after.

The simulated traffic names the same 2,000 customers in every run. On a shared database
the decision log of earlier runs counts against the contact policy of later ones: each
batch reads every earlier decision of its customers, so the worker's CPU per event grew
with the number of runs before (reading them took 3% of the worker's samples in the
first of five runs recorded on one database and 16% in the fifth), fewer triggers were
sent, and the bench's own count of a run's rows scanned an ever larger contact history. A fresh database makes
runs comparable; the broker keeps no topics of finished runs either.
"""

from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient


def database_name(run: str) -> str:
    """``bench-1a2b3c`` -> ``bench_1a2b3c``: a name that needs no quoting."""
    name = run.replace("-", "_").lower()
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a run id: {run!r}")
    return name


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; return its URL."""
    await _execute(url, f"CREATE DATABASE {name}")
    return with_database(url, name)


async def drop_database(url: str, name: str) -> None:
    await _execute(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def delete_topics(bootstrap: str, run: str) -> None:
    """Delete every topic whose name starts with the run's id."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(f"{run}.")]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()
