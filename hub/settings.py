"""One frozen settings tree, read from ``HUB_*`` environment variables.

Nested groups use a double underscore: ``HUB_RULES__WALK_IN_MIN_USD=100000``.
Use :func:`load_settings`, which turns a bad value into one :class:`ConfigError`
naming the variable, instead of a pydantic traceback.
"""

import hashlib
import json
import os
import re
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from hub.core.pii import Hasher, Keyring
from hub.errors import ConfigError

ENV_PREFIX = "HUB_"

DEFAULT_FX_RATES = {
    # Units of the home currency per one unit of the currency; reference rates, not
    # dealing rates. A bank sets its own through HUB_FX_RATES.
    "CNY": Decimal("1"),
    "USD": Decimal("7.10"),
    "EUR": Decimal("7.70"),
    "GBP": Decimal("9.00"),
    "HKD": Decimal("0.91"),
    "JPY": Decimal("0.047"),
    "AUD": Decimal("4.65"),
    "SGD": Decimal("5.30"),
}


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PolicySettings(_Group):
    """The contact policy (domain.md): caps, quiet hours, control group, declined offers."""

    sales_per_7_days: int = Field(1, ge=0)
    sales_per_30_days: int = Field(3, ge=0)
    care_reason_days: int = Field(7, ge=0)
    """Each care rule at most once in this many days (a rule's once_per may say longer)."""
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    control_share: float = Field(0.05, ge=0, le=0.5)
    """Share of customers, by a stable hash of the id, who get no sales triggers."""
    declined_days: int = Field(90, ge=0)
    group_cap: bool = True
    """At most one sales trigger of a product to the companies of one group in a calendar
    week (Monday to Sunday, UTC), whichever member's RM would pitch it."""


class CorporateTierSettings(_Group):
    """Companies' tiers by value contribution, in the home currency: deposits and loans
    (balances) plus FX and settlement volume (flows over a year), each weighted."""

    key_account: Decimal = Decimal("100000000")
    large: Decimal = Decimal("10000000")
    deposits_weight: Decimal = Decimal("1")
    loans_weight: Decimal = Decimal("1")
    fx_volume_weight: Decimal = Decimal("0.1")
    settlement_volume_weight: Decimal = Decimal("0.05")


class TierSettings(_Group):
    """Lower bounds of assets under management, in the home currency; companies' tiers
    under ``corporate``."""

    private: Decimal = Decimal("6000000")
    wealth: Decimal = Decimal("500000")
    affluent: Decimal = Decimal("50000")
    corporate: CorporateTierSettings = Field(default_factory=CorporateTierSettings)


class IdentitySettings(_Group):
    """How long, and how many, events with unknown identifiers wait for their profile."""

    wait_minutes: float = Field(15.0, ge=0)
    """Event time an unresolved event waits before it is dead-lettered (unknown_customer)."""
    max_waiting_per_partition: int = Field(10_000, ge=1)
    """Memory bound: beyond it the oldest waiting event of the partition is dead-lettered."""
    recheck_seconds: float = Field(1.0, gt=0)
    """How often waiting events are looked up again."""
    min_wait_seconds: float = Field(60.0, ge=0)
    """Real time an event waits at least before the event-time bound may dead-letter it:
    a backlog after an outage covers minutes of event time in seconds."""


ApiScope = Literal["customers:read", "decisions:read", "audit:read"]
"""``customers:read``: profile, history, search. ``decisions:read``: the decision log.
``audit:read``: the audit of customer reads (who read which customer, when)."""

MIN_TOKEN_LENGTH = 16


class StreamSettings(_Group):
    """The hot path's consumer loop (HUB_STREAM__*)."""

    batch_max: int = Field(5_000, ge=1, le=100_000)
    """Records fetched and decided together: one transaction, one commit."""
    alignment_ms: int = Field(1_000, ge=0, le=600_000)
    """How long a record waits for the other input partitions of its customers before it
    is decided anyway (partitions with nothing more to fetch are never waited for)."""
    linger_ms: int = Field(0, ge=0, le=1_000)
    """How long the producer waits for more records before it sends a request. A batch's
    records are all handed to the producer before it first gets to send, so they go out
    together without waiting; a linger only adds to every batch's latency."""
    fetch_wait_ms: int = Field(25, ge=0, le=10_000)
    """How long the broker may hold a fetch that finds nothing new. The consumer leaves
    partitions that still have records buffered out of its next fetch, so while that
    fetch waits, records arriving on them wait too: Kafka's default (500 ms) showed as
    half-second stalls in the latency."""
    state_cache_customers: int = Field(1_000_000, ge=1)
    """Customers whose hot state a worker keeps in memory; others are loaded when needed."""
    profiles_wait_s: float = Field(120.0, ge=0)
    """At start, how long to wait for the profile agent to store the profiles published so
    far before deciding anyway (with a warning)."""


class ApiToken(_Group):
    """A bearer token of the customer API, named so that logs and the audit can say whose it was.

    Give either ``token`` or ``token_sha256``, the hex SHA-256 of the token (``hub api
    hash-token`` prints it), so that the configuration need not hold the token itself. The
    digest is unsalted: fine for a token of 16+ random characters, not for a password.
    """

    name: str = Field(min_length=1, max_length=64)
    token: SecretStr | None = None
    token_sha256: SecretStr | None = None
    scopes: tuple[ApiScope, ...] = ()

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"a token must be at least {MIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("token_sha256")
    @classmethod
    def _a_digest(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        digest = value.get_secret_value().strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("token_sha256 must be 64 hex digits, as `hub api hash-token` prints them")
        return SecretStr(digest)

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError(f"token {self.name!r}: give exactly one of token and token_sha256")
        return self

    @property
    def digest(self) -> bytes:
        """The SHA-256 of the token: what a presented token's digest is compared with."""
        if self.token_sha256 is not None:
            return bytes.fromhex(self.token_sha256.get_secret_value())
        assert self.token is not None  # _one_secret
        return token_digest(self.token.get_secret_value())


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class ApiSettings(_Group):
    """``hub api``: where it listens and which bearer tokens it accepts (HUB_API__TOKENS, JSON)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    tokens: tuple[ApiToken, ...] = ()

    @field_validator("tokens")
    @classmethod
    def _distinct(cls, tokens: tuple[ApiToken, ...]) -> tuple[ApiToken, ...]:
        # The audit records a reader by the token's name: two tokens must never share one,
        # nor one secret under two names.
        names = [token.name for token in tokens]
        if len(set(names)) != len(names):
            raise ValueError("two tokens have the same name; the audit tells readers apart by name")
        if len({token.digest for token in tokens}) != len(tokens):
            raise ValueError("two tokens have the same secret; give each reader a token of its own")
        return tokens

    def require_tokens(self) -> tuple[ApiToken, ...]:
        if not self.tokens:
            raise ConfigError(
                "HUB_API__TOKENS is not set: give the API at least one bearer token, e.g. "
                'HUB_API__TOKENS=\'[{"name": "rm-desk", "token": "<at least 16 random characters>", '
                '"scopes": ["customers:read", "decisions:read"]}]\''
            )
        return self.tokens


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    kafka_bootstrap: str | None = None
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None

    database_url: SecretStr | None = None
    pii_key: SecretStr | None = None
    """The key of the keyed hashes of card and phone numbers (HMAC-SHA256)."""
    pii_key_id: str = Field("k1", pattern=r"^[A-Za-z0-9_-]{1,16}$")
    pii_previous_keys: dict[str, SecretStr] = Field(default_factory=dict)
    """Retired keys by key id (JSON), still tried when looking identifiers up after a rotation."""
    db_pool_size: int = Field(4, ge=1, le=100)
    session_timeout_s: float = Field(10.0, ge=6, le=300)
    """How long both consumer groups wait for a worker that stopped answering (killed,
    frozen) before its partitions go to the others. Faust's default, 60 s, stalled the
    group for a minute or more after a ``kill -9``."""
    stop_timeout_s: float = Field(15.0, ge=1, le=600)
    """How long ``hub worker`` may take to stop after SIGTERM or SIGINT: past it, the
    process exits at once. Nothing is lost: what was not committed is read again."""
    startup_wait_s: float = Field(300.0, ge=0)
    """How long ``hub worker`` waits at start for a broker or database that cannot be
    reached (it is not ready meanwhile) before it gives up with the reason."""

    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$")
    partitions: int = Field(4, ge=1, le=1024)
    replication_factor: int = Field(1, ge=1, le=7)

    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    store: Literal["rocksdb://", "memory://"] = "rocksdb://"
    data_dir: Path = Path(".hub-data")
    log_level: Literal["crit", "error", "warn", "info", "debug"] = "info"
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per line from the worker, Faust, uvicorn and the hub."""

    batch_max: int = Field(500, ge=1, le=100_000)
    batch_within_ms: int = Field(50, ge=1, le=60_000)
    future_tolerance_hours: int = Field(24, ge=0)

    home_currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    fx_rates: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_FX_RATES))
    rules_file: Path | None = None
    """A YAML rule file; the default rule set shipped with the hub when unset."""
    rules_reload_seconds: float = Field(5.0, gt=0)
    default_time_zone: str = "Asia/Shanghai"
    policy: PolicySettings = Field(default_factory=PolicySettings)
    tiers: TierSettings = Field(default_factory=TierSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)

    @field_validator("database_url")
    @classmethod
    def _a_postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Never quote the value: it holds the password.
        if value is None:
            return None
        try:
            parts = urlsplit(value.get_secret_value())
            parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
        except ValueError:
            raise ValueError(f"not a URL; {_DATABASE_URL_FORM}") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"not a postgresql:// URL; {_DATABASE_URL_FORM}")
        return value

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("fx_rates")
    @classmethod
    def _rates_are_positive(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in rates.items():
            if len(code) != 3 or not code.isupper() or rate <= 0:
                raise ValueError(f"{code}: a rate must be a positive number for an ISO 4217 code")
        return rates

    def topic(self, name: str) -> str:
        """The physical topic name of a contract topic in this environment."""
        return f"{self.topic_prefix}{name}"

    @property
    def app_id(self) -> str:
        """Faust application id; it names the consumer group and internal topics."""
        return f"{self.topic_prefix}interaction-hub"

    @property
    def hot_path_group(self) -> str:
        """Consumer group of the hot path's own consumer (channel and internal accepted topics)."""
        return f"{self.app_id}.hot-path"

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap:
            raise ConfigError(
                "HUB_KAFKA_BOOTSTRAP is not set: point it at your Kafka brokers "
                '(host:port,...), or start a local broker with `eval "$(hub infra up)"`.'
            )
        return self.kafka_bootstrap

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise ConfigError(
                "HUB_DATABASE_URL is not set: point it at PostgreSQL "
                "(postgresql://user:password@host:5432/db), or start a local server with "
                '`eval "$(hub infra up)"`.'
            )
        return self.database_url.get_secret_value()

    def require_pii_key(self) -> Hasher:
        if self.pii_key is None or len(self.pii_key.get_secret_value()) < 16:
            raise ConfigError(
                "HUB_PII_KEY is not set (or shorter than 16 characters): it keys the hashes of card "
                "and phone numbers; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
                'or let `eval "$(hub infra up)"` set a local one.'
            )
        return Hasher(self.pii_key_id, self.pii_key.get_secret_value().encode())

    def require_pii_keyring(self) -> Keyring:
        previous = tuple(
            Hasher(key_id, key.get_secret_value().encode())
            for key_id, key in self.pii_previous_keys.items()
            if key_id != self.pii_key_id
        )
        return Keyring(self.require_pii_key(), previous)

    def describe(self) -> dict[str, Any]:
        """The effective configuration with secrets masked, for the start-up log."""
        shown = self.model_dump(mode="json")
        if self.database_url is not None:
            shown["database_url"] = mask_url(self.database_url.get_secret_value())
        for secret in ("kafka_sasl_password", "pii_key"):
            if getattr(self, secret) is not None:
                shown[secret] = "***"
        shown["pii_previous_keys"] = {key_id: "***" for key_id in self.pii_previous_keys}
        for token in shown["api"]["tokens"]:
            for secret in ("token", "token_sha256"):
                if token[secret] is not None:
                    token[secret] = "***"
        return shown


_DATABASE_URL_FORM = "give postgresql://user:password@host:5432/database"


def mask_url(url: str) -> str:
    """``postgresql://hub:secret@db/hub`` -> ``postgresql://hub:***@db/hub``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment; raise one readable ConfigError if wrong."""
    try:
        return Settings(**overrides)
    except SettingsError as exc:
        # pydantic-settings could not even parse a value, e.g. JSON that is not JSON.
        raise ConfigError(_unparsable(str(exc))) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def _unparsable(message: str) -> str:
    """Name the variables behind pydantic-settings' 'error parsing value for field "api"'."""
    found = re.search(r'field "(\w+)"', message)
    field = found.group(1) if found else None
    if field is None:
        return f"invalid configuration: {message}; JSON settings need valid JSON"
    prefix = ENV_PREFIX + field.upper()
    broken = []
    for name, value in sorted(os.environ.items()):
        if name.upper() == prefix or name.upper().startswith(prefix + "__"):
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                broken.append(f"{name.upper()} is not valid JSON ({exc.msg} at character {exc.pos})")
    named = "; ".join(broken) or f"{prefix} (or one of {prefix}__*) could not be read"
    return f"invalid configuration: {named}: give it as JSON{_JSON_EXAMPLES.get(field, '')}"


_JSON_EXAMPLES = {
    "api": ', e.g. HUB_API__TOKENS=\'[{"name": "rm-desk", "token": "<16+ random characters>", '
    '"scopes": ["customers:read"]}]\'',
    "pii_previous_keys": ', e.g. HUB_PII_PREVIOUS_KEYS=\'{"k1": "<the retired key>"}\'',
    "fx_rates": ', e.g. HUB_FX_RATES=\'{"USD": "7.10"}\'',
}
