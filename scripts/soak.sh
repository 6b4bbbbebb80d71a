#!/usr/bin/env bash
# The component-level soak (tests/src/soak): sixteen threads through the built component
# against two PyKMIP servers behind fault proxies, RELOADs, a fault schedule from the seed.
#   scripts/soak.sh [seconds] [seed]     (default 180 s and a seed from the clock)
# The long run of the README: scripts/soak.sh 1800
set -euo pipefail
cd "$(dirname "$0")/.."
export KMIP_SOAK_SECONDS=${1:-180}
if [ -n "${2:-}" ]; then
    export KMIP_SOAK_SEED=$2
fi
cargo build --release --locked -q -p component-keyring-kmip
cargo test --release --locked -q -p kmip-keyring-tests --test soak -- --nocapture
