//! mysqld's manifest rules (reference section 9): `<binary dir>/<binary name>.my`, an object
//! with `read_local_manifest` (bool) and `components` (string); the local manifest in the
//! data dir; `components` split on commas with no trimming.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The component URNs mysqld would load, and the manifest that named them.
pub fn components(mysqld: &Path, data_dir: &Path) -> Result<(Vec<String>, Option<PathBuf>)> {
    let name = mysqld
        .file_name()
        .ok_or_else(|| anyhow!("no binary name"))?;
    let global = mysqld.with_file_name(format!("{}.my", name.to_string_lossy()));
    let Some(object) = read(&global)? else {
        return Ok((Vec::new(), None));
    };
    let read_local = match object.get("read_local_manifest") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => bail!(
            "{}: \"read_local_manifest\" must be a boolean",
            global.display()
        ),
    };
    let (object, source) = if read_local {
        let local = data_dir.join("mysqld.my");
        match read(&local)? {
            Some(o) => (o, local),
            None => return Ok((Vec::new(), None)),
        }
    } else {
        (object, global)
    };
    let list = match object.get("components") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => bail!("{}: \"components\" must be a string", source.display()),
        None => bail!("{}: \"components\" is missing", source.display()),
    };
    let urns = list
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok((urns, Some(source)))
}

fn read(path: &Path) -> Result<Option<serde_json::Map<String, Value>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if text.is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?
    {
        Value::Object(o) => Ok(Some(o)),
        _ => bail!("{}: the manifest must be a JSON object", path.display()),
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
