#!/usr/bin/env bash
# Sets up, then runs every check: formatting, clippy (host and wasm guest), all tests
# (unit, sandboxed guest, integration against real PyKMIP servers on loopback and a real
# mysqld), and a bounded fuzz smoke run.
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
cargo test --release --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The fuzz smoke run: a fixed number of executions per target; any crash fails.
if [ "$status" -eq 0 ]; then
    scripts/fuzz.sh smoke || status=$?
fi
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
