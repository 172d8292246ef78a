#!/usr/bin/env bash
# Creates .venv at the workspace root with the interop test tools:
# - stix2-validator (OASIS STIX 2.1 validator), stix2 (OASIS STIX library,
#   strict parsing), taxii2-client (OASIS TAXII client);
# - grpcio-reflection (Python's gRPC reflection client, v1alpha);
# - pymisp (MISP's own event model, to load the MISP feed strictly);
# - prometheus_client (its OpenMetrics parser), httpx[http2] (HTTP/2 requests);
# - openapi-spec-validator (the HTTP API's OpenAPI 3.1 document) and schemathesis
#   (an API fuzzer driven by that document), tests/tests/api.rs.
# - cryptography (Ed25519, for tests/data/verify_jrev.py, the independent
#   evidence package verifier).
# tests/tests/interop*.rs, api.rs and takedown.rs run them from .venv/bin/python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet stix2-validator stix2 taxii2-client grpcio grpcio-reflection pymisp \
    prometheus_client 'httpx[http2]' openapi-spec-validator schemathesis cryptography
"$venv/bin/python" -c 'import stix2validator, stix2, taxii2client, grpc_reflection, pymisp, prometheus_client, httpx, h2, openapi_spec_validator, schemathesis, cryptography; print("interop venv ready")'
