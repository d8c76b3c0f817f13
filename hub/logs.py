"""Log output: plain text (the default) or, with ``HUB_LOG_FORMAT=json``, one JSON object per
line with ``timestamp``, ``level``, ``logger``, ``message`` and ``exception`` when there is one.

The same configuration serves the worker (Faust and mode log through the root logger),
``hub api`` (uvicorn's loggers propagate to it) and the hub's own loggers. The formatter is
python-json-logger's: it escapes whatever a message holds, so a line is always one object.
Log messages never carry card, phone or account numbers (they are masked before any log).
"""

import json
import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

_LEVELS = {"crit": "CRITICAL", "error": "ERROR", "warn": "WARNING", "info": "INFO", "debug": "DEBUG"}

log = logging.getLogger("hub")


def json_logging_config(level: str) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dict: every logger to stdout as JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger", "exc_info": "exception"},
                "timestamp": True,
            }
        },
        "handlers": {
            "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
        },
        "root": {"level": _LEVELS[level], "handlers": ["json"]},
        # uvicorn's own loggers keep no handlers of their own: they reach the root's.
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


class _ErrorOnOneLine(logging.Filter):
    """Turns a record's traceback into the error's one-line message.

    asyncpg's pool logs every failed attempt to reconnect with a traceback: through a
    PostgreSQL outage that is a stack trace every few seconds saying only that the server
    cannot be reached, beside the hub's own one-line retry warnings.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


_ONE_LINE = _ErrorOnOneLine()
TERSE_LOGGERS = ("asyncpg.pool",)


def configure(log_format: LogFormat, level: str) -> dict[str, Any] | None:
    """Set JSON logging up now and return its config (for Faust's and uvicorn's own set-up),
    or None for plain text, which each of them sets up as before."""
    for name in TERSE_LOGGERS:
        logging.getLogger(name).addFilter(_ONE_LINE)  # a no-op when it is there already
    if log_format != "json":
        return None
    config = json_logging_config(level)
    logging.config.dictConfig(config)
    return config


def say(log_format: LogFormat, message: str, *, error: bool = False) -> None:
    """A line for the operator: printed as is in text mode, logged as JSON in JSON mode."""
    if log_format == "json":
        log.log(logging.WARNING if error else logging.INFO, message)
    else:
        print(message, file=sys.stderr if error else sys.stdout, flush=True)


def json_error_line(message: str) -> str:
    """The one line of a command that fails, in JSON mode (before logging is set up)."""
    at = datetime.now(UTC).isoformat()
    return json.dumps({"level": "ERROR", "logger": "hub", "message": message, "timestamp": at})
