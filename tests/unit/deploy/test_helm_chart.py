"""The Helm chart lints, renders to manifests that Kubernetes' schemas accept, and says what it promised.

helm and kubeconform are installed by ``deploy/ci/install-k8s-tools.sh`` (``make
k8s-tools``, run by ``make test`` before pytest); the fixture runs it too, a no-op when
they are there. A missing tool fails the test: a skip would pass CI on nothing.
"""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "helm" / "interaction-hub"
TEST_VALUES = CHART / "ci" / "test-values.yaml"
INSTALL = ROOT / "deploy" / "ci" / "install-k8s-tools.sh"
SCHEMAS = ROOT / ".cache" / "k8s-schemas"
KUBERNETES_VERSION = "1.33.0"  # the schemas install-k8s-tools.sh lays out
# kubeconform's template of a schema's path: deployment-apps-v1.json and so on.
SCHEMA_FILE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
SCHEMA_LOCATION = str(SCHEMAS / f"v{KUBERNETES_VERSION}-standalone-strict" / SCHEMA_FILE)


@pytest.fixture(scope="module")
def tools() -> Path:
    done = subprocess.run([str(INSTALL)], capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:
        pytest.fail(f"{INSTALL.name} failed (run `make k8s-tools`):\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def helm(tools: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools / "helm"), *args], capture_output=True, text=True, timeout=120, check=False
    )


def render(tools: Path, *sets: str) -> list[dict[str, Any]]:
    args = [arg for s in sets for arg in ("--set", s)]
    done = helm(tools, "template", "hub", str(CHART), "-f", str(TEST_VALUES), *args)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def container(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job") and doc["metadata"]["name"].endswith(component):
            containers: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
            return containers[0]
    raise AssertionError(f"no {component}")


@pytest.mark.timeout(1500)
def test_helm_lint_passes(tools: Path) -> None:
    done = helm(tools, "lint", "--strict", str(CHART), "-f", str(TEST_VALUES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_rendered_manifests_pass_kubeconform_strict(tools: Path) -> None:
    rendered = helm(tools, "template", "hub", str(CHART), "-f", str(TEST_VALUES))
    assert rendered.returncode == 0, rendered.stderr
    done = subprocess.run(
        [
            str(tools / "kubeconform"),
            "-strict",
            "-summary",
            "-kubernetes-version",
            KUBERNETES_VERSION,
            "-schema-location",
            SCHEMA_LOCATION,
            # The Prometheus Operator's CRD has no schema here; its shape is checked below.
            "-skip",
            "PodMonitor",
        ],
        input=rendered.stdout,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Invalid: 0, Errors: 0" in done.stdout
    assert "Valid: 5" in done.stdout, done.stdout  # Secret, Service, 2 Deployments, Job


def test_kubeconform_rejects_an_unknown_field(tools: Path, tmp_path: Path) -> None:
    """The check is real: a misspelt field fails it."""
    docs = render(tools)
    deployment = by_kind(docs, "Deployment")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(yaml.safe_dump(deployment))
    done = subprocess.run(
        [str(tools / "kubeconform"), "-strict", "-schema-location", SCHEMA_LOCATION, str(manifest)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "livenessProbes" in done.stdout


def test_workers_and_api_probe_what_they_serve(tools: Path) -> None:
    docs = render(tools)
    worker, api = container(docs, "-worker"), container(docs, "-api")
    assert worker["args"] == ["hub", "worker"] and api["args"] == ["hub", "api"]
    for serving, port_name in ((worker, "web"), (api, "http")):
        assert serving["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port_name}
        assert serving["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port_name}
    env = {e["name"]: e.get("value") for e in worker["env"]}
    assert env["HUB_WEB_HOST"] == "0.0.0.0" and env["HUB_WEB_PORT"] == "6066"
    assert worker["ports"] == [{"name": "web", "containerPort": 6066}]
    api_env = {e["name"]: e.get("value") for e in api["env"]}
    assert api_env["HUB_API__HOST"] == "0.0.0.0" and api_env["HUB_API__PORT"] == "8080"
    service = by_kind(docs, "Service")[0]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_secrets_come_from_a_secret_and_settings_from_values(tools: Path) -> None:
    docs = render(tools)
    secret = by_kind(docs, "Secret")[0]
    assert set(secret["stringData"]) == {"HUB_PII_KEY", "HUB_DATABASE_URL", "HUB_API__TOKENS"}
    for component in ("-worker", "-api", "-migrate"):
        env = {e["name"]: e for e in container(docs, component)["env"]}
        for key in secret["stringData"]:
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": key}
        assert env["HUB_TOPIC_PREFIX"]["value"] == "test."
        assert env["HUB_PARTITIONS"]["value"] == "4"

    existing = render(tools, "secrets.existingSecret=bank-hub-secrets")
    assert not by_kind(existing, "Secret")
    env = {e["name"]: e for e in container(existing, "-worker")["env"]}
    assert env["HUB_PII_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "bank-hub-secrets"


def test_every_hub_setting_named_in_the_chart_exists() -> None:
    from hub.settings import Settings

    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    files = [*(CHART / "templates").iterdir(), CHART / "values.yaml"]
    text = "\n".join(p.read_text() for p in files)
    for name in set(re.findall(r"\bHUB_[A-Z0-9_]+", text)):
        assert name.split("__")[0] in known, name


def test_pods_run_as_non_root_with_resources(tools: Path) -> None:
    docs = render(tools)
    for doc in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 65534
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]


def test_migration_runs_as_a_hook_before_install_and_upgrade(tools: Path) -> None:
    docs = render(tools)
    job = by_kind(docs, "Job")[0]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert container(docs, "-migrate")["args"] == ["hub", "migrate"]
    # The chart's Secret is a hook too, created before the Job that reads it.
    secret = by_kind(docs, "Secret")[0]
    weights = (secret, job)
    assert [int(d["metadata"]["annotations"]["helm.sh/hook-weight"]) for d in weights] == [-10, 0]


def test_scrape_annotations_and_pod_monitor(tools: Path) -> None:
    docs = render(tools)
    for component, port in (("-worker", "6066"), ("-api", "8080")):
        deployment = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith(component))
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": port,
            "prometheus.io/path": "/metrics",
        }
    (monitor,) = by_kind(docs, "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} == {"web", "http"}
    assert not by_kind(render(tools, "metrics.podMonitor.enabled=false"), "PodMonitor")


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("worker.replicas=5",), "worker.replicas (5) is more than kafka.partitions (4)"),
        (("kafka.bootstrap=",), "kafka.bootstrap is required"),
        (("secrets.piiKey=",), "secrets.piiKey is required"),
        (("config.HUB_PII_KEY=x",), "config.HUB_PII_KEY is a secret"),
        (("config.LOG_LEVEL=x",), "config.LOG_LEVEL: the hub reads only HUB_* variables"),
    ],
)
def test_bad_values_fail_with_a_clear_message(tools: Path, sets: tuple[str, ...], message: str) -> None:
    args = [arg for s in sets for arg in ("--set", s)]
    done = helm(tools, "template", "hub", str(CHART), "-f", str(TEST_VALUES), *args)
    assert done.returncode != 0
    assert message in done.stderr
