#!/usr/bin/env bash
# Builds, once per machine, a minimal Debian 11 (bullseye, glibc 2.31) root for
# tests/tests/older_glibc.rs, which runs the built binaries against its glibc through its
# own dynamic loader. Debian 10 (glibc 2.28) is no longer on the mirror this project
# reaches, so 2.31 is the oldest userland it can run on; 2.28 is checked by symbol versions
# (tests/tests/glibc_floor.rs). Prints the root's path.
set -euo pipefail
SUITE=bullseye
root=${KMIP_OLDER_GLIBC_ROOT:-/var/cache/component-keyring-kmip/bullseye-root}
if [ -f "$root/.ready" ] && [ "$(cat "$root/.ready")" = "$SUITE" ]; then
    echo "$root"
    exit 0
fi
# shellcheck source=tests/lib/debootstrap.sh
source "$(dirname "$0")/../lib/debootstrap.sh"
rm -rf "$root" "$root.tmp"
minbase_root "$SUITE" "$root.tmp" "the Debian $SUITE root"
echo "$SUITE" >"$root.tmp/.ready"
mv "$root.tmp" "$root"
echo "$root"
