//! The wasmtime engine settings. They follow rules measured by running wasmtime inside a
//! real mysqld (see the toolchain reference): each one keeps the database server alive.
//! The build-time precompiler uses the same function, so its artifacts load in the host.

use wasmtime::{Config, Engine, OptLevel};

/// Linear memory address space reserved per instance before it must move on growth.
const MEMORY_RESERVATION: u64 = 8 << 20;

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
    config.max_wasm_stack(1 << 20);
    config.cranelift_opt_level(OptLevel::Speed);
    config.wasm_component_model(true);
    Engine::new(&config)
}
