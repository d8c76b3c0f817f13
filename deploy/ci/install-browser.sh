#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser test (tests/browser), when missing.
# Installed with apt-get by apt-install.sh (root; else one line saying what to install).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
# The emoji font draws the page's channel icons; without it they are empty boxes.
PACKAGES=(chromium chromium-driver fonts-noto-color-emoji)

here=$(dirname "$0")
"$here/apt-install.sh" install-browser "$CHROMIUM $CHROMEDRIVER" "${PACKAGES[@]}"
"$CHROMIUM" --version >&2
