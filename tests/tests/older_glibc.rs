//! The built binaries run on an older userland than the build machine's: Debian 11's glibc
//! 2.31 (tests/older-glibc/setup-root.sh), through that glibc's own dynamic loader and
//! libraries. The component, dlopened by the loader probe there, loads its configuration,
//! talks mutual TLS to a real PyKMIP and reads back every key stored from the host; and
//! keyring-kmip lists them. A host binary linked against glibc 2.34 or newer is refused by
//! the same loader, so a pass here is the floor at work, not a loader that checks nothing.

use anyhow::{bail, ensure, Context, Result};
use kmip_keyring_tests::elf::{dotted, newest_glibc};
use kmip_keyring_tests::install::Install;
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::{record_skip, setup_script, workspace_root};
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const TEST: &str = "older_glibc::the_component_and_the_tool_run_on_glibc_2_31";

/// The older root's dynamic loader, told to take libraries from the root only.
fn older_loader(root: &Path) -> Command {
    // The root is merged-/usr, and its /lib64 link is absolute (it would name the host's
    // loader): the loader and libraries are named inside usr/lib.
    let libraries = root.join("usr/lib/x86_64-linux-gnu");
    let mut loader = Command::new(libraries.join("ld-linux-x86-64.so.2"));
    loader
        .arg("--library-path")
        .arg(&libraries)
        .stdin(Stdio::null());
    loader
}

/// Runs `program` with `args` on the older root's loader and libraries.
fn run_older(root: &Path, program: &Path, args: &[&OsStr]) -> Result<Output> {
    older_loader(root)
        .arg(program)
        .args(args)
        .output()
        .with_context(|| {
            format!(
                "running {} on {}'s loader",
                program.display(),
                root.display()
            )
        })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_component_and_the_tool_run_on_glibc_2_31() -> Result<()> {
    let root = match setup_script("tests/older-glibc/setup-root.sh") {
        Ok(root) => root,
        Err(reason) if std::env::var_os("KMIP_REQUIRE_OLDER_GLIBC").is_none() => {
            record_skip(
                TEST,
                &format!("no Debian 11 root on this machine ({reason})"),
            );
            return Ok(());
        }
        Err(reason) => {
            bail!("KMIP_REQUIRE_OLDER_GLIBC is set but the Debian 11 root is unavailable: {reason}")
        }
    };

    // The root's glibc is older than the 2.34 a build on this machine would need.
    // libc.so.6, run as a program, prints its release.
    let banner = text(
        &older_loader(&root)
            .arg(root.join("usr/lib/x86_64-linux-gnu/libc.so.6"))
            .output()?,
    );
    let older = banner
        .split_whitespace()
        .find_map(|w| dotted(w.trim_end_matches('.')).filter(|v| v.len() == 2))
        .with_context(|| format!("no version in {banner:?}"))?;
    ensure!(
        older < vec![2, 34],
        "the root's glibc is {older:?}, not older than 2.34"
    );

    // Control: a host binary that needs a newer glibc is refused by this loader.
    let control = ["/usr/bin/ls", "/usr/bin/cat", "/usr/bin/objdump"]
        .iter()
        .map(Path::new)
        .find(|p| newest_glibc(&[p]).is_ok_and(|v| dotted(&v).is_some_and(|v| v > older)))
        .context("no host binary needs a glibc newer than the root's: the control cannot run")?;
    let refused = run_older(&root, control, &[OsStr::new("--version")])?;
    ensure!(
        !refused.status.success() && text(&refused).contains("version `GLIBC_"),
        "{} ran on the older loader: {}",
        control.display(),
        text(&refused)
    );

    // The keys, stored from the host through the component as mysqld would.
    let server = PyKmip::start()?;
    let install = Install::new(&server, None)?;
    let (component, loaded) =
        LoadedComponent::start(&install.mysqld, &install.plugin_dir, &install.data_dir)?;
    ensure!(loaded, "load failed: {:?}", registry::log_lines());
    ensure!(component.store("INNODBKey-older-1", None, &[0x42; 32], "AES"));
    ensure!(component.store("older-secret", Some("app@%"), b"older glibc", "SECRET"));
    component.shutdown()?;

    // The loader probe, its libraries resolved from the root only, dlopens the component.
    let probe = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .context("target dir")?
        .join("loader_probe");
    let resolved = older_loader(&root).arg("--list").arg(&probe).output()?;
    let resolved = text(&resolved);
    let libc = resolved
        .lines()
        .find(|l| l.trim_start().starts_with("libc.so.6"))
        .with_context(|| format!("no libc.so.6 in {resolved}"))?;
    ensure!(
        libc.contains(&root.display().to_string()),
        "libc.so.6 does not resolve into the older root: {libc}"
    );
    let out = run_older(
        &root,
        &probe,
        &[
            install.mysqld.as_os_str(),
            install.plugin_dir.as_os_str(),
            install.data_dir.as_os_str(),
        ],
    )?;
    ensure!(
        out.status.success(),
        "the probe failed on glibc {older:?}: {}",
        text(&out)
    );
    let found = kmip_keyring_tests::loader::probed_keys(&out.stdout)?;
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        found,
        [
            (
                "INNODBKey-older-1".into(),
                String::new(),
                "AES".into(),
                hex(&[0x42; 32])
            ),
            (
                "older-secret".into(),
                "app@%".into(),
                "SECRET".into(),
                hex(b"older glibc")
            ),
        ]
    );

    // keyring-kmip, the operator's tool, lists them there too.
    let config = install.data_dir.join("component_keyring_kmip.cnf");
    let tool = workspace_root().join("target/release/keyring-kmip");
    let listed = run_older(
        &root,
        &tool,
        &[
            OsStr::new("list"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
    )?;
    let listing = text(&listed);
    ensure!(
        listed.status.success(),
        "keyring-kmip list failed on glibc {older:?}: {listing}"
    );
    for name in ["INNODBKey-older-1", "older-secret"] {
        ensure!(
            listing.lines().any(|l| l.starts_with(name)),
            "keyring-kmip list shows no {name}:\n{listing}"
        );
    }
    Ok(())
}
