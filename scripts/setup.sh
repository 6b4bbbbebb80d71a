#!/usr/bin/env bash
# Installs what building and testing need: the wasm32-wasip2 target, a Python virtual
# environment with the pinned PyKMIP server (in .venv), and Debian's python3-venv if absent.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null
rustup component add clippy rustfmt >/dev/null 2>&1 || true

python=python3
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "installing python3-venv with apt-get"
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
if [ ! -x .venv/bin/pykmip-server ] || ! cmp -s tests/pykmip/requirements.txt .venv/.requirements; then
    echo "creating .venv with the pinned PyKMIP (tests/pykmip/requirements.txt)"
    rm -rf .venv
    "$python" -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/pykmip/requirements.txt
    cp tests/pykmip/requirements.txt .venv/.requirements
fi

# zig and cargo-zigbuild, which link every native binary against glibc 2.28's symbols
# (.cargo/config.toml).
scripts/zig/install.sh
