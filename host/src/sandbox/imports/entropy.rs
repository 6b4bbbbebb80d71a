//! `entropy`: random bytes from the operating system's CSPRNG.

use crate::sandbox::bindings::entropy::Host;
use crate::sandbox::host_state::HostState;

/// The most bytes one call may ask for; more is a broken invariant and traps.
pub const MAX_RANDOM_BYTES: u32 = 65536;

impl Host for HostState {
    fn random_bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        if len > MAX_RANDOM_BYTES {
            wasmtime::bail!("guest asked for {len} random bytes (at most {MAX_RANDOM_BYTES})");
        }
        let mut bytes = vec![0u8; len as usize];
        getrandom::fill(&mut bytes)
            .map_err(|e| wasmtime::format_err!("operating-system randomness failed: {e}"))?;
        Ok(bytes)
    }
}
