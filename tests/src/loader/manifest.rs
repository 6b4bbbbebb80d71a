//! mysqld's manifest rules (reference section 9), as the test loader applies them:
//! `<binary dir>/<binary name>.my`, an object with `read_local_manifest` (bool) and
//! `components` (string); the local manifest in the data dir; `components` split on commas
//! with no trimming. The component never reads a manifest (mysqld does), so this lives
//! with the loader that stands in for mysqld, not in the shipped configuration crate.

use anyhow::{anyhow, bail, Result};
use kmip_keyring_config::{json_type, ConfigError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `read_local_manifest`: mysqld reads `<datadir>/mysqld.my` instead.
    pub read_local_manifest: bool,
    /// `components`, split on commas as mysqld does (no trimming, empty pieces dropped);
    /// `None` when the field is absent.
    pub components: Option<Vec<String>>,
}

impl Manifest {
    /// Parses manifest text; `file` names it in errors. An empty file is an empty
    /// manifest, as mysqld treats it.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ConfigError> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_owned(),
            reason: format!("not valid JSON: {e}"),
        })?;
        let Value::Object(object) = value else {
            return Err(ConfigError::Syntax {
                file: file.to_owned(),
                reason: format!("the top level must be an object, not {}", json_type(&value)),
            });
        };
        let wrong =
            |field: &'static str, expected: &'static str, v: &Value| ConfigError::WrongType {
                file: file.to_owned(),
                field,
                expected,
                found: json_type(v),
            };
        let read_local_manifest = match object.get("read_local_manifest") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => return Err(wrong("read_local_manifest", "true or false", v)),
        };
        let components = match object.get("components") {
            None => None,
            Some(Value::String(s)) => Some(
                s.split(',')
                    .filter(|piece| !piece.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Some(v) => {
                return Err(wrong(
                    "components",
                    "a JSON string such as \"file://component_keyring_kmip\"",
                    v,
                ))
            }
        };
        Ok(Self {
            read_local_manifest,
            components,
        })
    }

    /// Reads and parses a manifest file; `Ok(None)` when there is no such file.
    pub fn from_file(file: &Path) -> Result<Option<Self>, ConfigError> {
        match std::fs::read_to_string(file) {
            Ok(text) => Self::parse(file, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ConfigError::Read {
                file: file.to_owned(),
                reason: e.to_string(),
            }),
        }
    }
}

/// The component URNs mysqld would load, and the manifest that named them.
pub fn components(mysqld: &Path, data_dir: &Path) -> Result<(Vec<String>, Option<PathBuf>)> {
    let name = mysqld
        .file_name()
        .ok_or_else(|| anyhow!("no binary name"))?;
    let global = mysqld.with_file_name(format!("{}.my", name.to_string_lossy()));
    let Some(manifest) = Manifest::from_file(&global)? else {
        return Ok((Vec::new(), None));
    };
    let (manifest, source) = if manifest.read_local_manifest {
        let local = data_dir.join("mysqld.my");
        match Manifest::from_file(&local)? {
            Some(m) => (m, local),
            None => return Ok((Vec::new(), None)),
        }
    } else {
        (manifest, global)
    };
    match manifest.components {
        Some(urns) => Ok((urns, Some(source))),
        None if std::fs::metadata(&source)
            .map(|m| m.len() == 0)
            .unwrap_or(false) =>
        {
            Ok((Vec::new(), None))
        }
        None => bail!("{}: \"components\" is missing", source.display()),
    }
}

/// `file://NAME` -> `<plugin_dir>/NAME.so`, with the path filter's checks.
pub fn library_path(urn: &str, plugin_dir: &Path) -> Result<PathBuf> {
    let name = urn
        .strip_prefix("file://")
        .ok_or_else(|| anyhow!("{urn}: not a file:// URN"))?;
    if name.contains('/') || name.len() > 64 || name.is_empty() {
        bail!("{urn}: invalid component name");
    }
    Ok(plugin_dir.join(format!("{name}.so")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ConfigError> {
        Manifest::parse(Path::new("/usr/sbin/mysqld.my"), text)
    }

    #[test]
    fn percona_forms() {
        let m = parse(r#"{"components": "file://component_keyring_kmip"}"#).unwrap();
        assert_eq!(
            m.components,
            Some(vec!["file://component_keyring_kmip".to_owned()])
        );
        assert!(!m.read_local_manifest);
        let m = parse(r#"{"read_local_manifest": true}"#).unwrap();
        assert!(m.read_local_manifest);
        assert_eq!(m.components, None);
        let m = parse(r#"{"components": "file://a,,file://b"}"#).unwrap();
        assert_eq!(m.components.unwrap(), ["file://a", "file://b"]);
        assert_eq!(parse("").unwrap(), Manifest::default());
    }

    #[test]
    fn bad_manifests_name_file_and_field() {
        for (text, expected) in [
            (
                "{",
                "/usr/sbin/mysqld.my has not valid format: not valid JSON",
            ),
            ("[]", "the top level must be an object, not an array"),
            (
                r#"{"components": 1}"#,
                "\"components\" must be a JSON string",
            ),
            (r#"{"components": ["x"]}"#, "not an array"),
            (
                r#"{"read_local_manifest": "yes"}"#,
                "\"read_local_manifest\" must be true or false",
            ),
        ] {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains("/usr/sbin/mysqld.my"), "{text}: {message}");
        }
    }
}
