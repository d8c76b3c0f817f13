#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser test (tests/browser), when missing.
# Idempotent: exits at once when both are installed. Installs with apt-get, so it needs
# root; anyone else gets one line saying what to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
# The emoji font draws the page's channel icons; without it they are empty boxes.
PACKAGES=(chromium chromium-driver fonts-noto-color-emoji)

if [[ -x $CHROMIUM && -x $CHROMEDRIVER ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-browser: $CHROMIUM or $CHROMEDRIVER missing; as root run: apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    exit 1
fi

echo "install-browser: installing ${PACKAGES[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

if [[ ! -x $CHROMIUM || ! -x $CHROMEDRIVER ]]; then
    echo "install-browser: apt-get finished but $CHROMIUM or $CHROMEDRIVER is still missing" >&2
    exit 1
fi
"$CHROMIUM" --version >&2
