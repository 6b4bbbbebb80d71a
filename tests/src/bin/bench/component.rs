//! The built component the C-ABI sections load, and the plugin directories that configure it.

use anyhow::Result;
use kmip_keyring_tests::fast_peer::FastPeer;
use kmip_keyring_tests::workspace_root;
use std::path::{Path, PathBuf};

/// An Object Group nothing is registered in: loads that fetch no key.
pub const EMPTY_GROUP: &str = "bench-empty";

/// The installable component: the stripped copy `scripts/build-component.sh` writes, or
/// cargo's, whichever is newer.
pub fn component_so() -> Result<PathBuf> {
    let stripped = workspace_root().join("target/release/component_keyring_kmip.so");
    let candidates = [
        Some(stripped),
        kmip_keyring_tests::install::built_component().ok(),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .ok_or_else(|| {
            anyhow::anyhow!("the component is not built: run scripts/build-component.sh")
        })
}

/// A plugin dir whose `component_keyring_kmip.cnf` says `config`.
pub fn plugin_dir(root: &Path, name: &str, config: &serde_json::Value) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("component_keyring_kmip.cnf"), config.to_string())?;
    Ok(dir)
}

/// The configuration for `peer` with the Object Group [`EMPTY_GROUP`].
pub fn empty_group(peer: &FastPeer) -> serde_json::Value {
    let mut empty = peer.config_json();
    empty["object_group"] = EMPTY_GROUP.into();
    empty
}
