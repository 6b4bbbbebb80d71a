//! Section 6: the installable component's size, and the parts of it this build controls.

use anyhow::{Context, Result};
use kmip_keyring_tests::workspace_root;
use std::path::Path;
use std::process::Command;

/// What section 6 measured, in bytes.
pub struct Size {
    /// `component_keyring_kmip.so` as installed (stripped by scripts/build-component.sh).
    pub installed: u64,
    /// Its machine code (`.text`).
    pub text: u64,
    /// Its read-only data (`.rodata`), which holds both embedded guest forms.
    pub rodata: u64,
    /// The embedded guest component (`.wasm`), kept to compile a `guest_module` check
    /// against and to hash.
    pub wasm: u64,
    /// The embedded precompiled guest (`.cwasm`).
    pub cwasm: u64,
}

fn section(so: &Path, name: &str) -> Result<u64> {
    let out = Command::new("size")
        .arg("-A")
        .arg(so)
        .output()
        .context("running size")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| w.next()?.parse().ok())?
        })
        .with_context(|| format!("no {name} section in {}", so.display()))
}

/// Measures the stripped component `scripts/build-component.sh` wrote.
pub fn run() -> Result<Size> {
    let so = workspace_root().join("target/release/component_keyring_kmip.so");
    let guest = workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_guest");
    let len = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .with_context(|| format!("{} (run scripts/build-component.sh)", p.display()))
    };
    Ok(Size {
        installed: len(&so)?,
        text: section(&so, ".text")?,
        rodata: section(&so, ".rodata")?,
        wasm: len(&guest.with_extension("wasm"))?,
        cwasm: len(&guest.with_extension("cwasm"))?,
    })
}
