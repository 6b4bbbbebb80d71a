# Sourced by scripts/zig/cc and c++: checks that scripts/setup.sh installed zig and
# cargo-zigbuild, and points cargo-zigbuild at the zig of .venv-zig. The floor comes from
# .cargo/config.toml's [env] (or the caller's environment), never from here.
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${KMIP_GLIBC_FLOOR:-}" ]; then
    echo "scripts/zig: KMIP_GLIBC_FLOOR is not set (.cargo/config.toml [env] sets it for cargo)" >&2
    exit 2
fi
if [ ! -x "$root/.venv-zig/bin/python3" ] || ! command -v cargo-zigbuild >/dev/null; then
    echo "scripts/zig: zig (.venv-zig) or cargo-zigbuild is not installed: run scripts/setup.sh" >&2
    exit 2
fi
export CARGO_ZIGBUILD_ZIG_COMMAND="$root/.venv-zig/bin/python3"
export CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'
