//! `component_keyring_kmip`: a MySQL keyring over KMIP whose protocol logic runs in a
//! wasmtime sandbox. This crate is the native host: configuration, the TLS broker, the
//! sandbox, and the `Keyring` the mysqld component wraps.

pub mod aes_modes;
pub use kmip_keyring_broker as broker;
pub use kmip_keyring_config as config;
// The C ABI mysqld calls: the only module allowed `unsafe`, each block with a SAFETY line.
#[allow(unsafe_code)]
mod ffi;
pub mod keyring;
pub mod log;
pub mod sandbox;
pub mod status;

pub use config::{Config, Limits};
pub use keyring::{AesDirection, CachedKey, KeyId, Keyring, KeyringError, SessionInfo};
pub use log::{LogLevel, LogSink, MemoryLog, StderrLog};
pub use sandbox::Runtime;
