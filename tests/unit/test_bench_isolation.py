"""Each bench run's own database: its name and URL."""

import pytest

from bench.isolation import database_name, with_database


def test_a_run_id_becomes_a_database_name_that_needs_no_quoting() -> None:
    assert database_name("bench-1a2b3c") == "bench_1a2b3c"
    with pytest.raises(ValueError, match="not a run id"):
        database_name('bench-1"; DROP')


def test_the_run_database_is_on_the_same_server_with_the_same_credentials() -> None:
    url = "postgresql://hub:secret@127.0.0.1:21432/hub?sslmode=disable"

    assert with_database(url, "bench_1a2b3c") == (
        "postgresql://hub:secret@127.0.0.1:21432/bench_1a2b3c?sslmode=disable"
    )
