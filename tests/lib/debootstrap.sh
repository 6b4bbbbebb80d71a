# Sourced by the setup scripts that build a Debian root (tests/mysqld/setup-chroot.sh,
# tests/older-glibc/setup-root.sh): `minbase_root SUITE DIR WHAT` debootstraps a minimal
# SUITE into DIR (DIR must not exist), from this machine's Debian mirror, installing
# debootstrap first if absent. WHAT names the root in messages. Needs root.
minbase_root() {
    local suite=$1 dir=$2 what=$3 mirror
    if [ "$(id -u)" != 0 ]; then
        echo "building $what needs root (debootstrap)" >&2
        exit 1
    fi
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
    if ! command -v debootstrap >/dev/null; then
        apt-get update -qq >&2
        apt-get install -y -qq debootstrap >&2
    fi
    mkdir -p "$(dirname "$dir")"
    echo "debootstrap of Debian $suite from $mirror into $dir (about a minute)" >&2
    debootstrap --variant=minbase "$suite" "$dir" "$mirror" >&2
}
