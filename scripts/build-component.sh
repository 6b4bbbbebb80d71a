#!/usr/bin/env bash
# Builds the guest and the component, and writes the installable, stripped
# target/release/component_keyring_kmip.so (copy it into mysqld's plugin dir).
# It is linked against the symbol versions of glibc $KMIP_GLIBC_FLOOR (2.28, set in
# .cargo/config.toml; tests/tests/glibc_floor.rs checks it). To build for another floor:
# `cargo clean` and set KMIP_GLIBC_FLOOR for every cargo command of that build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-guest.sh
cargo build --release --locked -p component-keyring-kmip
# --strip-all: mysqld binds the component through its dynamic symbols only; the static
# symbol table and the debug info are 77 MB of the 102 MB cargo writes.
objcopy --strip-all target/release/libcomponent_keyring_kmip.so target/release/component_keyring_kmip.so
ls -l target/release/component_keyring_kmip.so
echo "newest glibc symbol version: $(objdump -T target/release/component_keyring_kmip.so | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
