#!/usr/bin/env bash
# The demo: a local PyKMIP server on 127.0.0.1 with certificates made for this run, and
# the keyring driven through the wasm sandbox the way mysqld drives it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-guest.sh
cargo run --release --locked -q -p kmip-keyring-tests --bin demo
