#!/usr/bin/env bash
# Runs cargo with another curve25519-dalek backend for ed25519 than the
# repository's (AVX-512 IFMA with run-time fallback, .cargo/config.toml), in
# a target directory of its own (target/backend-BACKEND), so that neither
# build invalidates the other (the cfg is a rustc flag: every crate differs).
#
#   .ci/backend.sh BACKEND CARGO_ARGS...
#
# BACKEND (the values of curve25519-dalek's `curve25519_dalek_backend` cfg):
#   avx512  the repository's default, spelled out
#   simd    AVX2 with run-time fallback to serial: curve25519-dalek's own
#           default, and what ed25519-dalek 2 ran on here (the "old" backend)
#   serial  no vector code at all: what a CPU without AVX2 falls back to
#
#   .ci/backend.sh simd build --release --bin jaring     # target/backend-simd/release/jaring
#   .ci/backend.sh serial test -p jaring-node --lib -- envelope:: keys::
#
# RUSTFLAGS already set in the environment are kept and the cfg added (a
# RUSTFLAGS variable replaces .cargo/config.toml's flags, so the cfg given here
# is the only backend cfg). CARGO_TARGET_DIR, when set, wins.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 ]]; then
    echo "usage: $0 avx512|simd|serial CARGO_ARGS..." >&2
    exit 2
fi
backend="$1"
shift
case "$backend" in
    avx512 | simd)
        if [[ "$(rustc -vV | sed -n 's/^host: //p')" != x86_64-* ]]; then
            echo "$0: the $backend backend exists only on x86_64" >&2
            exit 2
        fi
        ;;
    serial) ;;
    *)
        echo "$0: unknown backend $backend (avx512, simd or serial)" >&2
        exit 2
        ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/backend-$backend}"
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg curve25519_dalek_backend=\"$backend\""
exec cargo "$@"
