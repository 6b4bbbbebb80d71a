//! `keyring-kmip`, the operator's tool for component_keyring_kmip: `check` says what is
//! wrong with a configuration or its KMIP servers and how to fix it, `list` shows what the
//! object group holds. It reads the configuration with the component's own crate, talks
//! through the component's own TLS broker, and runs the guest's keyring core natively: no
//! second KMIP or TLS implementation, and no wasmtime.

#![forbid(unsafe_code)]

pub mod checks;
pub mod list;
pub mod native;
pub mod report;
pub mod session;
