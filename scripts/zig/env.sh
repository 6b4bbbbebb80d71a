# Sourced by scripts/build-component.sh when KMIP_GLIBC_FLOOR is set (for example 2.28):
# links everything built for x86_64-unknown-linux-gnu (the component, keyring-kmip, the
# tests, build scripts) with zig against that glibc's symbol versions, through
# cargo-zigbuild's argument fixups, in the one target/release directory, so that wasmtime
# is still compiled once. Installs the pinned zig (PyPI ziglang, in .venv-zig) and
# cargo-zigbuild (crates.io) if absent.
zig_version=0.17.1
zigbuild_version=0.24.1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if ! "$root/.venv-zig/bin/python3" -m ziglang version 2>/dev/null | grep -qx "$zig_version"; then
    echo "installing zig $zig_version (PyPI ziglang) in .venv-zig" >&2
    rm -rf "$root/.venv-zig"
    python3 -m venv "$root/.venv-zig"
    "$root/.venv-zig/bin/pip" install --quiet --disable-pip-version-check "ziglang==$zig_version"
fi
if ! cargo-zigbuild --version 2>/dev/null | grep -q " $zigbuild_version\$"; then
    echo "installing cargo-zigbuild $zigbuild_version" >&2
    cargo install --quiet --locked cargo-zigbuild --version "$zigbuild_version"
fi
export CARGO_ZIGBUILD_ZIG_COMMAND="$root/.venv-zig/bin/python3"
export CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'
export KMIP_GLIBC_FLOOR
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="$root/scripts/zig/cc"
export CC_x86_64_unknown_linux_gnu="$root/scripts/zig/cc"
export CXX_x86_64_unknown_linux_gnu="$root/scripts/zig/c++"
