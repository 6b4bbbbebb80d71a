#!/usr/bin/env bash
# Sets up, then runs every check: formatting, clippy (host and wasm guest), all tests
# (unit, sandboxed guest, integration against real PyKMIP servers on loopback and a real
# mysqld; the short soak of both levels), and a bounded fuzz smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-guest.sh
cargo fmt --all -- --check
scripts/check-layers.sh
scripts/check-feature-pins.sh
cargo build --release --locked -p component-keyring-kmip -p keyring-kmip
# The Debian package, which tests/tests/debian_package.rs installs into the MySQL chroot.
scripts/build-deb.sh >/dev/null
cargo clippy --release --locked -p kmip-keyring-guest -p kmip-keyring-hostile-guest -p kmip-keyring-wrong-world-guest --target wasm32-wasip2 -- -D warnings
cargo clippy --release --locked --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Tests that could not run record themselves here (tests/src/lib.rs, record_skip).
skips=target/test-skips.txt
rm -f "$skips"
set +e
cargo test --release --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The fuzz smoke run, whatever the tests said: per target a count of runs or 90 s,
# whichever comes first (each prints which); any crash fails.
fuzz_status=0
scripts/fuzz.sh smoke || fuzz_status=$?
if [ "$status" -eq 0 ]; then
    status=$fuzz_status
fi
# Why each failed test failed, again at the end: cargo prints it where the test's binary
# ran, in the middle of a long log, and a CI page that keeps the head and the tail of the
# output would lose it. The last 40 lines of each failed test's output (its error comes
# last), at most 6 tests.
awk '/^---- .* stdout ----$/ { name[++tests] = $2; capturing = 1; next }
     capturing && (/^failures:$/ || /^---- / || /^Stack backtrace:$/) { capturing = 0 }
     capturing { lines[tests, count[tests]++ % 40] = $0 }
     END {
       for (t = 1; t <= tests && t <= 6; t++) {
         n = count[t]; first = n > 40 ? n - 40 : 0
         printf "\n==== failed: %s (the last %d lines of its output)\n", name[t], n - first
         for (i = first; i < n; i++) print "  " lines[t, i % 40]
       }
       if (tests > 6) printf "\n==== and %d more failed tests (above)\n", tests - 6
     }' "$log"
# One closing line for the whole run (cargo prints one per test binary). A test that
# recorded a skip passed in cargo's count: a whole test skipped ("binary::test: reason")
# counts as skipped, not passed; a part of one ("binary::test [Cosmian KMS]: reason", or an
# mtr test "binary::test (suite.test): reason") adds a skip. Every skip is named.
whole=0 parts=0
if [ -f "$skips" ]; then
    whole=$(grep -cE '^[A-Za-z0-9_:]+: ' "$skips" || true)
    parts=$(( $(wc -l <"$skips") - whole ))
fi
awk -v whole="$whole" -v parts="$parts" '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", p - whole, f, s + whole + parts }' "$log"
if [ -f "$skips" ]; then
    sed 's/^/  skipped: /' "$skips"
fi
exit "$status"
