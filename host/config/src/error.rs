//! Configuration errors: each names the file and, where one is at fault, the field.

use std::path::PathBuf;
use thiserror::Error;

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The file could not be read. (The text starts as MySQL's keyring components'.)
    #[error("cannot read config file {}: {reason}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not a JSON object. (The text carries MySQL's keyring components'.)
    #[error("{} has not valid format: {reason}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The parser's explanation, with line and column.
        reason: String,
    },
    /// A required field is absent.
    #[error("{}: the required field \"{field}\" is missing", file.display())]
    Missing {
        /// The file.
        file: PathBuf,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("{}: the field \"{field}\" must be {expected}, not {found}", file.display())]
    WrongType {
        /// The file.
        file: PathBuf,
        /// The field.
        field: &'static str,
        /// What it must be, e.g. `a JSON string such as "5696"`.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A field's value is not acceptable.
    #[error("{}: the field \"{field}\" {reason}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}
