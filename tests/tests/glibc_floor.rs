//! The installable binaries load on the oldest glibc the README promises: every symbol
//! version they require of glibc is at most the build's floor (KMIP_GLIBC_FLOOR, 2.28 in
//! .cargo/config.toml), and they ask the loader for nothing a glibc of that age lacks.

use anyhow::{ensure, Result};
use kmip_keyring_tests::elf::{dotted, Dependencies};
use kmip_keyring_tests::workspace_root;

/// The floor the workspace was built for: .cargo/config.toml's [env], or the environment's
/// override, as cargo passed it to rustc (so it is the floor of this very build).
const FLOOR: &str = env!("KMIP_GLIBC_FLOOR");

/// Libraries a glibc 2.28 userland provides with glibc itself, plus libgcc_s: the only ones
/// the component (loaded into mysqld) and keyring-kmip may need.
const SYSTEM_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libutil.so.1",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
];

fn check(relative: &str) -> Result<()> {
    let file = workspace_root().join(relative);
    ensure!(
        file.is_file(),
        "{} not built: run scripts/build-component.sh and cargo build --release -p keyring-kmip",
        file.display()
    );
    let floor = dotted(FLOOR).expect("KMIP_GLIBC_FLOOR is a dotted version such as 2.28");
    let deps = Dependencies::of(&file)?;
    for needed in &deps.needed {
        ensure!(
            SYSTEM_LIBRARIES.contains(&needed.as_str()),
            "{relative} needs {needed}, which is not part of glibc {FLOOR}'s userland"
        );
    }
    let glibc: Vec<_> = deps
        .requirements
        .iter()
        .filter(|r| r.version.starts_with("GLIBC_"))
        .collect();
    ensure!(
        !glibc.is_empty(),
        "{relative} requires no GLIBC_ version at all: objdump's output was not understood"
    );
    for r in glibc {
        // GLIBC_ABI_DT_RELR (2.36) and GLIBC_PRIVATE are not numbered: an older loader
        // refuses the first, and no release promises the second.
        let number = dotted(&r.version["GLIBC_".len()..]);
        ensure!(
            number.as_ref().is_some_and(|n| *n <= floor),
            "{relative} requires {} of {}, newer than the glibc {FLOOR} floor",
            r.version,
            r.library
        );
    }
    Ok(())
}

#[test]
fn the_installable_component_needs_no_glibc_newer_than_the_floor() -> Result<()> {
    check("target/release/component_keyring_kmip.so")
}

#[test]
fn keyring_kmip_needs_no_glibc_newer_than_the_floor() -> Result<()> {
    check("target/release/keyring-kmip")
}
