#!/usr/bin/env bash
# Installs the pinned zig (PyPI ziglang, in .venv-zig) and cargo-zigbuild (crates.io) that
# scripts/zig/cc and c++ call; run by scripts/setup.sh. `cargo install` reads no project
# configuration, so cargo-zigbuild itself is built with the system toolchain.
set -euo pipefail
zig_version=0.17.1
zigbuild_version=0.24.1
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! "$root/.venv-zig/bin/python3" -m ziglang version 2>/dev/null | grep -qx "$zig_version"; then
    echo "installing zig $zig_version (PyPI ziglang) in .venv-zig"
    rm -rf "$root/.venv-zig"
    python3 -m venv "$root/.venv-zig"
    "$root/.venv-zig/bin/pip" install --quiet --disable-pip-version-check "ziglang==$zig_version"
fi
if [ "$(cargo-zigbuild --version 2>/dev/null)" != "cargo-zigbuild $zigbuild_version" ]; then
    echo "installing cargo-zigbuild $zigbuild_version"
    cargo install --quiet --locked cargo-zigbuild --version "$zigbuild_version"
fi
