//! The Debian package (`scripts/build-deb.sh`) installed with dpkg into the MySQL chroot,
//! beside a stand-in for Percona Server's package that ships a file of the same name: the
//! two divert rather than overwrite each other, in both directions. Then a real mysqld
//! 9.7.4 starts with only the package's files plus a configuration, encrypts a table, and
//! the packaged keyring-kmip checks the same configuration inside that userland.

use anyhow::{ensure, Context, Result};
use kmip_keyring_tests::elf::newest_glibc;
use kmip_keyring_tests::mysqld::{chroot, with_mysqld, ManifestForm, MysqlInstance, Plugins};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::workspace_root;
use std::path::{Path, PathBuf};
use std::process::Command;

const OURS: &str = "component-keyring-kmip";
const PERCONA: &str = "percona-keyring-stand-in";
const SO: &str = "usr/lib/mysql/plugin/component_keyring_kmip.so";
const GLOBAL_CNF: &str = "usr/lib/mysql/plugin/component_keyring_kmip.cnf";

/// The package scripts/test.sh built.
fn package() -> Result<PathBuf> {
    let dir = workspace_root().join("target/deb");
    std::fs::read_dir(&dir)
        .with_context(|| {
            format!(
                "{}: scripts/build-deb.sh builds the package first",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .with_context(|| format!("no .deb in {}", dir.display()))
}

/// Runs a command inside the chroot; its output, or the failure with its output.
fn in_chroot(root: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("chroot").arg(root).args(args).output()?;
    ensure!(
        out.status.success(),
        "{args:?} in the chroot failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A package shipping `component_keyring_kmip.so` holding `text`, as Percona Server's does.
fn stand_in(dir: &Path, version: &str, text: &str) -> Result<PathBuf> {
    let stage = dir.join(format!("stage-{version}"));
    let so = stage.join(SO);
    std::fs::create_dir_all(so.parent().unwrap())?;
    std::fs::write(&so, text)?;
    std::fs::create_dir_all(stage.join("DEBIAN"))?;
    std::fs::write(
        stage.join("DEBIAN/control"),
        format!(
            "Package: {PERCONA}\nVersion: {version}\nArchitecture: all\nMaintainer: tests \
             <tests@example.invalid>\nDescription: stands in for Percona Server's package\n \
             It ships component_keyring_kmip.so under the same name.\n"
        ),
    )?;
    let deb = dir.join(format!("{PERCONA}_{version}_all.deb"));
    let status = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&stage)
        .arg(&deb)
        .output()?;
    ensure!(status.status.success(), "dpkg-deb: {status:?}");
    Ok(deb)
}

/// Installs a package file into the chroot (copied under /tmp there).
fn install(root: &Path, deb: &Path) -> Result<String> {
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(deb, root.join("tmp").join(&name))?;
    in_chroot(root, &["dpkg", "-i", &format!("/tmp/{name}")])
}

/// Leaves the chroot as it was, whatever the test did: both packages purged, the global
/// configuration removed.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for package in [OURS, PERCONA] {
            let _ = Command::new("chroot")
                .arg(&self.0)
                .args(["dpkg", "--purge", package])
                .output();
        }
        let _ = std::fs::remove_file(self.0.join(GLOBAL_CNF));
    }
}

#[test]
fn the_package_installs_beside_perconas_and_a_mysqld_runs_from_its_files() -> Result<()> {
    with_mysqld(
        "debian_package::the_package_installs_beside_perconas_and_a_mysqld_runs_from_its_files",
        || {
            let root = chroot().map_err(|e| anyhow::anyhow!(e))?;
            let deb = package()?;
            let _cleanup = Cleanup(root.clone());
            let work = tempfile::tempdir()?;

            // The package's libc6 floor is the newest glibc symbol version its binaries use.
            let depends = Command::new("dpkg-deb")
                .arg("-f")
                .arg(&deb)
                .arg("Depends")
                .output()?;
            let depends = String::from_utf8(depends.stdout)?.trim().to_owned();
            let newest = newest_glibc(&[
                &workspace_root().join("target/release/component_keyring_kmip.so"),
                &workspace_root().join("target/release/keyring-kmip"),
            ])?;
            ensure!(
                depends == format!("libc6 (>= {newest})"),
                "Depends {depends:?}, binaries need {newest}"
            );

            // Percona's package first, then ours: theirs is diverted, not overwritten.
            install(&root, &stand_in(work.path(), "1", "percona v1")?)?;
            install(&root, &deb)?;
            let ours =
                std::fs::read(workspace_root().join("target/release/component_keyring_kmip.so"))?;
            ensure!(
                std::fs::read(root.join(SO))? == ours,
                "our component holds the name"
            );
            let diverted = root.join(format!("{SO}.percona"));
            ensure!(
                std::fs::read_to_string(&diverted)? == "percona v1",
                "Percona's file is kept"
            );
            let diversions = in_chroot(&root, &["dpkg-divert", "--list", &format!("/{SO}")])?;
            ensure!(diversions.contains(OURS), "{diversions}");
            // Percona's upgrade writes to the diverted name; ours stays.
            install(&root, &stand_in(work.path(), "2", "percona v2")?)?;
            ensure!(std::fs::read_to_string(&diverted)? == "percona v2");
            ensure!(
                std::fs::read(root.join(SO))? == ours,
                "a Percona upgrade leaves ours alone"
            );

            // mysqld with the package's files: the component in the system plugin dir, the
            // global configuration and the manifest from the package's examples.
            let server = PyKmip::start()?;
            std::fs::copy(
            root.join("usr/share/component-keyring-kmip/examples/local-pair/component_keyring_kmip.cnf"),
            root.join(GLOBAL_CNF),
        )?;
            let mut db = MysqlInstance::create_with(
                "deb",
                ManifestForm::Global,
                &server.pki,
                server.port,
                Some("deb"),
                Plugins::System,
            )?;
            std::fs::copy(
                root.join("usr/share/component-keyring-kmip/examples/global/mysqld.my"),
                db.host_path("bin/mysqld.my"),
            )?;
            db.start(&[])?;
            let status = db.sql("SELECT STATUS_VALUE FROM performance_schema.keyring_component_status WHERE STATUS_KEY='Component_status'")?;
            ensure!(
                status == "Active",
                "Component_status {status}: {}",
                db.error_log()
            );
            db.sql("CREATE DATABASE pkg; CREATE TABLE pkg.t (i INT) ENCRYPTION='Y'; INSERT INTO pkg.t VALUES (42)")?;
            ensure!(db.sql("SELECT i FROM pkg.t")? == "42");
            db.stop()?;
            db.start(&[])?;
            ensure!(
                db.sql("SELECT i FROM pkg.t")? == "42",
                "a restart reads the table back"
            );
            db.stop()?;

            // The packaged tool, in the same userland, on the same configuration.
            let check = in_chroot(
                &root,
                &[
                    "/usr/bin/keyring-kmip",
                    "check",
                    "--plugin-dir",
                    "/usr/lib/mysql/plugin",
                    "--datadir",
                    &db.chroot_path("data"),
                ],
            )?;
            ensure!(
                check.contains("KMIP: KMIP 1.4; object group deb: 1 Active"),
                "{check}"
            );

            // Removing ours gives the name back to Percona's file.
            in_chroot(&root, &["dpkg", "-r", OURS])?;
            ensure!(
                std::fs::read_to_string(root.join(SO))? == "percona v2",
                "Percona's file is back"
            );
            ensure!(!diverted.exists(), "no diverted copy is left");
            in_chroot(&root, &["dpkg", "--purge", PERCONA])?;
            ensure!(!root.join(SO).exists());
            Ok(())
        },
    )
}
