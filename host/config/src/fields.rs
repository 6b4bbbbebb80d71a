//! Typed access to the fields of a JSON configuration object.

use super::ConfigError;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub(super) struct Fields {
    file: PathBuf,
    object: Map<String, Value>,
}

/// How an error names the JSON type of a value it did not expect ("a number", "an array").
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Fields {
    pub(super) fn parse(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_owned(),
            reason: format!("not valid JSON: {e}"),
        })?;
        match value {
            Value::Object(object) => Ok(Self {
                file: file.to_owned(),
                object,
            }),
            other => Err(ConfigError::Syntax {
                file: file.to_owned(),
                reason: format!("the top level must be an object, not {}", json_type(&other)),
            }),
        }
    }

    pub(super) fn invalid(&self, field: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.clone(),
            field,
            reason: reason.into(),
        }
    }

    fn wrong_type(&self, field: &'static str, expected: &'static str, v: &Value) -> ConfigError {
        ConfigError::WrongType {
            file: self.file.clone(),
            field,
            expected,
            found: json_type(v),
        }
    }

    /// The raw JSON value of a field, if present.
    pub(super) fn get(&self, field: &str) -> Option<&Value> {
        self.object.get(field)
    }

    pub(super) fn wrong_type_of(
        &self,
        field: &'static str,
        expected: &'static str,
        v: &Value,
    ) -> ConfigError {
        self.wrong_type(field, expected, v)
    }

    pub(super) fn missing(&self, field: &'static str) -> ConfigError {
        ConfigError::Missing {
            file: self.file.clone(),
            field,
        }
    }

    pub(super) fn optional_string(
        &self,
        field: &'static str,
    ) -> Result<Option<String>, ConfigError> {
        match self.object.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(field, "a JSON string", other)),
        }
    }

    /// A required string that is not empty or only white space.
    pub(super) fn required_string(&self, field: &'static str) -> Result<String, ConfigError> {
        let value = self
            .optional_string(field)?
            .ok_or_else(|| ConfigError::Missing {
                file: self.file.clone(),
                field,
            })?;
        if value.trim().is_empty() {
            return Err(self.invalid(field, "must not be empty"));
        }
        Ok(value)
    }

    pub(super) fn optional_bool(&self, field: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.object.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(field, "true or false", other)),
        }
    }

    pub(super) fn optional_u64(&self, field: &'static str) -> Result<Option<u64>, ConfigError> {
        match self.object.get(field) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.wrong_type(field, "a whole number of at least 0", v)),
            Some(other) => Err(self.wrong_type(field, "a whole number", other)),
        }
    }

    /// An optional whole number within `min..=max`.
    pub(super) fn bounded_u64(
        &self,
        field: &'static str,
        min: u64,
        max: u64,
    ) -> Result<Option<u64>, ConfigError> {
        match self.optional_u64(field)? {
            Some(v) if v < min || v > max => {
                Err(self.invalid(field, format!("must be from {min} to {max}, not {v}")))
            }
            other => Ok(other),
        }
    }

    /// `guest_module` with its mandatory `guest_sha256` pin.
    pub(super) fn guest_module(&self) -> Result<Option<super::GuestModule>, ConfigError> {
        let module = self
            .optional_string("guest_module")?
            .filter(|m| !m.trim().is_empty());
        let sha = self.optional_string("guest_sha256")?;
        match (module, sha) {
            (None, None) => Ok(None),
            (None, Some(_)) => {
                Err(self.invalid("guest_sha256", "is set but \"guest_module\" is not"))
            }
            (Some(_), None) => Err(ConfigError::Missing {
                file: self.file.clone(),
                field: "guest_sha256",
            }),
            (Some(path), Some(sha)) => {
                let sha = sha.trim().to_ascii_lowercase();
                if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(
                        self.invalid("guest_sha256", "must be 64 hexadecimal digits (a SHA-256)")
                    );
                }
                Ok(Some(super::GuestModule {
                    path: path.into(),
                    sha256: sha,
                }))
            }
        }
    }

    /// A TCP port written, as Percona requires, as a JSON string such as "5696".
    pub(super) fn port(&self, field: &'static str) -> Result<u16, ConfigError> {
        let text = match self.object.get(field) {
            None => {
                return Err(ConfigError::Missing {
                    file: self.file.clone(),
                    field,
                })
            }
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(self.wrong_type(field, "a JSON string such as \"5696\"", other))
            }
        };
        match text.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(self.invalid(
                field,
                format!("must be a TCP port from 1 to 65535, not \"{text}\""),
            )),
        }
    }
}
