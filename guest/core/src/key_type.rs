//! MySQL key type labels (the rules live in `kmip-keyring-rules`, shared with the host),
//! and their refusal as this crate's error.

use crate::error::KeyringError;
pub use kmip_keyring_rules::{InvalidKey, KeyType, MAX_KEY_LENGTH};

impl From<InvalidKey> for KeyringError {
    fn from(e: InvalidKey) -> Self {
        Self::InvalidArgument(e.0)
    }
}
