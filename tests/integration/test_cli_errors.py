"""Errors that need the real PostgreSQL: a refused login and an unknown database name the
setting and the fix in one line."""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.unit.test_cli_errors import hub


def with_url(**change: str) -> str:
    parts = urlsplit(os.environ["HUB_DATABASE_URL"])
    user, host = parts.username or "hub", f"{parts.hostname}:{parts.port or 5432}"
    password = change.get("password", parts.password or "")
    path = change.get("path", parts.path)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}", path=path))


@pytest.mark.parametrize(
    ("args", "url", "names"),
    [
        (("history", "C1"), {"password": "not-the-password"}, "refused the login of HUB_DATABASE_URL"),
        (
            ("migrate",),
            {"password": "not-the-password"},
            "fix the user name and password in HUB_DATABASE_URL",
        ),
        (("report",), {"path": "/no_such_db"}, "fix the database name in HUB_DATABASE_URL"),
    ],
)
def test_a_refused_connection_names_the_setting_and_the_fix(
    args: tuple[str, ...], url: dict[str, str], names: str
) -> None:
    result = hub(*args, HUB_DATABASE_URL=with_url(**url))
    assert result.returncode == 2
    assert result.stderr.startswith("hub: error: PostgreSQL at ")
    assert names in result.stderr
    assert "not-the-password" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_history_with_a_limit_below_one_is_refused_before_the_database() -> None:
    for limit in ("0", "-1"):
        result = hub("history", "C000001", "--limit", limit, HUB_DATABASE_URL=os.environ["HUB_DATABASE_URL"])
        assert result.returncode == 2
        assert "Invalid value for '--limit'" in result.stderr
        assert "no interactions recorded" not in result.stdout
        assert "PostgreSQL" not in result.stderr
