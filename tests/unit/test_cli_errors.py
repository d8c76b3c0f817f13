"""Bad configuration and unreachable services end a command with one clear line."""

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

UNREACHABLE_KAFKA = "127.0.0.1:1"
UNREACHABLE_DB = "postgresql://hub:secret-pw@127.0.0.1:1/hub"


def hub(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (("worker",), {}, "HUB_KAFKA_BOOTSTRAP is not set"),
        (
            ("worker",),
            {"HUB_KAFKA_BOOTSTRAP": UNREACHABLE_KAFKA, "HUB_DATABASE_URL": UNREACHABLE_DB},
            "HUB_PII_KEY is not set",
        ),
        (
            ("worker",),
            {
                "HUB_KAFKA_BOOTSTRAP": UNREACHABLE_KAFKA,
                "HUB_DATABASE_URL": UNREACHABLE_DB,
                "HUB_PII_KEY": "a-long-enough-test-key",
                "HUB_STARTUP_WAIT_S": "0",  # it waits 300 s by default (test_availability)
            },
            "cannot reach Kafka at 127.0.0.1:1",
        ),
        (("migrate",), {"HUB_DATABASE_URL": UNREACHABLE_DB}, "cannot reach PostgreSQL"),
        (("history", "C1"), {"HUB_DATABASE_URL": UNREACHABLE_DB}, "cannot reach PostgreSQL at 127.0.0.1:1"),
        (("audit",), {"HUB_DATABASE_URL": UNREACHABLE_DB}, "cannot reach PostgreSQL at 127.0.0.1:1"),
        (("audit", "--who", "desk"), {}, "HUB_DATABASE_URL is not set"),
        (("simulate",), {"HUB_KAFKA_BOOTSTRAP": UNREACHABLE_KAFKA}, "cannot reach Kafka"),
        (("config",), {"HUB_PARTITIONS": "many"}, "HUB_PARTITIONS: Input should be a valid integer"),
        (
            ("config",),
            {"HUB_POLICY__CONTROL_SHARE": "0.9"},
            "HUB_POLICY__CONTROL_SHARE: Input should be less",
        ),
        (("rules",), {"HUB_RULES_FILE": "/nonexistent/rules.yaml"}, "HUB_RULES_FILE=/nonexistent/rules.yaml"),
        (("rules",), {"HUB_RULES_FILE": "/nonexistent/rules.yaml"}, "point HUB_RULES_FILE at a readable"),
        (("config",), {"HUB_API__TOKENS": "notjson"}, "HUB_API__TOKENS is not valid JSON"),
        (("config",), {"HUB_PII_PREVIOUS_KEYS": "notjson"}, "HUB_PII_PREVIOUS_KEYS is not valid JSON"),
        (("config",), {"HUB_DATABASE_URL": "notaurl"}, "HUB_DATABASE_URL: Value error, not a postgresql://"),
        (("migrate",), {"HUB_DATABASE_URL": "notaurl"}, "give postgresql://user:password@host:5432/database"),
        (("history", "C1"), {"HUB_DATABASE_URL": "postgresql://hub:pw@h:port/db"}, "HUB_DATABASE_URL: Value"),
        (("backtest", "/nonexistent/rules.yaml"), {}, "/nonexistent/rules.yaml: cannot read it"),
        (
            ("backtest", "hub/rules/default.yaml", "--against", "/nonexistent/now.yaml"),
            {},
            "now.yaml: cannot",
        ),
        (
            ("backtest", "hub/rules/default.yaml", "--from", "2026-13-01"),
            {},
            "--from '2026-13-01' is neither",
        ),
        (
            ("backtest", "hub/rules/default.yaml", "--to", "2026-11-25T09:00"),
            {},
            "--to '2026-11-25T09:00' has no",
        ),
        (
            ("backtest", "hub/rules/default.yaml", "--from", "2026-12-01", "--to", "2026-11-01"),
            {},
            "--from 2026-12-01 is not before --to 2026-11-01",
        ),
        (
            ("backtest", "hub/rules/default.yaml", "--customers", "5", "--sample", "0.1"),
            {},
            "give one of them",
        ),
        (("backtest", "hub/rules/default.yaml"), {}, "HUB_DATABASE_URL is not set"),
        (
            ("backtest", "hub/rules/default.yaml"),
            {"HUB_DATABASE_URL": UNREACHABLE_DB},
            "cannot reach PostgreSQL at 127.0.0.1:1",
        ),
    ],
)
def test_one_clear_line_names_what_to_fix(args: tuple[str, ...], env: dict[str, str], names: str) -> None:
    result = hub(*args, **env)
    assert result.returncode == 2
    assert result.stderr.startswith("hub: error: ")
    assert names in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_config_masks_the_database_password_and_the_pii_key() -> None:
    result = hub("config", HUB_DATABASE_URL=UNREACHABLE_DB, HUB_PII_KEY="pii-secret-of-enough-length")
    assert result.returncode == 0
    assert "secret-pw" not in result.stdout
    assert "pii-secret" not in result.stdout
    assert "hub:***@127.0.0.1:1" in result.stdout


def test_a_bad_database_url_is_never_echoed() -> None:
    result = hub("config", HUB_DATABASE_URL="mysql://hub:secret-pw@db/hub")
    assert result.returncode == 2
    assert "secret-pw" not in result.stderr


def test_a_missing_rule_file_given_as_argument_blames_the_argument() -> None:
    result = hub("rules", "missing.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "hub: error: missing.yaml: cannot read it (No such file or directory): "
        "give the path of a readable rule file"
    )


def test_a_broken_rule_file_says_where_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: x\n    when: {a: [1, 2\n")
    for result in (hub("rules", str(path)), hub("rules", HUB_RULES_FILE=str(path))):
        assert result.returncode == 2
        assert result.stderr.startswith(f"hub: error: {path}: not valid YAML: line 4, column 1: ")
        assert "<unicode string>" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("history", "C1", "--limit", "0"), "Invalid value for '--limit': 0 is not in the range 1<=x<=10000"),
        (("history", "C1", "--limit", "-1"), "Invalid value for '--limit': -1 is not in the range"),
        (("explain", "C1", "--limit", "0"), "Invalid value for '--limit': 0 is not in the range"),
        (("simulate", "--events", "-3"), "Invalid value for '--events': -3 is not in the range x>=0"),
        (("simulate", "--customers", "0"), "Invalid value for '--customers': 0 is not in the range x>=1"),
    ],
)
def test_click_refuses_numbers_out_of_range(args: tuple[str, ...], names: str) -> None:
    # No database is configured: the refusal must come before any connection.
    result = hub(*args)
    assert result.returncode == 2
    assert names in result.stderr
    assert "no interactions recorded" not in result.stdout


def test_version() -> None:
    result = hub("--version")
    assert result.returncode == 0
    assert result.stdout == f"hub {version('interaction-hub')}\n"


def test_backtest_names_the_rule_and_field_of_an_invalid_rule_file(tmp_path: Path) -> None:
    rules = tmp_path / "new.yaml"
    rules.write_text("rules:\n  - id: Bad Id\n    version: 0\n")
    result = hub("backtest", str(rules), HUB_DATABASE_URL=UNREACHABLE_DB)
    assert result.returncode == 2
    assert result.stderr.startswith(f"hub: error: {rules}: rule Bad Id: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
