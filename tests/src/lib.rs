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
