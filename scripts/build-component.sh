#!/usr/bin/env bash
# Builds the guest and the component, and writes the installable, stripped
# target/release/component_keyring_kmip.so (copy it into mysqld's plugin dir).
# KMIP_GLIBC_FLOOR=2.28 links it (and keyring-kmip) against glibc 2.28's symbol versions
# with zig (scripts/zig/env.sh), for EL8, Debian 11 and Ubuntu 20.04; unset, it links
# against this machine's glibc. Set it for every cargo command of a build, or the next
# plain build relinks with the system linker.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${KMIP_GLIBC_FLOOR:-}" ]; then
    # shellcheck source=scripts/zig/env.sh
    source scripts/zig/env.sh
fi
scripts/build-guest.sh
cargo build --release --locked -p component-keyring-kmip
objcopy --strip-debug target/release/libcomponent_keyring_kmip.so target/release/component_keyring_kmip.so
ls -l target/release/component_keyring_kmip.so
echo "newest glibc symbol version: $(objdump -T target/release/component_keyring_kmip.so | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
