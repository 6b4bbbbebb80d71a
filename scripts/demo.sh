#!/usr/bin/env bash
# The demo: a local PyKMIP server on 127.0.0.1 with certificates made for this run, the
# built component_keyring_kmip.so loaded and driven through its C services as mysqld does,
# and keyring-kmip check and list on the same installation.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== [%s/4] %s\n' "$1" "$2"; }
step 1 "setting up: the wasm32-wasip2 target and a Python venv with the pinned PyKMIP"
scripts/setup.sh
step 2 "building the guest and the component (the first build compiles wasmtime: several minutes on 2 cores; cargo shows its progress)"
scripts/build-component.sh
step 3 "building keyring-kmip and the demo"
cargo build --release --locked -p keyring-kmip
cargo build --release --locked -p kmip-keyring-tests --bin demo
step 4 "running the demo"
target/release/demo
