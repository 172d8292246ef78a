#!/usr/bin/env bash
# Coverage-guided fuzzing of jaring-node with libFuzzer, on the stable
# toolchain (no cargo-fuzz, no nightly): builds every target in fuzz/ with
# SanitizerCoverage instrumentation, then runs each for SECONDS_PER_TARGET
# seconds, one after the other, over its committed seeds (fuzz/corpus/<t>/).
#
#   .ci/fuzz.sh [SECONDS_PER_TARGET]     default 10 (the CI smoke run)
#   FUZZ_TARGETS="envelope identity" .ci/fuzz.sh 180    a subset, longer
#   .ci/fuzz.sh --write-seeds            regenerate fuzz/corpus/*/seed-*
#   FUZZ_ARGS="-len_control=0" .ci/fuzz.sh 180   extra libFuzzer flags
#
# New corpus entries go to target/fuzz/corpus/<t>/ (kept between runs, so
# later runs start from what earlier ones found); crashes to
# target/fuzz/artifacts/<t>/; logs to target/fuzz/logs/<t>.log. The work
# tree stays clean. Exits non-zero if a target crashes, hangs or runs out of
# memory, printing the crashing input's path. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-10}"
write_seeds=false
if [[ "$seconds" == "--write-seeds" ]]; then
    write_seeds=true
elif ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET | --write-seeds]" >&2
    exit 2
fi
read -r -a targets <<<"${FUZZ_TARGETS:-normalize envelope identity stix_import csv_import extract}"
read -r -a extra <<<"${FUZZ_ARGS:-}"

# --target makes cargo apply RUSTFLAGS to the fuzzed code only, not to build
# scripts and proc-macros (which run on the host and must not be
# instrumented: they do not link libFuzzer).
host="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"
work="$CARGO_TARGET_DIR"

# The coverage flags cargo-fuzz passes with `--sanitizer none`:
# SanitizerCoverage through LLVM's sancov module pass (edge coverage, inline
# 8-bit counters, the PC table libFuzzer reads, comparison tracing), the cfg
# libfuzzer-sys expects, and assertions plus overflow checks so that logic
# errors surface as panics. All are stable rustc options (-C passes,
# -C llvm-args); only cargo-fuzz's sanitizers (-Zsanitizer=address) need
# nightly, and they are left out.
flags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    --cfg fuzzing
    -Cdebug-assertions
    -Coverflow-checks
)
# RUSTFLAGS replaces the rustflags of .cargo/config.toml, so the ed25519
# backend cfg set there for x86_64 (AVX-512 IFMA) is repeated here: the
# targets run the code the node runs.
if [[ "$host" == x86_64-* ]]; then
    flags+=(--cfg 'curve25519_dalek_backend="avx512"')
fi

if $write_seeds; then
    RUSTFLAGS="${flags[*]}" cargo build --manifest-path fuzz/Cargo.toml --locked --release --target "$host" --bin gen_seeds
    exec "$CARGO_TARGET_DIR/$host/release/gen_seeds" fuzz/corpus
fi

bins=()
for t in "${targets[@]}"; do
    if [[ ! -f "fuzz/fuzz_targets/$t.rs" ]]; then
        echo "fuzz: no target $t (fuzz/fuzz_targets/$t.rs)" >&2
        exit 2
    fi
    bins+=(--bin "$t")
done

echo "-- building ${targets[*]} (release, $host, sancov)"
build_start=$SECONDS
RUSTFLAGS="${flags[*]}" cargo build --manifest-path fuzz/Cargo.toml --locked --release --target "$host" "${bins[@]}"
echo "-- built in $((SECONDS - build_start)) s"

failed=()
for t in "${targets[@]}"; do
    corpus="$work/corpus/$t"
    artifacts="$work/artifacts/$t"
    log="$work/logs/$t.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    # First directory: where libFuzzer writes new inputs; the seeds are read
    # from the second and never written.
    set +e
    "$work/$host/release/$t" \
        -max_total_time="$seconds" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        "${extra[@]}" \
        "$corpus" "fuzz/corpus/$t" >"$log" 2>&1
    status=$?
    set -e
    done_line="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)"
    cov_line="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)"
    cov="$(sed -nE 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$cov_line")"
    if [[ $status -eq 0 ]]; then
        echo "fuzz $t: ${done_line:-no summary line (see $log)}; ${cov:-no coverage line}"
    else
        echo "fuzz $t: FAILED (exit $status) after ${cov:-no coverage line}; log: $log"
        grep -E 'panicked at|^==[0-9]+== ERROR|ERROR: libFuzzer|SUMMARY: libFuzzer' "$log" | head -n 5 | sed 's/^/    /' || true
        crash="$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)"
        echo "    crashing input: ${crash:-none written (see $log)}"
        [[ -n "$crash" ]] && echo "    reproduce: $work/$host/release/$t $crash"
        failed+=("$t")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} target(s), ${seconds} s each, no crash"
