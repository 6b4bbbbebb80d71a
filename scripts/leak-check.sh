#!/usr/bin/env bash
# The component's leak check (issue 14): load/unload cycles, each with RELOADs, of the built
# component under valgrind's memcheck (tests/src/bin/leak_cycles.rs), against a fast KMIP peer
# in the same process over TLS on loopback. Fails if memcheck reports any byte definitely or
# indirectly lost, or any memory error.
#   scripts/leak-check.sh [cycles] [reloads per cycle]    (default 10 and 100: 1 000 RELOADs)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-10}
reloads=${2:-100}
command -v valgrind >/dev/null || { echo "leak-check: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
# leak_cycles loads cargo's unstripped build of the component: the same code as the
# installable file, with the symbols the suppressions match.
scripts/build-component.sh >/dev/null
cargo build --release --locked -q -p kmip-keyring-tests --bin leak_cycles
log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date +%s)
status=0
# --smc-check: wasmtime maps the guest's machine code at run time. tests/valgrind.supp holds
# the reports that are not ours to fix, each with its reason.
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --smc-check=all-non-file \
    --suppressions=tests/valgrind.supp --log-file="$log" \
    target/release/leak_cycles "$cycles" "$reloads" || status=$?
grep -E "definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== *//'
echo "leak-check: $cycles load/unload cycles, $((cycles * reloads)) RELOADs under memcheck in $(( $(date +%s) - started )) s"
if [ "$status" -ne 0 ]; then
    echo "leak-check: FAILED (memcheck exit $status); the report:" >&2
    cat "$log" >&2
fi
exit "$status"
