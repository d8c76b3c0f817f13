"""Tokens given by their SHA-256 (`token_sha256`), `hub api hash-token`, and their validation."""

import hashlib
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from hub.api import auth
from hub.api.app import create_api
from hub.errors import ConfigError
from hub.settings import ApiToken, load_settings
from tests.unit.api.fakes import FakeAudit, FakeReads, settings

HASHED = "hashed-token-0123456789"
PLAIN = "plain-token-0123456789"


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens(*entries: dict[str, Any]) -> tuple[ApiToken, ...]:
    return load_settings(api={"tokens": list(entries)}).api.tokens


def test_a_hashed_token_matches_its_token_and_nothing_else() -> None:
    hashed, plain = tokens(
        {"name": "hashed", "token_sha256": sha256(HASHED), "scopes": ["customers:read"]},
        {"name": "plain", "token": PLAIN, "scopes": ["customers:read"]},
    )
    assert auth.token_named((hashed, plain), HASHED) is hashed
    assert auth.token_named((hashed, plain), PLAIN) is plain
    # The digest itself is not the token: whoever reads the configuration cannot use it.
    assert auth.token_named((hashed, plain), sha256(HASHED)) is None
    assert auth.token_named((hashed, plain), HASHED[:-1]) is None


def test_a_digest_in_capitals_is_accepted() -> None:
    (hashed,) = tokens({"name": "hashed", "token_sha256": sha256(HASHED).upper()})
    assert auth.token_named((hashed,), HASHED) is hashed


def test_every_candidate_is_compared_without_an_early_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = tokens(
        {"name": "first", "token": PLAIN},
        {"name": "second", "token_sha256": sha256(HASHED)},
        {"name": "third", "token": "third-token-0123456789"},
    )
    compared: list[tuple[bytes, bytes]] = []

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(auth.hmac, "compare_digest", compare_digest)
    assert auth.token_named(configured, PLAIN) is configured[0]
    # Three comparisons although the first matched, each of two 32-byte digests: the
    # time taken depends neither on which token matched nor on the presented length.
    assert len(compared) == 3
    assert all(len(a) == len(b) == 32 for a, b in compared)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "both", "token": PLAIN, "token_sha256": sha256(PLAIN)}, "give exactly one of token"),
        ({"name": "neither"}, "give exactly one of token and token_sha256"),
        ({"name": "short", "token_sha256": "abc123"}, "token_sha256 must be 64 hex digits"),
        ({"name": "not-hex", "token_sha256": "g" * 64}, "token_sha256 must be 64 hex digits"),
        ({"name": "short-token", "token": "short"}, "a token must be at least 16 characters"),
    ],
)
def test_invalid_tokens_are_one_clear_error(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        tokens(entry)
    assert message in str(refused.value)
    assert "HUB_API__TOKENS" in str(refused.value)
    for secret in (PLAIN, sha256(PLAIN)):
        assert secret not in str(refused.value)


def test_two_tokens_with_one_name_or_one_secret_are_refused() -> None:
    with pytest.raises(ConfigError, match="same name"):
        tokens({"name": "desk", "token": PLAIN}, {"name": "desk", "token": HASHED})
    with pytest.raises(ConfigError, match="same secret"):
        tokens({"name": "desk", "token": PLAIN}, {"name": "desk-2", "token_sha256": sha256(PLAIN)})


def test_describe_masks_both_forms() -> None:
    shown = load_settings(
        api={"tokens": [{"name": "a", "token": PLAIN}, {"name": "b", "token_sha256": sha256(HASHED)}]}
    ).describe()
    assert shown["api"]["tokens"][0]["token"] == "***"
    assert shown["api"]["tokens"][1] == {
        "name": "b",
        "token": None,
        "token_sha256": "***",
        "scopes": [],
    }


async def test_the_api_accepts_a_hashed_token() -> None:
    configured = settings().model_copy(
        update={
            "api": load_settings(
                api={"tokens": [{"name": "h", "token_sha256": sha256(HASHED), "scopes": ["customers:read"]}]}
            ).api
        }
    )
    app = create_api(configured, FakeReads(), FakeAudit())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        ok = await client.get("/customers/C1", headers={"Authorization": f"Bearer {HASHED}"})
        refused = await client.get("/customers/C1", headers={"Authorization": f"Bearer {sha256(HASHED)}"})
    assert ok.status_code == 200
    assert refused.status_code == 401


def hash_token(stdin: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hub", "api", "hash-token"],
        input=stdin,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hash_token_prints_the_digest_of_stdin() -> None:
    result = hash_token(HASHED + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == sha256(HASHED) + "\n"
    assert HASHED not in result.stdout + result.stderr


def test_hash_token_refuses_a_short_token_with_one_line() -> None:
    result = hash_token("short\n")
    assert result.returncode == 2
    assert result.stderr.startswith("hub: error: the token read from stdin is shorter than 16 characters")
    assert len(result.stderr.strip().splitlines()) == 1
    assert hash_token("").returncode == 2


def test_hash_token_takes_no_token_from_the_command_line() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    result = subprocess.run(
        [sys.executable, "-m", "hub", "api", "hash-token", HASHED],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert sha256(HASHED) not in result.stdout
