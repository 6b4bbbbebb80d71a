//! The core's key entries and errors as the exported WIT types.

use crate::exports::mysql::keyring_kmip::keyring as wit;
use crate::platform::to_wit_transport_error;
use kmip_keyring_core::{KeyEntry, KeyringError, ServerFailure};

/// A key entry as the WIT record.
pub fn to_wit_entry(entry: KeyEntry) -> wit::KeyEntry {
    wit::KeyEntry {
        object_id: entry.object_id,
        data_id: entry.data_id,
        auth_id: entry.auth_id,
        key_type: entry.key_type.label().to_owned(),
        // The bindings take ownership; the allocator wipes the buffer when it is freed.
        data: entry.data.as_slice().to_vec(),
    }
}

/// A core error as the WIT variant.
pub fn to_wit_error(error: KeyringError) -> wit::KeyringError {
    match error {
        KeyringError::InvalidArgument(m) => wit::KeyringError::InvalidArgument(m),
        KeyringError::ServerFailure(failure) => {
            wit::KeyringError::ServerFailure(server_failure(failure))
        }
        KeyringError::MalformedResponse(m) => wit::KeyringError::MalformedResponse(m),
        KeyringError::IncompleteListing(m) => wit::KeyringError::IncompleteListing(m),
        KeyringError::Transport(e) => wit::KeyringError::Transport(to_wit_transport_error(e)),
        KeyringError::NotConfigured => wit::KeyringError::NotConfigured,
    }
}

/// A server failure as the WIT record: the operation and the reason by their KMIP names
/// (an unknown reason as `Unknown(0x…)`).
fn server_failure(failure: ServerFailure) -> wit::ServerFailure {
    wit::ServerFailure {
        operation: format!("{:?}", failure.operation),
        reason: failure.reason_text(),
        message: failure.message,
    }
}
