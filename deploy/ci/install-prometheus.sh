#!/usr/bin/env bash
# Debian's Prometheus and promtool for the alert tests (tests/unit/test_alerts.py) and the
# dashboard test (tests/integration/test_dashboard.py), when missing. The tests run
# Prometheus of their own (temporary config, data and port), not the packaged service.
set -euo pipefail

here=$(dirname "$0")
"$here/apt-install.sh" install-prometheus "/usr/bin/prometheus /usr/bin/promtool" prometheus
/usr/bin/prometheus --version 2>&1 | head -1 >&2
