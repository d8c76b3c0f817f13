#!/usr/bin/env bash
# Installs what the Helm chart's and the Compose file's tests need into .cache, at pinned
# versions, and does nothing when it is there already:
#   .cache/go-bin/helm, .cache/go-bin/kubeconform   built with `go install` (Go modules)
#   .cache/go-bin/compose-config                    deploy/ci/compose-config: the Compose
#                                                   loader of `docker compose config`
#                                                   (compose-spec/compose-go, go.sum-pinned)
#   .cache/k8s-schemas/vX.Y.Z-standalone-strict/    Kubernetes' JSON Schemas for kubeconform,
#                                                   from the kubernetes-validate wheel (PyPI)
# kubeconform would otherwise download its schemas at run time from a site CI cannot reach.
# Prints the binaries' folder.
#
#   deploy/ci/install-k8s-tools.sh && .cache/go-bin/helm version
#
# Measured on the shared 2-core development machine, Go's module and build caches cold:
# kubeconform 29 s, helm 100 s (2 min 9 s for the whole script); the schemas 1.5 s; a run
# with everything in place 0.01 s.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
KUBERNETES_VALIDATE_VERSION="1.37.0"  # the wheel that carries the schemas
K8S_SCHEMA_VERSION="${K8S_SCHEMA_VERSION:-v1.33.0}"  # the Kubernetes API checked against

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/.cache/go-bin"
schemas="$root/.cache/k8s-schemas"
mkdir -p "$bin" "$schemas"
# The Go of a machine set up by hand is often there but not on PATH.
[[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"

# A stamp file beside each binary names its version, so that a changed pin rebuilds it.
install() {
    local name="$1" module="$2" version="$3"
    if [[ -x "$bin/$name" && "$(cat "$bin/$name.version" 2>/dev/null)" == "$version" ]]; then
        return
    fi
    if ! command -v go >/dev/null 2>&1; then
        echo "install-k8s-tools: go is not on PATH; install Go 1.24+ to build $name $version" >&2
        exit 1
    fi
    echo "install-k8s-tools: go install $module@$version (into $bin)" >&2
    local start=$SECONDS
    GOBIN="$bin" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install "$module@$version"
    echo "$version" >"$bin/$name.version"
    echo "install-k8s-tools: $name $version built in $((SECONDS - start)) s" >&2
}

# Built from its own small module; a stamp of its sources decides when to rebuild it.
build_compose_config() {
    local src="$root/deploy/ci/compose-config" stamp
    stamp="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)"
    if [[ -x "$bin/compose-config" && "$(cat "$bin/compose-config.version" 2>/dev/null)" == "$stamp" ]]; then
        return
    fi
    echo "install-k8s-tools: go build deploy/ci/compose-config (into $bin)" >&2
    local start=$SECONDS
    (cd "$src" && GOFLAGS="${GOFLAGS:--buildvcs=false}" go build -o "$bin/compose-config" .)
    echo "$stamp" >"$bin/compose-config.version"
    echo "install-k8s-tools: compose-config built in $((SECONDS - start)) s" >&2
}

install_schemas() {
    local stamp="$schemas/$K8S_SCHEMA_VERSION-standalone-strict/.from"
    local from="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    if [[ "$(cat "$stamp" 2>/dev/null)" == "$from" ]]; then
        return
    fi
    local python=python3
    [[ -x "$root/.venv/bin/python" ]] && python="$root/.venv/bin/python"
    echo "install-k8s-tools: Kubernetes $K8S_SCHEMA_VERSION schemas from $from" >&2
    "$python" -m pip download -q --no-deps --dest "$schemas/wheels" "$from"
    "$python" "$root/deploy/ci/k8s_schemas.py" \
        "$schemas/wheels/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION-py3-none-any.whl" \
        "$K8S_SCHEMA_VERSION" "$schemas"
    echo "$from" >"$stamp"
}

install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
build_compose_config
install_schemas
echo "$bin"
