"""Bad configuration and unreachable services end a command with one clear line."""

import os
import subprocess
import sys

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
        (("config",), {"HUB_API__TOKENS": "notjson"}, 'field "api"'),
        (("config",), {"HUB_PII_PREVIOUS_KEYS": "notjson"}, 'field "pii_previous_keys"'),
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
