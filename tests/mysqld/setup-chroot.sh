#!/usr/bin/env bash
# Builds, once per machine, a Debian unstable chroot with MySQL 9.7 (mysqld, mysql,
# mysql_migrate_keyring, keyring_udf.so, component_keyring_file.so) and MySQL's own test
# suite (mysql-testsuite: mysql-test-run and the shared keyring test bodies) for the
# end-to-end and conformance tests. mysqld needs a newer libc than the host has, hence the
# chroot. Prints the chroot path.
#
# The MySQL version is pinned: the suites and the expected results were written against it,
# and a new upload to Debian unstable must not silently change what "real mysqld" means.
set -euo pipefail
MYSQL_VERSION=9.7.4
root=${KMIP_MYSQL_CHROOT:-/var/cache/component-keyring-kmip/mysql-chroot}

# The version check runs on a cached chroot too: a chroot built for another pin is rebuilt.
installed_version() {
    chroot "$1" dpkg-query -W -f '${Version}' "$2" 2>/dev/null | sed 's/-[^-]*$//'
}
if [ -f "$root/.ready" ]; then
    if [ "$(cat "$root/.ready")" = "$MYSQL_VERSION" ]; then
        echo "$root"
        exit 0
    fi
    echo "the cached MySQL chroot $root is not the pinned MySQL $MYSQL_VERSION; rebuilding it" >&2
fi
# shellcheck source=tests/lib/debootstrap.sh
source "$(dirname "$0")/../lib/debootstrap.sh"
rm -rf "$root.tmp"
minbase_root sid "$root.tmp" "the MySQL chroot"
# debootstrap leaves no /etc/hosts: mysql-test-run listens on "localhost".
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root.tmp/etc/hosts"
# Installing mysql-testsuite pulls mysql-server, whose maintainer scripts would start a
# server: policy-rc.d refuses every service start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root.tmp/usr/sbin/policy-rc.d"
chmod +x "$root.tmp/usr/sbin/policy-rc.d"
apt_opts=(-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0)
chroot "$root.tmp" apt-get "${apt_opts[@]}" update -qq >&2
echo "installing MySQL $MYSQL_VERSION and its test suite into the chroot (about 3 minutes, 1.5 GB)" >&2
DEBIAN_FRONTEND=noninteractive chroot "$root.tmp" apt-get "${apt_opts[@]}" install -y -qq \
    --no-install-recommends mysql-server-core mysql-client-core mysql-testsuite >&2
for package in mysql-server-core mysql-testsuite; do
    found=$(installed_version "$root.tmp" "$package")
    if [ "$found" != "$MYSQL_VERSION" ]; then
        echo "Debian unstable now carries $package $found, but the tests are pinned to MySQL $MYSQL_VERSION." >&2
        echo "Update MYSQL_VERSION in tests/mysqld/setup-chroot.sh (and re-check the expected results) deliberately." >&2
        rm -rf "$root.tmp"
        exit 1
    fi
done
chroot "$root.tmp" mysqld --version >&2
echo "$MYSQL_VERSION" >"$root.tmp/.ready"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$root"
