#!/usr/bin/env bash
# The soak (tests/src/soak), both levels one after the other: sixteen threads through the
# built component against two PyKMIP servers behind fault proxies, then a real mysqld with
# encrypted tables while its servers are killed; RELOADs and a fault schedule from the seed.
#   scripts/soak.sh [seconds] [seed] [level]
#       seconds per level (default 180), a seed (default: from the clock), and the level:
#       both (the default), component or mysqld
# The long runs of the README: scripts/soak.sh 1200 20261207 (both levels, 20 minutes each)
# and scripts/soak.sh 1800 20261206 component
set -euo pipefail
cd "$(dirname "$0")/.."
export KMIP_SOAK_SECONDS=${1:-180} KMIP_SOAK_LEVEL=${3:-both}
if [ -n "${2:-}" ]; then
    export KMIP_SOAK_SEED=$2
fi
cargo build --release --locked -q -p component-keyring-kmip
cargo test --release --locked -q -p kmip-keyring-tests --test soak -- --nocapture
