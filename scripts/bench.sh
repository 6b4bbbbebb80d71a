#!/usr/bin/env bash
# The benchmark (issue 6): cache fill against Percona's per-object strategy, C-ABI fetch,
# sandbox overhead, load cost and memory, with PyKMIP's own client as reference; prints
# Markdown tables to stdout, progress to stderr. About 6 minutes on 2 cores; pass --quick
# for a shorter run (N = 100 and 1000), --exhaustive to add PyKMIP with 10 000 keys.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
# Builds the guests, the embedded precompiled guest and the stripped .so the bench loads.
scripts/build-component.sh >&2
cargo run --release --locked -q -p kmip-keyring-tests --bin bench -- "$@"
