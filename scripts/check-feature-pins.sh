#!/usr/bin/env bash
# Checks that the guest precompiler (kmip-keyring-engine alone), the component with
# keyring-kmip, and the whole workspace (the tests) resolve every crate wasmtime is built
# from with the same features, so that wasmtime compiles once per target dir. On a
# difference it names the crate and both feature sets: pin them in host/engine/Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
features() {
    # One line per crate and dependency kind it is built for: "name version|features".
    cargo tree --locked "$@" -e normal,build,dev --prefix none -f '{p}|{f}' \
        | sed 's/ (\*)$//; s/ (proc-macro)//' | sort -u
}
closure=$(cargo tree --locked -p kmip-keyring-engine -e normal,build --prefix none -f '{p}' \
    | sed 's/ (\*)$//; s/ (proc-macro)//' | sort -u)
engine=$(features -p kmip-keyring-engine)
status=0
for selection in "--workspace" "-p component-keyring-kmip -p keyring-kmip"; do
    # shellcheck disable=SC2086
    other=$(features $selection)
    while read -r crate; do
        a=$(grep -F "$crate|" <<<"$engine" | cut -d'|' -f2 | sort | paste -sd';' || true)
        b=$(grep -F "$crate|" <<<"$other" | cut -d'|' -f2 | sort | paste -sd';' || true)
        if [ "$a" != "$b" ]; then
            echo "feature pins: $crate resolves to [$a] for the precompiler, [$b] for $selection" >&2
            status=1
        fi
    done <<<"$closure"
done
if ((status == 0)); then
    echo "feature pins: wasmtime's $(wc -l <<<"$closure") crates resolve alike for the precompiler, the component and the tests"
fi
exit "$status"
