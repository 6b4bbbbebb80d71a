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
if [ "$(id -u)" != 0 ]; then
    echo "building the Debian $SUITE root needs root (debootstrap)" >&2
    exit 1
fi
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq >&2
    apt-get install -y -qq debootstrap >&2
fi
rm -rf "$root" "$root.tmp"
mkdir -p "$(dirname "$root")"
echo "debootstrap of Debian $SUITE from $mirror into $root (about a minute, 215 MB)" >&2
debootstrap --variant=minbase "$SUITE" "$root.tmp" "$mirror" >&2
echo "$SUITE" >"$root.tmp/.ready"
mv "$root.tmp" "$root"
echo "$root"
