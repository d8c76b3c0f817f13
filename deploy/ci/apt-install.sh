#!/usr/bin/env bash
# Install Debian packages for a test tool when its binaries are missing:
#   apt-install.sh NAME "BINARY..." PACKAGE...
# Idempotent: exits at once when every binary is there. Installs with apt-get, so it needs
# root; anyone else gets one line saying what to install. Used by install-browser.sh and
# install-prometheus.sh.
set -euo pipefail

name=$1
read -r -a binaries <<<"$2"
shift 2
packages=("$@")

missing() {
    for binary in "${binaries[@]}"; do
        [[ -x $binary ]] || return 0
    done
    return 1
}

missing || exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "$name: ${binaries[*]} missing; as root run: apt-get install -y --no-install-recommends ${packages[*]}" >&2
    exit 1
fi

echo "$name: installing ${packages[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --no-install-recommends: the tests need the binaries, not the services or extras.
apt-get install -y -q --no-install-recommends "${packages[@]}"

if missing; then
    echo "$name: apt-get finished but one of ${binaries[*]} is still missing" >&2
    exit 1
fi
