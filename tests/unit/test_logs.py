"""What the hub's log configuration does to other libraries' records."""

import logging

import pytest

from hub.logs import configure


def test_asyncpg_pool_reconnection_failures_are_one_line_with_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure("text", "info")
    configure("text", "info")  # twice, as a worker and its Faust app may: one filter
    assert len(logging.getLogger("asyncpg.pool").filters) == 1
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    except ConnectionRefusedError:
        logging.getLogger("asyncpg.pool").warning(
            "Failed to restore the pool connection floor; retrying", exc_info=True
        )
    (record,) = [r for r in caplog.records if r.name == "asyncpg.pool"]
    assert record.exc_info is None and record.exc_text is None, "no traceback"
    assert record.getMessage() == (
        "Failed to restore the pool connection floor; retrying "
        "(ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432))"
    )


def test_other_loggers_keep_their_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    configure("text", "info")
    try:
        raise ValueError("a bug")
    except ValueError:
        logging.getLogger("hub.worker").exception("unexpected")
    (record,) = [r for r in caplog.records if r.name == "hub.worker"]
    assert record.exc_info is not None
