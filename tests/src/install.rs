//! A throw-away MySQL installation layout for loader tests: `bin/mysqld` with its global
//! manifest, a plugin dir holding the built component as `component_keyring_kmip.so`, a
//! data dir, and the component's configuration.

use crate::pykmip::PyKmip;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The cdylib cargo built (`<target>/release[/deps]/libcomponent_keyring_kmip.so`): the
/// most recent of the copies next to the running binary.
pub fn built_component() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dirs: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .flat_map(|d| [d.join("deps"), d.to_owned()])
        .collect();
    dirs.iter()
        .map(|d| d.join("libcomponent_keyring_kmip.so"))
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "libcomponent_keyring_kmip.so not found near {}: run cargo build --release -p component-keyring-kmip",
                exe.display()
            )
        })
}

/// Directories of a fake installation.
pub struct Install {
    /// Holds everything.
    pub root: tempfile::TempDir,
    /// `<root>/bin/mysqld` (an empty file: only its directory and name matter).
    pub mysqld: PathBuf,
    /// `<root>/plugin`.
    pub plugin_dir: PathBuf,
    /// `<root>/data`.
    pub data_dir: PathBuf,
}

impl Install {
    /// Lays out the directories, installs the component and a global manifest naming it,
    /// and writes the configuration for `server` into the data dir, with a global
    /// configuration that says `read_local_config`.
    pub fn new(server: &PyKmip, object_group: Option<&str>) -> Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("mysql-install-")
            .tempdir()?;
        let (bin, plugin_dir, data_dir) = (
            root.path().join("bin"),
            root.path().join("plugin"),
            root.path().join("data"),
        );
        for d in [&bin, &plugin_dir, &data_dir] {
            std::fs::create_dir_all(d)?;
        }
        let mysqld = bin.join("mysqld");
        std::fs::write(&mysqld, b"")?;
        std::fs::write(
            bin.join("mysqld.my"),
            r#"{"components": "file://component_keyring_kmip"}"#,
        )?;
        std::fs::copy(
            built_component()?,
            plugin_dir.join("component_keyring_kmip.so"),
        )
        .context("installing the component")?;
        std::fs::write(
            plugin_dir.join("component_keyring_kmip.cnf"),
            r#"{"read_local_config": true}"#,
        )?;
        server.config_in(&data_dir, object_group)?;
        Ok(Self {
            root,
            mysqld,
            plugin_dir,
            data_dir,
        })
    }

    /// Replaces the data dir's configuration text.
    pub fn write_config(&self, text: &str) -> Result<()> {
        std::fs::write(self.data_dir.join("component_keyring_kmip.cnf"), text)?;
        Ok(())
    }

    /// Points the data dir's configuration at another guest component (pinned by its
    /// SHA-256) and, if given, another Object Group; returns the hash.
    pub fn use_guest(&self, wasm: &Path, object_group: Option<&str>) -> Result<String> {
        let sha = crate::sha256_hex(
            &std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?,
        );
        let path = self.data_dir.join("component_keyring_kmip.cnf");
        let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        config["guest_module"] = wasm.display().to_string().into();
        config["guest_sha256"] = sha.clone().into();
        if let Some(group) = object_group {
            config["object_group"] = group.into();
        }
        self.write_config(&config.to_string())?;
        Ok(sha)
    }

    /// The path of a file in the root.
    pub fn path(&self, name: &str) -> PathBuf {
        Path::new(self.root.path()).join(name)
    }
}
