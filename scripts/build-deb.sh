#!/usr/bin/env bash
# Builds the Debian package target/deb/component-keyring-kmip_<version>_amd64.deb with
# Debian's own dpkg-deb: the component in mysqld's plugin dir, keyring-kmip in /usr/bin,
# the example manifests and configurations and the vendor guests under
# /usr/share/component-keyring-kmip/, the README. Percona's file of the same name is
# diverted, not overwritten (packaging/debian/preinst). Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
# The package's files and directories get their modes from here, whatever the caller's umask.
umask 022
scripts/build-component.sh >&2
cargo build --release --locked -p keyring-kmip >&2
version=$(cargo metadata --format-version 1 --no-deps --locked \
    | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "component-keyring-kmip"))')
stage=target/deb/stage
rm -rf "$stage"
share=$stage/usr/share/component-keyring-kmip
install -D -m 0644 target/release/component_keyring_kmip.so "$stage/usr/lib/mysql/plugin/component_keyring_kmip.so"
install -D -m 0755 target/release/keyring-kmip "$stage/usr/bin/keyring-kmip"
objcopy --strip-debug "$stage/usr/bin/keyring-kmip"
mkdir -p "$share/guests"
cp -r examples "$share/examples"
for vendor in vault ciphertrust fortanix pykmip; do
    install -m 0644 "target/wasm32-wasip2/release/kmip_keyring_guest_$vendor.wasm" "$share/guests/"
done
( cd "$share/guests" && sha256sum -- *.wasm > SHA256SUMS )
install -D -m 0644 README.md "$stage/usr/share/doc/component-keyring-kmip/README.md"
install -D -m 0644 packaging/debian/copyright "$stage/usr/share/doc/component-keyring-kmip/copyright"
# The newest glibc symbol version either binary needs is the package's libc6 floor.
glibc=$(objdump -T "$stage/usr/lib/mysql/plugin/component_keyring_kmip.so" "$stage/usr/bin/keyring-kmip" \
    | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
mkdir -p "$stage/DEBIAN"
install -m 0755 packaging/debian/preinst packaging/debian/postrm "$stage/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: component-keyring-kmip
Version: $version
Architecture: amd64
Maintainer: component_keyring_kmip developers <noreply@example.invalid>
Installed-Size: $size
Depends: libc6 (>= $glibc)
Enhances: mysql-server, percona-server-server
Section: database
Priority: optional
Homepage: https://example.invalid/component_keyring_kmip
Description: MySQL keyring component over KMIP, its keyring logic in a wasmtime sandbox
 A drop-in replacement for Percona's component_keyring_kmip: the same files, keys and
 objects on the KMIP server, with the KMIP keyring logic running as a WASI component in a
 wasmtime sandbox, so that a bug, a hostile guest or a hostile KMIP response fails an
 operation and never takes mysqld down. Includes keyring-kmip, which checks a
 configuration and its KMIP servers and lists the keys. Percona Server's file of the
 same name is diverted to component_keyring_kmip.so.percona while this is installed.
CONTROL
( cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | xargs -0 md5sum > DEBIAN/md5sums )
deb=target/deb/component-keyring-kmip_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$deb"
