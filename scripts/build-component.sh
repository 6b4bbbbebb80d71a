#!/usr/bin/env bash
# Builds the guest and the component, and writes the installable, stripped
# target/release/component_keyring_kmip.so (copy it into mysqld's plugin dir).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-guest.sh
cargo build --release --locked -p component-keyring-kmip
objcopy --strip-debug target/release/libcomponent_keyring_kmip.so target/release/component_keyring_kmip.so
ls -l target/release/component_keyring_kmip.so
