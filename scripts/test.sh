#!/usr/bin/env bash
# Sets up, then runs every check: formatting, clippy (host and wasm guest), and all tests
# (unit, sandboxed guest, and integration against real PyKMIP servers on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-guest.sh
cargo fmt --all -- --check
cargo build --release --locked -p component-keyring-kmip
cargo clippy --release --locked -p kmip-keyring-guest -p kmip-keyring-hostile-guest -p kmip-keyring-wrong-world-guest --target wasm32-wasip2 -- -D warnings
cargo clippy --release --locked --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --release --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
