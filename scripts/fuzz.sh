#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/: `smoke` briefly runs every target (fails on any crash), `long` runs for a set time.
#
# Usage:
#   scripts/fuzz.sh smoke                   every target, a count of runs or 90 s each
#                                           (a few minutes in all on 2 cores)
#   scripts/fuzz.sh long [TARGET] [SECONDS] one target, or every target one after the other
#                                           (TARGET "all", the default), SECONDS each
#                                           (default 600), until a crash or the time is up
#
# Targets: kmip_response keyring_session config (fuzz/fuzz_targets/).
#
# Environment:
#   FUZZ_SANITIZER  cargo-fuzz sanitizer, default "address" (ASan); "none" runs about twice
#                   as fast but only catches panics, aborts, timeouts and out-of-memory.
#   FUZZ_RUNS       smoke: override the per-target run count.
#   FUZZ_ARGS       extra libFuzzer arguments for every run. To keep fuzzing past known
#                   crashes and collect every crashing input (triage), use fork mode:
#                   FUZZ_ARGS="-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1" \
#                       scripts/fuzz.sh long kmip_response 300
#
# Corpora: fuzz/corpus/<target>/ holds the named seeds (fuzz/make_seeds.py) and the minimized
# corpus of the last long run (files named by their SHA-1), so every run starts from both;
# it is read only. libFuzzer writes the inputs it finds into the FIRST corpus directory it
# is given, so runs pass the scratch corpus target/fuzz/corpus/<target>/ first and the
# committed one second; the scratch corpus grows from run to run. To fold it back in,
# minimized (libFuzzer's merge keeps the inputs that add coverage features):
#   mkdir /tmp/min && target/fuzz/x86_64-unknown-linux-gnu/release/<target> -merge=1 /tmp/min \
#       target/fuzz/corpus/<target> fuzz/corpus/<target>   (then copy /tmp/min/* into fuzz/corpus/<target>)
#
# Crashes: libFuzzer saves the input under fuzz/artifacts/<target>/ (git-ignored); this
# script prints its hex and the command that replays it. Logs: target/fuzz/logs/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

CARGO_FUZZ_VERSION=0.13.2
TARGET_DIR="$ROOT/target/fuzz"
FUZZ_DIR="$ROOT/fuzz"
TARGETS=(kmip_response keyring_session config)
SANITIZER=${FUZZ_SANITIZER:-address}

# cargo-fuzz builds with unstable compiler flags (-Zsanitizer=address, and -Z options it
# passes to cargo), which a stable rustc refuses unless RUSTC_BOOTSTRAP=1 tells it to behave
# like a nightly one. Only the stable toolchain is installed and no nightly can be fetched,
# so this is the way to fuzz here. It is exported for this script's cargo commands only,
# and the fuzz build has its own workspace (fuzz/) and target directory (target/fuzz), so no
# other build is affected.
export RUSTC_BOOTSTRAP=1
# The fuzz targets are sanitizer builds that only ever run on this machine: they are linked
# by the system C toolchain, with rustc's sanitizer runtime, not by the workspace's zig
# (.cargo/config.toml), whose wrapper turns sanitizers off (-fno-sanitize=all).
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=cc CC_x86_64_unknown_linux_gnu=cc CXX_x86_64_unknown_linux_gnu=c++

# cargo-fuzz's own flags, shared by build and run. Release code with debug assertions and
# overflow checks, so arithmetic that would silently wrap in the product is reported.
BUILD_FLAGS=(--fuzz-dir "$FUZZ_DIR" --target-dir "$TARGET_DIR" --release --debug-assertions
    --sanitizer "$SANITIZER")

# libFuzzer flags for every run: inputs up to 64 KiB; an input that needs more than 2 GiB
# (or asks for a single allocation that large) or more than 10 s is reported as a crash
# (out-of-memory, timeout), so "never allocates absurdly or loops" is checked too.
LIBFUZZER_FLAGS=(-max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1)

# Smoke run counts. Measured with ASan on 2 shared cores, from the committed seeds:
# config ~30k runs/s, kmip_response ~5k runs/s, keyring_session
# ~1.6k runs/s, so each target takes under a minute (about 90 s for all three plus the
# build). -max_total_time caps a target on a slower or busier machine.
smoke_runs() {
    case $1 in
        config) echo 200000 ;;
        kmip_response) echo 200000 ;;
        keyring_session) echo 50000 ;;
    esac
}
SMOKE_TIME_CAP=90

usage() {
    sed -n '3,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

ensure_cargo_fuzz() {
    if ! installed=$(cargo fuzz --version 2>/dev/null); then
        echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
        cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked
    elif [[ $installed != *" $CARGO_FUZZ_VERSION" ]]; then
        echo "note: $installed is installed; this script was written for $CARGO_FUZZ_VERSION" >&2
    fi
}

is_target() {
    local t
    for t in "${TARGETS[@]}"; do [[ $t == "$1" ]] && return 0; done
    return 1
}

# Prints the crash artifacts of a target that are newer than the marker file (the first
# five; fork mode can write hundreds).
report_artifacts() {
    local target=$1 marker=$2 found=0 file
    while IFS= read -r -d '' file; do
        found=$((found + 1))
        if ((found > 5)); then
            continue
        fi
        echo "  artifact: ${file#"$ROOT"/} ($(stat -c %s "$file") bytes)"
        echo "  hex: $(od -An -tx1 -v "$file" | tr -d ' \n')"
        echo "  replay: RUSTC_BOOTSTRAP=1 cargo fuzz run ${BUILD_FLAGS[*]/#$ROOT\//} $target ${file#"$ROOT"/}"
    done < <(find "$FUZZ_DIR/artifacts/$target" -type f -newer "$marker" \
        \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) -print0)
    if ((found == 0)); then
        echo "  (no artifact file was written; see the log)"
    elif ((found > 5)); then
        echo "  ... and $((found - 5)) more artifacts in fuzz/artifacts/$target/"
    fi
}

# run_target TARGET QUIET LIBFUZZER-ARGS...: one libFuzzer run; returns its status.
run_target() {
    local target=$1 quiet=$2
    shift 2
    local corpus="$TARGET_DIR/corpus/$target" log="$TARGET_DIR/logs/$target.log"
    local marker="$TARGET_DIR/logs/$target.start"
    mkdir -p "$corpus" "$TARGET_DIR/logs" "$FUZZ_DIR/artifacts/$target"
    touch "$marker"
    local start=$SECONDS status
    echo "== $target: libFuzzer $*"
    set +e
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    if [[ $quiet == 1 ]]; then
        cargo fuzz run "${BUILD_FLAGS[@]}" "$target" "$corpus" "$FUZZ_DIR/corpus/$target" \
            -- "${LIBFUZZER_FLAGS[@]}" "$@" ${FUZZ_ARGS:-} >"$log" 2>&1
        status=$?
    else
        cargo fuzz run "${BUILD_FLAGS[@]}" "$target" "$corpus" "$FUZZ_DIR/corpus/$target" \
            -- "${LIBFUZZER_FLAGS[@]}" "$@" ${FUZZ_ARGS:-} 2>&1 | tee "$log"
        status=${PIPESTATUS[0]}
    fi
    set -e
    local elapsed=$((SECONDS - start)) done execs
    done=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    # Fork mode prints no final stats, only progress lines such as "#201056: cov: ...".
    [[ -n $execs ]] || execs=$(sed -n 's/^#\([0-9]*\): cov.*/\1/p' "$log" | tail -n 1)
    if [[ $status == 0 ]]; then
        echo "   ok: ${done:-no Done line}; ${execs:-?} executions; ${elapsed}s wall clock;" \
            "corpus $(find "$corpus" -type f | wc -l) files"
        # A smoke run asks for a count of runs within a time cap; say which ended it.
        if [[ -n ${WANT_RUNS:-} ]]; then
            if [[ -n $execs ]] && ((execs >= WANT_RUNS)); then
                echo "   reached: $execs of $WANT_RUNS runs"
            else
                echo "   capped: the ${SMOKE_TIME_CAP}s cap ended it after ${execs:-?} of $WANT_RUNS runs"
                CAPPED+=("$target (${execs:-?} of $WANT_RUNS runs)")
            fi
        fi
    elif grep -q '^==[0-9]*== libFuzzer: run interrupted; exiting' "$log"; then
        # Stopped by a signal (Ctrl-C, kill -INT): no crash, but not a completed run either.
        echo "   interrupted after ${elapsed}s, ${execs:-?} executions, no crash; log: ${log#"$ROOT"/}"
    else
        echo "   FAILED (exit $status) after ${elapsed}s, ${execs:-?} executions; log: ${log#"$ROOT"/}"
        grep -E '^(thread .* panicked|==[0-9]+==ERROR|SUMMARY:|ERROR: libFuzzer)' "$log" \
            | head -n 5 | sed 's/^/  /' || true
        report_artifacts "$target" "$marker"
    fi
    return "$status"
}

build_all() {
    echo "== building the fuzz targets (sanitizer: $SANITIZER)"
    local start=$SECONDS
    cargo fuzz build "${BUILD_FLAGS[@]}"
    echo "   built in $((SECONDS - start))s"
}

smoke() {
    ensure_cargo_fuzz
    build_all
    local failed=() target runs
    CAPPED=()
    for target in "${TARGETS[@]}"; do
        runs=${FUZZ_RUNS:-$(smoke_runs "$target")}
        WANT_RUNS=$runs run_target "$target" 1 "-runs=$runs" "-max_total_time=$SMOKE_TIME_CAP" \
            || failed+=("$target")
    done
    local capped=""
    if ((${#CAPPED[@]})); then
        capped="; capped by the ${SMOKE_TIME_CAP}s limit before their run count: ${CAPPED[*]}"
    fi
    if ((${#failed[@]})); then
        echo "smoke: crashes in ${failed[*]}$capped"
        exit 1
    fi
    echo "smoke: all ${#TARGETS[@]} targets ran without a crash (each N runs or ${SMOKE_TIME_CAP}s, whichever came first)$capped"
}

long() {
    local which=${1:-all} seconds=${2:-600} targets target failed=()
    [[ $seconds =~ ^[0-9]+$ ]] || usage
    if [[ $which == all ]]; then
        targets=("${TARGETS[@]}")
    elif is_target "$which"; then
        targets=("$which")
    else
        echo "unknown target '$which' (targets: ${TARGETS[*]})" >&2
        exit 2
    fi
    ensure_cargo_fuzz
    build_all
    for target in "${targets[@]}"; do
        run_target "$target" 0 "-max_total_time=$seconds" || failed+=("$target")
    done
    if ((${#failed[@]})); then
        echo "long: crashed or interrupted (see above): ${failed[*]}"
        exit 1
    fi
}

case ${1:-} in
    smoke) smoke ;;
    long) shift; long "$@" ;;
    *) usage ;;
esac
