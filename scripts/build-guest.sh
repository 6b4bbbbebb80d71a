#!/usr/bin/env bash
# Builds the default keyring guest, the WASI component the host embeds.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p kmip-keyring-guest --target wasm32-wasip2
