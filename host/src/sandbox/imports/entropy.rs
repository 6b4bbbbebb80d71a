//! `entropy`: random bytes from the operating system's CSPRNG.

use crate::sandbox::bindings::entropy::Host;
use crate::sandbox::budget::MAX_RANDOM_BYTES;
use crate::sandbox::host_state::HostState;

impl Host for HostState {
    fn random_bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        self.charge(0)?;
        if len > MAX_RANDOM_BYTES {
            wasmtime::bail!("guest asked for {len} random bytes (at most {MAX_RANDOM_BYTES})");
        }
        self.budget
            .random(len)
            .map_err(|e| wasmtime::format_err!("{e}"))?;
        let mut bytes = vec![0u8; len as usize];
        getrandom::fill(&mut bytes)
            .map_err(|e| wasmtime::format_err!("operating-system randomness failed: {e}"))?;
        Ok(bytes)
    }
}
