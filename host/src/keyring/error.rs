//! Errors of keyring operations, for the mysqld shim and for tests.

use super::cache::KeyId;
use crate::aes_modes::AesError;
use crate::broker::TlsSetupError;
use crate::config::ConfigError;
use crate::sandbox::SandboxError;
use thiserror::Error;

/// Why a keyring operation failed.
#[derive(Debug, Error)]
pub enum KeyringError {
    /// The configuration file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The certificate or key files are unusable.
    #[error("TLS setup: {0}")]
    Tls(#[from] TlsSetupError),
    /// The guest failed, or reported a KMIP or transport error.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The guest returned something no correct guest returns; nothing of it was kept.
    #[error("the keyring guest returned {0}; refusing it")]
    GuestOutput(String),
    /// The request is invalid.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// A key with this identity already exists.
    #[error("{0} already exists")]
    AlreadyExists(KeyId),
    /// An AES operation was refused.
    #[error("AES: {0}")]
    Aes(#[from] AesError),
    /// No KMIP server could carry the operation; each server tried is listed with why.
    #[error("{operation}: no KMIP server could be used: {}", servers.join("; "))]
    Unavailable {
        /// The keyring operation: load, store, generate or remove.
        operation: &'static str,
        /// "host:port: reason" for each server that failed, in configuration order.
        servers: Vec<String>,
    },
    /// No key with this identity exists.
    #[error("{0} does not exist")]
    NotFound(KeyId),
    /// An earlier store of this identity, reported failed, left an object on the server
    /// that could not be taken back yet; storing the name again would make two.
    #[error(
        "KMIP object {object_id}, left on the server by a store of {id} reported failed, \
         could not be taken back ({cause}); {id} can be stored once a KMIP server answers"
    )]
    LeftOnServer {
        /// The identity of the failed store.
        id: KeyId,
        /// The object it left.
        object_id: String,
        /// Why the takeback failed.
        cause: String,
    },
}

impl KeyringError {
    /// The request itself caused the failure (a key that exists or does not, an argument
    /// no KMIP keyring accepts, an AES call MySQL would refuse too), not the key server or
    /// the sandbox.
    pub fn is_the_requests_fault(&self) -> bool {
        match self {
            Self::AlreadyExists(_)
            | Self::NotFound(_)
            | Self::InvalidArgument(_)
            | Self::Aes(_) => true,
            Self::Sandbox(e) => e.is_invalid_argument(),
            _ => false,
        }
    }
}
