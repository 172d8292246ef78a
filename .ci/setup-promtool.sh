#!/usr/bin/env bash
# Installs promtool (Debian package `prometheus`), which the metrics interop
# test runs as `promtool check metrics`. Needs root (CI runs as root).
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
    echo "promtool ready: $(promtool --version 2>&1 | head -1)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
echo "promtool ready: $(promtool --version 2>&1 | head -1)"
