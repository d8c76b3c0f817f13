#!/usr/bin/env bash
# Installs the AsyncAPI parser pinned by deploy/ci/asyncapi/package-lock.json
# (@asyncapi/parser 3.6.3, from the npm registry) into .cache/asyncapi with `npm ci`, for
# deploy/ci/validate-asyncapi.cjs. Does nothing when that lock file is installed already.
# Needs Node.js 18+ and npm. Prints the folder.
#
#   deploy/ci/install-asyncapi-parser.sh && node deploy/ci/validate-asyncapi.cjs schemas/asyncapi.yaml
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pinned="$root/deploy/ci/asyncapi"
target="$root/.cache/asyncapi"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install-asyncapi-parser: $tool is not on PATH; install Node.js 18+ with npm (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
done

if [[ -d "$target/node_modules/@asyncapi/parser" ]] && cmp -s "$pinned/package-lock.json" "$target/package-lock.json"; then
    echo "$target"
    exit 0
fi

echo "install-asyncapi-parser: npm ci into $target" >&2
start=$SECONDS
mkdir -p "$target"
cp "$pinned/package.json" "$pinned/package-lock.json" "$target/"
(cd "$target" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
echo "install-asyncapi-parser: installed in $((SECONDS - start)) s" >&2
echo "$target"
