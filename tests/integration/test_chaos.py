"""The short chaos run in `make test`: one seed, a handful of faults under traffic.

`make chaos` runs the full schedule over ten seeds (docs/reliability.md). This one runs
its own Kafka and PostgreSQL (ports 19692 and 25832), which it stops and kills, apart
from the services of the rest of the suite.
"""

import os
from pathlib import Path

import pytest

from hub.readiness import listening
from tests.chaos.__main__ import describe
from tests.chaos.cluster import FIRST_WEB_PORT
from tests.chaos.run import BASE_WORKERS, Say, run_seed
from tests.chaos.schedule import SHORT

SEED = 1
WORKER_PORTS = [FIRST_WEB_PORT + index for index in range(BASE_WORKERS + 1)]
CACHE = Path(os.environ.get("HUB_CACHE_DIR", ".cache")).resolve()


@pytest.mark.timeout(600)
async def test_a_short_chaos_run_loses_doubles_and_conflicts_nothing(tmp_path: Path) -> None:
    result = await run_seed(SEED, SHORT, tmp_path, CACHE, say=Say())
    assert result.passed, describe(result)
    assert result.verdict.sent > 2_000, "the traffic flowed"
    assert result.verdict.dead_letters > 0, "bad records were among it, and dead-lettered"
    assert not result.worker_exits, f"no worker ended by itself:\n{describe(result)}"
    assert not [port for port in WORKER_PORTS if listening(port)], "every worker of the run is gone"
