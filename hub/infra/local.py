"""``hub infra up|down``: the local Kafka and PostgreSQL, started once and reused.

State lives in ``.infra/`` (or ``HUB_INFRA_DIR``); downloads in ``.cache/``. Ports can be
moved with ``HUB_INFRA_KAFKA_PORT`` and ``HUB_INFRA_POSTGRES_PORT`` when taken.
"""

import os
import secrets
import sys
from pathlib import Path

from hub.infra.kafka import LocalKafka
from hub.infra.postgres import LocalPostgres


def _root() -> Path:
    return Path(os.environ.get("HUB_INFRA_DIR", ".infra")).resolve()


def kafka() -> LocalKafka:
    port = int(os.environ.get("HUB_INFRA_KAFKA_PORT", "19092"))
    cache = Path(os.environ.get("HUB_CACHE_DIR", ".cache")).resolve() / "kafka"
    return LocalKafka(_root() / "kafka", cache, port, port + 1)


def postgres() -> LocalPostgres:
    return LocalPostgres(_root() / "postgres", int(os.environ.get("HUB_INFRA_POSTGRES_PORT", "55432")))


def up() -> dict[str, str]:
    """Start what is not running; return the settings that point at it."""
    broker, database = kafka(), postgres()
    if not broker.is_running():
        print(f"starting Apache Kafka on {broker.bootstrap} ...", file=sys.stderr, flush=True)
        broker.start()
    if not database.is_running():
        print(f"starting PostgreSQL on 127.0.0.1:{database.port} ...", file=sys.stderr, flush=True)
        database.start()
    return {
        "HUB_KAFKA_BOOTSTRAP": broker.bootstrap,
        "HUB_DATABASE_URL": database.url,
        "HUB_PII_KEY": _local_pii_key(),
    }


def _local_pii_key() -> str:
    """A random key for this machine's local hub, kept beside its data (mode 0600)."""
    path = _root() / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def down(purge: bool = False) -> None:
    kafka().stop()
    database = postgres()
    if purge:
        database.purge()
    else:
        database.stop()
