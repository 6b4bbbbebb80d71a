#!/usr/bin/env bash
# Builds the default keyring guest (the WASI component the host embeds) and the hostile
# test guest.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p kmip-keyring-guest -p kmip-keyring-hostile-guest --target wasm32-wasip2
