#!/usr/bin/env bash
# Side by side (issue 23): `jaring bench` with the repository's ed25519
# backend (AVX-512 IFMA, falling back to AVX2 at run time) and with the old
# one (AVX2: curve25519-dalek's default, what ed25519-dalek 2 ran on), one run
# each, one after the other, same arguments, same machine.
#
#   .ci/bench-backends.sh [JARING_BENCH_ARGS...]
#   .ci/bench-backends.sh                                # every scenario, default sizes
#   .ci/bench-backends.sh machine publish ingest catchup # the figures issue 23 asks for
#   .ci/bench-backends.sh machine ingest --indicators 20000   # a short check
#
# Builds `jaring` in release mode twice: target/release/jaring (new) and
# target/backend-simd/release/jaring (old, .ci/backend.sh simd). Writes
# target/bench-backends/{new,old}.json (the `--json` reports) and prints the
# main figures with the ratio new/old, and ingest and catch-up over the old
# binary's 2-thread batch-verify rate. NEW_FIRST=0 runs the old one first;
# PROFILE=dev builds debug binaries instead (a quick check of the script,
# not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."

out="$PWD/target/bench-backends"
mkdir -p "$out"

profile="${PROFILE:-release}"
case "$profile" in
    release) dir=release ;;
    dev) dir=debug ;;
    *)
        echo "$0: PROFILE is release or dev" >&2
        exit 2
        ;;
esac
echo "-- building jaring ($profile): new backend (target/$dir), old backend (target/backend-simd/$dir)"
cargo build --profile "$profile" --locked --bin jaring
.ci/backend.sh simd build --profile "$profile" --locked --bin jaring
new_bin="$PWD/target/$dir/jaring"
old_bin="$PWD/target/backend-simd/$dir/jaring"

run() {
    local name="$1" bin="$2"
    shift 2
    echo "-- $name: $bin bench $* --json"
    "$bin" bench "$@" --json >"$out/$name.json"
}
if [[ "${NEW_FIRST:-1}" == 0 ]]; then
    run old "$old_bin" "$@"
    run new "$new_bin" "$@"
else
    run new "$new_bin" "$@"
    run old "$old_bin" "$@"
fi

python3 - "$out/new.json" "$out/old.json" <<'PY'
import json, sys

new, old = (json.load(open(p)) for p in sys.argv[1:3])
rows = [
    ("machine", "verify_backend"),
    ("machine", "verify_per_s"),
    ("machine", "batch_verify_per_s"),
    ("machine", "batch_verify_2_threads_per_s"),
    ("machine", "sign_per_s"),
    ("publish", "stream_indicators_per_s"),
    ("publish", "unary_indicators_per_s"),
    ("ingest", "indicators_per_s"),
    ("ingest", "ratio_to_batch_verify"),
    ("ingest", "subscriber_peak_rss_mib"),
    ("catchup", "indicators_per_s"),
    ("catchup", "seconds_to_converge"),
    ("catchup", "ratio_to_batch_verify"),
    ("lookup", "in_process_lookups_per_s"),
    ("lookup", "grpc_unary_lookups_per_s"),
]

def get(report, scenario, key):
    return report.get(scenario, {}).get(key)

def fmt(v):
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return "-" if v is None else str(v)

print(f"| {'figure':<50} | {'new (avx512)':>14} | {'old (avx2)':>14} | {'new/old':>7} |")
print(f"|{'-' * 52}|{'-' * 15}:|{'-' * 15}:|{'-' * 8}:|")
for scenario, key in rows:
    a, b = get(new, scenario, key), get(old, scenario, key)
    if a is None and b is None:
        continue
    ratio = f"{a / b:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""
    print(f"| {scenario + '.' + key:<50} | {fmt(a):>14} | {fmt(b):>14} | {ratio:>7} |")
old_batch = get(old, "machine", "batch_verify_2_threads_per_s")
for scenario in ("ingest", "catchup"):
    rate = get(new, scenario, "indicators_per_s")
    if rate is not None and old_batch:
        label = f"{scenario}.indicators_per_s (new) / old batch verify"
        print(f"| {label:<50} | {rate / old_batch:>14.2f} | {'':>14} | {'':>7} |")
PY
echo "-- reports: $out/new.json $out/old.json"
