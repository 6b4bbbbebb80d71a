#!/usr/bin/env bash
# Builds the default keyring guest (the WASI component the host embeds) and the hostile
# test guest.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p kmip-keyring-guest -p kmip-keyring-hostile-guest --target wasm32-wasip2
# Ahead-of-time compile the default guest with the host's engine settings; the component
# embeds the artifact and deserializes it at load instead of compiling inside mysqld.
guest=target/wasm32-wasip2/release/kmip_keyring_guest
cargo run --release --locked -q -p kmip-keyring-engine --bin precompile -- "$guest.wasm" "$guest.cwasm"
