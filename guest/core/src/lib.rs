//! KMIP keyring logic for MySQL, as a plain library over a [`Platform`] (transport, log,
//! entropy): the wasm adapter wraps it for the sandbox, native tests drive it directly.
//!
//! What it does on the KMIP server is what Percona's `component_keyring_kmip` does, so the
//! two can share a server: AES keys are Registered as Symmetric Keys and SECRET keys as Secret
//! Data (Password), both Activated, named by `data_id`, optionally in an Object Group; removal
//! Revokes then Destroys; loading Locates by object type and Gets every object.

#![forbid(unsafe_code)]

pub mod error;
pub mod key_type;
pub mod keyring;
pub mod kmip;
pub mod owner;
pub mod platform;
mod session;
pub mod vendor;

pub use error::{KeyringError, ServerFailure};
pub use key_type::KeyType;
pub use keyring::{KeyEntry, KeyringLogic, ObjectSummary, SessionStatus, Settings};
pub use platform::{Connection, LogLevel, Platform, TransportError};
pub use vendor::VendorProfile;
