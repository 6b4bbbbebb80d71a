#!/usr/bin/env bash
# Builds, once per machine, a Debian unstable chroot with MySQL 9.7 (mysqld, mysql,
# mysql_migrate_keyring, keyring_udf.so, component_keyring_file.so) for the end-to-end tests.
# mysqld needs a newer libc than the host has, hence the chroot. Prints the chroot path.
set -euo pipefail
root=${KMIP_MYSQL_CHROOT:-/var/cache/component-keyring-kmip/mysql-chroot}
if [ -f "$root/.ready" ]; then
    echo "$root"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "building the MySQL chroot needs root" >&2
    exit 1
fi
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq >&2
    apt-get install -y -qq debootstrap >&2
fi
rm -rf "$root.tmp"
mkdir -p "$(dirname "$root")"
echo "debootstrap of Debian sid from $mirror into $root (about a minute)" >&2
debootstrap --variant=minbase sid "$root.tmp" "$mirror" >&2
apt_opts=(-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0)
chroot "$root.tmp" apt-get "${apt_opts[@]}" update -qq >&2
DEBIAN_FRONTEND=noninteractive chroot "$root.tmp" apt-get "${apt_opts[@]}" install -y -qq \
    --no-install-recommends mysql-server-core mysql-client-core >&2
chroot "$root.tmp" mysqld --version >&2
touch "$root.tmp/.ready"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$root"
