#!/usr/bin/env bash
# Sets up, then runs every check: formatting, clippy (host and wasm guest), and all tests
# (unit, sandboxed guest, and integration against real PyKMIP servers on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-guest.sh
cargo fmt --all -- --check
cargo clippy --release --locked -p kmip-keyring-guest --target wasm32-wasip2 -- -D warnings
cargo clippy --release --locked --all-targets -- -D warnings
cargo test --release --locked
