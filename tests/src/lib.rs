//! Test harness for component_keyring_kmip: a PKI generated at test time, a real PyKMIP
//! server on loopback, a scripted KMIP peer for sandboxed unit tests, and a small TTLV
//! codec written independently of the guest for building and checking messages.

pub mod hostile_server;
pub mod install;
pub mod loader;
pub mod mysqld;
pub mod peer;
pub mod pki;
pub mod pykmip;
pub mod ttlv;

use component_keyring_kmip::Runtime;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// The embedded guest, compiled once per test process.
pub fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::embedded().expect("the embedded guest compiles"))
        .clone()
}

/// SHA-256 of `bytes`, lower-case hex (what `guest_sha256` expects).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The last `lines` lines of a text file, or nothing if it cannot be read.
pub fn tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
