//! The demo: a PyKMIP server on 127.0.0.1 with certificates made for this run, and the
//! built component_keyring_kmip.so driven the way mysqld drives it — manifest, dlopen,
//! service binding, `keyring_load` — through its C services: InnoDB master-key generation,
//! a keyring_udf secret with an owner, the keys iterator, the reader, AES, the status rows,
//! then `keyring-kmip check` and `list` on the same installation.

use anyhow::{ensure, Result};
use kmip_keyring_tests::install::Install;
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::workspace_root;
use std::process::Command;
use std::time::Instant;

fn main() -> Result<()> {
    println!("starting PyKMIP on 127.0.0.1 with a fresh CA, server and client certificate ...");
    let server = PyKmip::start()?;
    println!("  PyKMIP listens on 127.0.0.1:{} (mutual TLS)", server.port);
    let install = Install::new(&server, Some("demo-group"))?;
    println!("installed into {}:", install.root.path().display());
    println!("  bin/mysqld.my                      {{\"components\": \"file://component_keyring_kmip\"}}");
    println!("  plugin/component_keyring_kmip.so   the component built from this repository");
    println!("  plugin/component_keyring_kmip.cnf  {{\"read_local_config\": true}}");
    println!("  data/component_keyring_kmip.cnf    server, port, certificates, object group");

    let started = Instant::now();
    let (component, loaded) =
        LoadedComponent::start(&install.mysqld, &install.plugin_dir, &install.data_dir)?;
    ensure!(loaded, "keyring_load failed: {:?}", registry::log_lines());
    println!(
        "mysqld-style load: manifest read, library opened, 8 services bound, keyring_load in {:?}",
        started.elapsed()
    );

    let master = "INNODBKey-00000000-0000-0000-0000-000000000001-1";
    ensure!(
        component.generate(master, None, "AES", 32),
        "generate failed"
    );
    println!("keyring_generator: {master} (AES, 32 bytes), as ALTER INSTANCE ROTATE INNODB MASTER KEY does");
    ensure!(
        component.store(
            "app_secret",
            Some("app@localhost"),
            b"\x00binary\x00secret\xff",
            "SECRET"
        ),
        "store failed"
    );
    println!("keyring_writer:    app_secret (SECRET) owned by app@localhost, as keyring_key_store() does");

    println!("keyring_keys_metadata_iterator + keyring_reader_with_status:");
    for (data_id, auth_id) in component.keys()? {
        let owner = (!auth_id.is_empty()).then_some(auth_id.as_str());
        let (data, ty) = component
            .read_secret(&data_id, owner)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .expect("listed key");
        println!(
            "  {data_id:<50} owner {:<14} {ty:<6} {:>2} bytes",
            owner.unwrap_or("-"),
            data.len()
        );
    }
    let iv = *b"demo-iv-16-bytes";
    let size = component.aes_size(11, "cbc", 256).unwrap_or(0);
    let sealed = component
        .aes(
            true,
            master,
            None,
            "cbc",
            256,
            &iv,
            true,
            b"hello mysql",
            size,
        )
        .expect("encrypt");
    let opened = component
        .aes(
            false,
            master,
            None,
            "cbc",
            256,
            &iv,
            true,
            &sealed,
            sealed.len(),
        )
        .expect("decrypt");
    println!(
        "keyring_aes: cbc encrypt of 11 bytes -> {} bytes, decrypts back to {:?}",
        sealed.len(),
        String::from_utf8_lossy(&opened)
    );

    println!("performance_schema.keyring_component_status would show:");
    for (key, value) in component.status_rows()? {
        println!("  {key:<24} {value}");
    }
    // The operator's tool on the same installation, as a DBA would run it.
    let tool = workspace_root().join("target/release/keyring-kmip");
    let dirs = [
        "--plugin-dir",
        install.plugin_dir.to_str().unwrap_or_default(),
        "--datadir",
        install.data_dir.to_str().unwrap_or_default(),
    ];
    for command in ["check", "list"] {
        println!("keyring-kmip {command} --plugin-dir <plugin dir> --datadir <data dir>:");
        let out = Command::new(&tool).arg(command).args(dirs).output()?;
        ensure!(
            out.status.success(),
            "keyring-kmip {command} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            println!("  {line}");
        }
    }
    ensure!(
        component.remove("app_secret", Some("app@localhost")),
        "remove failed"
    );
    println!("keyring_writer.remove: app_secret revoked and destroyed on the server");

    println!("error-log lines the component wrote:");
    for (severity, line) in registry::log_lines() {
        let level = ["System", "Error", "Warning", "Note"]
            .get(severity as usize)
            .copied()
            .unwrap_or("?");
        println!("  [{level}] {line}");
    }
    component.shutdown()?;
    println!("deinit + dlclose done; stopping PyKMIP by PID and removing its directory");
    println!();
    println!("What was shown: a real PyKMIP server over mutual TLS; the built component loaded as");
    println!("mysqld loads it; InnoDB's and keyring_udf's calls; AES; the status rows with their");
    println!("health rows; keyring-kmip check and list on the same files; the error-log lines.");
    println!();
    println!("Next:");
    println!(
        "  scripts/test.sh                         every test: PyKMIP, Cosmian KMS, a real mysqld"
    );
    println!(
        "                                          9.7 and MySQL's own keyring suite in a chroot"
    );
    println!("  target/release/keyring-kmip check --config <your component_keyring_kmip.cnf>");
    println!(
        "                                          what is wrong with a configuration, and the fix"
    );
    println!("  target/release/keyring-kmip list --config <file>   what the object group holds");
    println!("  README.md, \"Install into mysqld\"        the four files and where they go");
    Ok(())
}
