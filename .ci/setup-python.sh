#!/usr/bin/env bash
# Creates .venv at the workspace root with the interop test tools:
# stix2-validator (OASIS STIX 2.1 validator) and taxii2-client (OASIS TAXII client).
# tests/tests/interop.rs runs them from .venv/bin/python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet stix2-validator taxii2-client
"$venv/bin/python" -c 'import stix2validator, taxii2client; print("interop venv ready:", stix2validator.__name__, taxii2client.__name__)'
