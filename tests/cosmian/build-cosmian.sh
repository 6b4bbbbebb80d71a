#!/usr/bin/env bash
# Builds, once per machine, Cosmian KMS (a second, strict KMIP server) for the tests, from
# its published crate, and prints the path of the binary. It is a test peer only: never
# linked or shipped (licence BUSL-1.1). Cached like the MySQL chroot.
#
# The crate's default build is the FIPS variant, which needs OpenSSL's FIPS provider (not
# in Debian); `cargo install --features non-fips` is refused (the feature names a
# dev-dependency), so the unpacked crate source is built with `--features non-fips`:
# about 10 minutes on 2 cores, a 66 MB binary.
set -euo pipefail
VERSION=5.28.0
cache=${KMIP_COSMIAN_CACHE:-/var/cache/component-keyring-kmip/cosmian-kms}
binary=$cache/cosmian_kms-$VERSION
if [ -x "$binary" ]; then
    echo "$binary"
    exit 0
fi
for tool in pkg-config; do
    command -v "$tool" >/dev/null || missing=1
done
if [ -n "${missing:-}" ] || ! pkg-config --exists openssl 2>/dev/null; then
    echo "installing libssl-dev and pkg-config with apt-get (Cosmian KMS links OpenSSL)" >&2
    apt-get update -qq >&2 && apt-get install -y -qq libssl-dev pkg-config >&2
fi
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching cosmian_kms_server $VERSION from crates.io" >&2
(cd "$work" && cargo info "cosmian_kms_server@$VERSION" >/dev/null)
source=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cosmian_kms_server-"$VERSION" | head -1)
cp -r "$source" "$work/src"
echo "building Cosmian KMS $VERSION (non-FIPS), about 10 minutes on 2 cores" >&2
start=$(date +%s)
(cd "$work/src" && CARGO_TARGET_DIR="$cache/target" cargo build --release --quiet --features non-fips --bin cosmian_kms >&2)
cp "$cache/target/release/cosmian_kms" "$binary.tmp"
mv "$binary.tmp" "$binary"
rm -rf "$cache/target"
echo "built Cosmian KMS in $(( $(date +%s) - start )) s" >&2
echo "$binary"
