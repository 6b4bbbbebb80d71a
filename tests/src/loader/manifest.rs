//! mysqld's manifest rules (reference section 9): `<binary dir>/<binary name>.my`, an object
//! with `read_local_manifest` (bool) and `components` (string); the local manifest in the
//! data dir; `components` split on commas with no trimming.

use anyhow::{anyhow, bail, Result};
use kmip_keyring_config::Manifest;
use std::path::{Path, PathBuf};

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
