#!/usr/bin/env bash
# Debian's Prometheus and promtool for the alert tests (tests/unit/test_alerts.py) and the
# dashboard test (tests/integration/test_dashboard.py), when missing. Idempotent: exits at
# once when both are installed. Installs with apt-get, so it needs root; anyone else gets
# one line saying what to install.
set -euo pipefail

PROMETHEUS=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool
PACKAGES=(prometheus)

if [[ -x $PROMETHEUS && -x $PROMTOOL ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-prometheus: $PROMETHEUS or $PROMTOOL missing; as root run: apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    exit 1
fi

echo "install-prometheus: installing ${PACKAGES[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --no-install-recommends: the tests need the two binaries, not the node exporter. The
# tests run Prometheus of their own (temporary config, data and port), not the service.
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

if [[ ! -x $PROMETHEUS || ! -x $PROMTOOL ]]; then
    echo "install-prometheus: apt-get finished but $PROMETHEUS or $PROMTOOL is still missing" >&2
    exit 1
fi
"$PROMETHEUS" --version 2>&1 | head -1 >&2
