//! Shared by the core's native tests and, through a `#[path]` module, by the host's test
//! harness: one TTLV test codec for both.

// Each test binary uses part of the codec.
#[allow(dead_code)]
pub mod ttlv;
