//! The wasmtime engine settings. They follow rules measured by running wasmtime inside a
//! real mysqld (see the toolchain reference): each one keeps the database server alive.
//! The build-time precompiler uses the same function, so its artifacts load in the host.

#![forbid(unsafe_code)]

use wasmtime::{Config, Engine, OptLevel};

/// Linear memory address space reserved per instance before it must move on growth.
const MEMORY_RESERVATION: u64 = 8 << 20;

/// The most native stack the guest's own frames may use. Past it, a function prologue's
/// explicit check traps ("call stack exhausted"), which ends the call cleanly.
pub const MAX_WASM_STACK: usize = 512 << 10;

/// Stack left on the guest's stack for the host functions it calls (TLS in the broker, the
/// error log), below the guest's own frames. Host code is not metered by wasmtime's check,
/// so this is a generous allowance: the deepest host path measured (a TLS 1.3 handshake
/// with a P-521 certificate, logging included) uses a small fraction of it.
pub const HOST_STACK_MARGIN: usize = 512 << 10;

/// The size of the stack every guest call runs on. wasmtime allocates it per store (a
/// fiber stack with a guard page below it) and reuses it for later calls; the calling
/// thread's stack, mysqld's `thread_stack` (as small as 128 KiB), is never used by the
/// guest, whatever the guest does.
pub const GUEST_STACK_SIZE: usize = MAX_WASM_STACK + HOST_STACK_MARGIN;

/// Builds the engine every sandbox of this library uses.
pub fn new_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    // mysqld installs its own fatal-signal handlers after load and would kill the server on
    // the first wasm trap; with signal-based traps off, bounds and traps are explicit checks
    // and come back as ordinary errors.
    config.signals_based_traps(false);
    // Without guard regions each store reserves megabytes, not gigabytes, of address space.
    config.memory_guard_size(0);
    config.memory_reservation(MEMORY_RESERVATION);
    config.memory_reservation_for_growth(1 << 20);
    // A runaway guest is stopped by fuel: no ticker thread to start, block signals for,
    // and join at deinit.
    config.consume_fuel(true);
    // The guest runs on its own stack (see GUEST_STACK_SIZE), with a wasm limit that
    // leaves the host its margin on that same stack.
    config.max_wasm_stack(MAX_WASM_STACK);
    config.async_stack_size(GUEST_STACK_SIZE);
    config.cranelift_opt_level(OptLevel::Speed);
    // The native-to-wasm offset map only serves backtraces with wasm offsets, which the
    // host never reports (a trap is reported by its cause, `describe_trap`): 0.33 MB of
    // the embedded artifact.
    config.generate_address_map(false);
    config.wasm_component_model(true);
    Engine::new(&config)
}

/// Where the precompiler records the SHA-256 of the `.wasm` an artifact was made from:
/// beside the artifact, with `.source-sha256` appended to its name.
pub fn source_hash_path(artifact: &std::path::Path) -> std::path::PathBuf {
    let mut name = artifact.as_os_str().to_owned();
    name.push(".source-sha256");
    name.into()
}
