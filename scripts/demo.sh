#!/usr/bin/env bash
# The demo: a local PyKMIP server on 127.0.0.1 with certificates made for this run, and the
# built component_keyring_kmip.so loaded and driven through its C services as mysqld does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-component.sh
cargo run --release --locked -q -p kmip-keyring-tests --bin demo
