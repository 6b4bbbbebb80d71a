#!/usr/bin/env bash
# Checks that the layers point one way: the broker, the configuration, the shared rules, the
# guest core and the command-line tool built on them have no wasmtime in their dependency
# tree, and the WIT-generated bindings are used only inside host/src/sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for crate in kmip-keyring-rules kmip-keyring-config kmip-keyring-broker kmip-keyring-core keyring-kmip; do
    # Captured first, so that a cargo tree that fails fails the check instead of passing it.
    tree=$(cargo tree --locked -p "$crate" -e normal,build --prefix none)
    if grep -qE '^wasmtime(-[a-z-]+)? ' <<<"$tree"; then
        echo "layers: $crate depends on wasmtime:" >&2
        cargo tree --locked -p "$crate" -e normal,build -i wasmtime >&2 || true
        status=1
    fi
done
if outside=$(grep -rn --include='*.rs' -E 'sandbox::bindings|bindings::(keyring|transport|logging|entropy)' host/src tests fuzz \
    | grep -v '^host/src/sandbox/'); then
    echo "layers: WIT-generated types used outside host/src/sandbox:" >&2
    echo "$outside" >&2
    status=1
fi
if ((status == 0)); then
    echo "layers: rules, config, broker, guest core and keyring-kmip build without wasmtime; WIT bindings stay in the sandbox"
fi
exit "$status"
