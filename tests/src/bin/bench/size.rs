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

/// The sizes of `names`, in order, from one `size -A` run.
fn sections<const N: usize>(so: &Path, names: [&str; N]) -> Result<[u64; N]> {
    let out = Command::new("size")
        .arg("-A")
        .arg(so)
        .output()
        .context("running size")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sizes = [0u64; N];
    for (size, name) in sizes.iter_mut().zip(names) {
        *size = text
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name)).then(|| w.next()?.parse().ok())?
            })
            .with_context(|| format!("no {name} section in {}", so.display()))?;
    }
    Ok(sizes)
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
    let [text, rodata] = sections(&so, [".text", ".rodata"])?;
    Ok(Size {
        installed: len(&so)?,
        text,
        rodata,
        wasm: len(&guest.with_extension("wasm"))?,
        cwasm: len(&guest.with_extension("cwasm"))?,
    })
}
