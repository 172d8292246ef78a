#!/usr/bin/env bash
# The console's browser tests (tests/tests/console.rs) drive Debian's
# headless Chromium through chromedriver. Installs both when chromedriver
# is missing; does nothing otherwise.
set -euo pipefail
if command -v chromedriver >/dev/null 2>&1; then
    echo "chromedriver: $(command -v chromedriver)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium chromium-driver
