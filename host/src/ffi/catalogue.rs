//! MySQL's own error-log texts for the situations its keyring components report: the
//! `ER_NOTE_KEYRING_COMPONENT_*` and `ER_KEYRING_COMPONENT_*` messages of mysqld's
//! catalogue, word for word as MySQL 9.7.4's mysqld carries them. Each line the component
//! writes for such a situation starts with this text, then adds what only a KMIP keyring
//! knows (the server, the KMIP reason): MySQL's tests suppress these texts and DBAs'
//! monitoring looks for them.
//!
//! Levels follow MySQL's components, which report these at Information level; where the
//! cause is the key server rather than the request (a KMS that is down or refuses), the
//! line is an Error, so that an outage shows at mysqld's default verbosity.

use crate::log::LogLevel;
use crate::KeyringError;

/// ER_NOTE_KEYRING_COMPONENT_INITIALIZED.
pub const INITIALIZED: &str = "Keyring component initialized successfully.";
/// ER_NOTE_KEYRING_COMPONENT_NOT_INITIALIZED: a call before any successful load.
pub const NOT_INITIALIZED: &str = "Keyring component is not initialized.";
/// ER_NOTE_KEYRING_COMPONENT_AES_DATA_IDENTIFIER_EMPTY.
pub const AES_DATA_ID_EMPTY: &str =
    "A valid data identifier is required in order to fetch the key required for the AES operation.";
/// ER_NOTE_KEYRING_COMPONENT_AES_INVALID_MODE_BLOCK_SIZE.
pub const AES_INVALID_MODE: &str =
    "Empty or 0 values for AES encryption mode and/or block size are not permitted.";

/// ER_KEYRING_COMPONENT_NOT_INITIALIZED: a load that failed.
pub fn load_failed(error: &str) -> String {
    format!(
        "The component is not initialized properly. Error: {error}. Make sure that \
         configuration is proper and use ALTER INSTANCE RELOAD KEYRING to reinitialize the \
         component."
    )
}

/// ER_NOTE_KEYRING_COMPONENT_READ_DATA_NOT_FOUND.
pub fn not_found(data_id: &str, auth_id: &str) -> String {
    format!("Could not find the data corresponding to Data ID: '{data_id}', Auth ID: '{auth_id}'.")
}

/// ER_NOTE_KEYRING_COMPONENT_STORE_FAILED.
pub fn store_failed(data_id: &str, auth_id: &str) -> String {
    format!(
        "Error writing data for Data ID: '{data_id}', Auth ID: '{auth_id}'. Either data \
         already exists with same identifier or keyring backend encountered an error."
    )
}

/// ER_NOTE_KEYRING_COMPONENT_GENERATE_FAILED.
pub fn generate_failed(data_id: &str, auth_id: &str) -> String {
    format!(
        "Error generating data for Data ID: '{data_id}', Auth ID: '{auth_id}'. Either data \
         already exists with same identifier or keyring backend encountered an error."
    )
}

/// ER_NOTE_KEYRING_COMPONENT_REMOVE_FAILED (sic: "does not exists").
pub fn remove_failed(data_id: &str, auth_id: &str) -> String {
    format!(
        "Error removing data for Data ID: '{data_id}', Auth ID: '{auth_id}'. Either data \
         does not exists with same identifier or keyring backend encountered an error."
    )
}

/// ER_NOTE_KEYRING_COMPONENT_AES_INVALID_KEY.
pub fn not_aes(data_id: &str, auth_id: &str) -> String {
    format!("Key identified by Data ID: '{data_id}' and Auth ID: '{auth_id}' is not of type AES.")
}

/// ER_NOTE_KEYRING_COMPONENT_AES_OPERATION_ERROR.
pub fn aes_failed(error: &str, api: &str, data_id: &str, auth_id: &str) -> String {
    format!(
        "Encountered error: '{error}' while executing '{api}' API of keyring_aes service. Key \
         details are Data ID: '{data_id}' and Auth ID: '{auth_id}'."
    )
}

/// The level of a line about a failed request: MySQL's Information for what the request
/// itself caused (a key that exists or does not, an argument MySQL would refuse too), Error
/// where the key server or the sandbox failed.
pub fn level_of(error: &KeyringError) -> LogLevel {
    if error.is_the_requests_fault() {
        LogLevel::Info
    } else {
        LogLevel::Error
    }
}

/// `catalogue_text` followed by our detail, as one line.
pub fn with_detail(catalogue_text: &str, detail: impl std::fmt::Display) -> String {
    format!("{catalogue_text} {detail}")
}
