//! A real mysqld 9.7 (in a chroot) loading component_keyring_kmip.so through its manifest,
//! against real KMIP servers on 127.0.0.1: the tests where the server matters run against
//! PyKMIP and Cosmian KMS (tests/src/servers.rs), the fault and sandbox tests against
//! PyKMIP.

use anyhow::{Context, Result};
use kmip_keyring_tests::mysqld::{ManifestForm, MysqlInstance};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::servers::each;

use kmip_keyring_tests::mysqld::with_mysqld;

/// MySQL's ER_RELOAD_KEYRING_FAILURE, what the client sees when RELOAD fails.
const RELOAD_FAILED: &str = "Keyring reload failed";
/// InnoDB's ER 3185, what the client sees when a master key
/// rotation cannot store its new key (and when a table cannot be encrypted for want of a
/// keyring).
const MASTER_KEY_MISSING: &str = "Can't find master key from keyring";

fn status_rows(db: &MysqlInstance) -> Result<Vec<(String, String)>> {
    Ok(db
        .sql("SELECT STATUS_KEY, STATUS_VALUE FROM performance_schema.keyring_component_status")?
        .lines()
        .filter_map(|l| {
            l.split_once('\t')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect())
}

#[test]
fn encrypted_tables_survive_rotation_and_restart() -> Result<()> {
    with_mysqld(
        "mysqld_e2e::encrypted_tables_survive_rotation_and_restart",
        || {
            each(
                "mysqld_e2e::encrypted_tables_survive_rotation_and_restart",
                |server| {
                    let mut db = MysqlInstance::create(
                        &format!("tables-{:?}", server.kind()),
                        ManifestForm::Global,
                        server.pki(),
                        server.port(),
                        Some("e2e"),
                    )?;
                    db.start(&[
                        "--innodb-redo-log-encrypt=ON",
                        "--innodb-undo-log-encrypt=ON",
                    ])?;
                    let rows = status_rows(&db)?;
                    let get = |k: &str| {
                        rows.iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    assert_eq!(get("Component_name"), "component_keyring_kmip", "{rows:?}");
                    assert_eq!(get("Component_status"), "Active", "{rows:?}");
                    assert_eq!(get("Object_group"), "e2e");
                    assert_eq!(get("Server_port"), server.port().to_string());

                    db.sql(
            "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40)) ENCRYPTION='Y';
             INSERT INTO shop.orders VALUES (1, 'keyboard'), (2, 'kmip appliance');",
        )?;
                    db.sql("ALTER INSTANCE ROTATE INNODB MASTER KEY")?;
                    db.sql("INSERT INTO shop.orders VALUES (3, 'after rotation')")?;
                    db.sql("ALTER INSTANCE ROTATE INNODB MASTER KEY")?;
                    db.stop()?;

                    db.start(&[
                        "--innodb-redo-log-encrypt=ON",
                        "--innodb-undo-log-encrypt=ON",
                    ])?;
                    assert_eq!(
                        db.sql("SELECT id, item FROM shop.orders ORDER BY id")?,
                        "1\tkeyboard\n2\tkmip appliance\n3\tafter rotation"
                    );
                    assert_eq!(
                        db.sql("SELECT @@innodb_redo_log_encrypt, @@innodb_undo_log_encrypt")?,
                        "1\t1"
                    );
                    let log = db.error_log();
                    assert!(
                        log.contains("Keyring component initialized successfully."),
                        "our load message is in the error log:\n{log}"
                    );
                    db.stop()?;
                    Ok(())
                },
            )
        },
    )
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn keyring_udf_owners_stay_apart_across_restart_and_reload() -> Result<()> {
    with_mysqld(
        "mysqld_e2e::keyring_udf_owners_stay_apart_across_restart_and_reload",
        || {
            each(
                "mysqld_e2e::keyring_udf_owners_stay_apart_across_restart_and_reload",
                |server| {
                    let mut db = MysqlInstance::create(
                        &format!("udf-{:?}", server.kind()),
                        ManifestForm::LocalPair,
                        server.pki(),
                        server.port(),
                        Some("udf-a"),
                    )?;
                    db.start(&[])?;
                    db.sql(
            "INSTALL PLUGIN keyring_udf SONAME 'keyring_udf.so';
             CREATE FUNCTION keyring_key_generate RETURNS INTEGER SONAME 'keyring_udf.so';
             CREATE FUNCTION keyring_key_fetch RETURNS STRING SONAME 'keyring_udf.so';
             CREATE FUNCTION keyring_key_store RETURNS INTEGER SONAME 'keyring_udf.so';
             CREATE FUNCTION keyring_key_remove RETURNS INTEGER SONAME 'keyring_udf.so';
             CREATE FUNCTION keyring_key_type_fetch RETURNS STRING SONAME 'keyring_udf.so';
             CREATE USER alice@localhost IDENTIFIED BY 'alice-pw'; CREATE USER bob@localhost IDENTIFIED BY 'bob-pw';
             GRANT EXECUTE ON *.* TO alice@localhost, bob@localhost;",
        )?;
                    let alice = Some(("alice", "alice-pw"));
                    let bob = Some(("bob", "bob-pw"));
                    assert_eq!(
                        db.sql_as(
                            alice,
                            "SELECT keyring_key_generate('shared_name', 'AES', 32)"
                        )?,
                        "1"
                    );
                    assert_eq!(
                        db.sql_as(
                            bob,
                            "SELECT keyring_key_store('shared_name', 'SECRET', 'bob secret')"
                        )?,
                        "1"
                    );
                    assert_eq!(
                        db.sql_as(
                            bob,
                            "SELECT keyring_key_store('bob_only', 'SECRET', 'just bob')"
                        )?,
                        "1"
                    );
                    let alice_key =
                        db.sql_as(alice, "SELECT HEX(keyring_key_fetch('shared_name'))")?;
                    assert_eq!(alice_key.len(), 64);
                    let check = |db: &MysqlInstance| -> Result<()> {
                        assert_eq!(
                            db.sql_as(alice, "SELECT HEX(keyring_key_fetch('shared_name'))")?,
                            alice_key
                        );
                        assert_eq!(
                            db.sql_as(alice, "SELECT keyring_key_type_fetch('shared_name')")?,
                            "AES"
                        );
                        assert_eq!(
                            db.sql_as(bob, "SELECT keyring_key_fetch('shared_name')")?,
                            "bob secret"
                        );
                        assert_eq!(
                            db.sql_as(alice, "SELECT keyring_key_fetch('bob_only')")?,
                            "NULL"
                        );
                        assert_eq!(
                            db.sql_as(bob, "SELECT keyring_key_fetch('bob_only')")?,
                            "just bob"
                        );
                        Ok(())
                    };
                    check(&db)?;
                    db.stop()?;
                    db.start(&[])?;
                    check(&db)?;

                    // Reload after a configuration change: another Object Group is another keyring.
                    db.write_kmip_config(server.port(), Some("udf-b"))?;
                    db.sql("ALTER INSTANCE RELOAD KEYRING")?;
                    let group = db.sql("SELECT STATUS_VALUE FROM performance_schema.keyring_component_status WHERE STATUS_KEY='Object_group'")?;
                    assert_eq!(group, "udf-b");
                    assert_eq!(
                        db.sql_as(alice, "SELECT keyring_key_fetch('shared_name')")?,
                        "NULL"
                    );
                    db.write_kmip_config(server.port(), Some("udf-a"))?;
                    db.sql("ALTER INSTANCE RELOAD KEYRING")?;
                    check(&db)?;
                    assert_eq!(
                        db.sql_as(bob, "SELECT keyring_key_remove('bob_only')")?,
                        "1"
                    );
                    assert_eq!(
                        db.sql_as(bob, "SELECT keyring_key_fetch('bob_only')")?,
                        "NULL"
                    );

                    // Our messages are in the error log; key bytes never are.
                    let log = db.error_log();
                    assert!(
                        log.contains("Keyring component initialized successfully."),
                        "{log}"
                    );
                    for needle in [
                        alice_key.clone(),
                        alice_key.to_lowercase(),
                        hex_upper(b"bob secret"),
                        "bob secret".into(),
                    ] {
                        assert!(!log.contains(&needle), "key material in the error log");
                    }
                    db.stop()?;
                    Ok(())
                },
            )
        },
    )
}

#[test]
fn a_bad_configuration_leaves_mysqld_running_without_a_keyring_and_says_why() -> Result<()> {
    with_mysqld(
        "mysqld_e2e::a_bad_configuration_leaves_mysqld_running_without_a_keyring_and_says_why",
        || {
            let server = PyKmip::start()?;
            let mut db = MysqlInstance::create(
                "badcfg",
                ManifestForm::Global,
                &server.pki,
                server.port,
                None,
            )?;
            let good = std::fs::read_to_string(db.host_path("data/component_keyring_kmip.cnf"))?;
            let mut bad: serde_json::Value = serde_json::from_str(&good)?;
            bad["server_port"] = server.port.into();
            db.write("data/component_keyring_kmip.cnf", &bad.to_string())?;
            db.start(&[])?;
            let status = db.sql("SELECT STATUS_VALUE FROM performance_schema.keyring_component_status WHERE STATUS_KEY='Component_status'")?;
            assert_eq!(status, "Disabled");
            let log = db.error_log();
            assert!(
                log.contains(
                    "component_keyring_kmip.cnf: the field \"server_port\" must be a JSON string"
                ),
                "{log}"
            );
            // The database exists first, so the statement can only fail for want of a
            // keyring: InnoDB's own ER_CANNOT_FIND_KEYRING_MASTER_KEY (3185).
            db.sql("CREATE DATABASE IF NOT EXISTS test")?;
            db.refuses(
                "CREATE TABLE test.t (i INT) ENCRYPTION='Y'",
                MASTER_KEY_MISSING,
            )?;

            // Unreadable certificate, then fixed by RELOAD without a restart.
            let mut missing = serde_json::from_str::<serde_json::Value>(&good)?;
            missing["server_ca"] = "/nonexistent/ca.pem".into();
            db.write("data/component_keyring_kmip.cnf", &missing.to_string())?;
            db.refuses("ALTER INSTANCE RELOAD KEYRING", RELOAD_FAILED)?;
            assert!(
                db.error_log().contains("server_ca (/nonexistent/ca.pem)"),
                "{}",
                db.error_log()
            );
            db.write("data/component_keyring_kmip.cnf", &good)?;
            db.sql("ALTER INSTANCE RELOAD KEYRING")?;
            db.sql("CREATE DATABASE IF NOT EXISTS test; CREATE TABLE test.t (i INT) ENCRYPTION='Y'; INSERT INTO test.t VALUES (7)")?;
            assert_eq!(db.sql("SELECT i FROM test.t")?, "7");
            assert!(db.is_running());
            db.stop()?;

            // A malformed manifest is mysqld's own startup failure, reported by mysqld.
            db.write("bin/mysqld.my", "{\"components\": ")?;
            assert!(db.start(&[]).is_err());
            assert!(db.error_log().contains("mysqld.my"), "{}", db.error_log());

            // A missing manifest: mysqld starts without any keyring.
            std::fs::remove_file(db.host_path("bin/mysqld.my"))?;
            db.start(&[])?;
            assert_eq!(
                db.sql("SELECT COUNT(*) FROM performance_schema.keyring_component_status")?,
                "0"
            );
            db.stop()?;
            Ok(())
        },
    )
}

#[test]
fn mysql_migrate_keyring_moves_keys_from_keyring_file_and_back() -> Result<()> {
    with_mysqld(
        "mysqld_e2e::mysql_migrate_keyring_moves_keys_from_keyring_file_and_back",
        || {
            each(
                "mysqld_e2e::mysql_migrate_keyring_moves_keys_from_keyring_file_and_back",
                |server| {
                    let mut db = MysqlInstance::create(
                        &format!("migrate-{:?}", server.kind()),
                        ManifestForm::Global,
                        server.pki(),
                        server.port(),
                        Some("migrated"),
                    )?;
                    let use_component = |db: &MysqlInstance, name: &str| {
                        db.write(
                            "bin/mysqld.my",
                            &format!(r#"{{"components": "file://{name}"}}"#),
                        )
                    };
                    let keyring_file = |db: &MysqlInstance, file: &str| {
                        db.write(
                            "plugin/component_keyring_file.cnf",
                            &serde_json::json!({"path": db.chroot_path(file), "read_only": false})
                                .to_string(),
                        )
                    };
                    use_component(&db, "component_keyring_file")?;
                    keyring_file(&db, "data/keyring_file")?;
                    db.start(&[])?;
                    db.sql(
            "CREATE DATABASE m; CREATE TABLE m.t (id INT PRIMARY KEY, v VARCHAR(20)) ENCRYPTION='Y';
             INSERT INTO m.t VALUES (1, 'from keyring_file'); ALTER INSTANCE ROTATE INNODB MASTER KEY;",
        )?;
                    db.stop()?;

                    let migrate = |db: &MysqlInstance, from: &str, to: &str| -> Result<String> {
                        let args = [
                            format!("--component-dir={}", db.chroot_path("plugin")),
                            format!("--source-keyring={from}"),
                            format!("--destination-keyring={to}"),
                            format!(
                                "--source-keyring-configuration-dir={}",
                                db.chroot_path("data")
                            ),
                            format!(
                                "--destination-keyring-configuration-dir={}",
                                db.chroot_path("data")
                            ),
                        ];
                        db.run_in_chroot("mysql_migrate_keyring", &args)
                    };
                    migrate(&db, "component_keyring_file", "component_keyring_kmip")?;

                    use_component(&db, "component_keyring_kmip")?;
                    db.start(&[])?;
                    assert_eq!(db.sql("SELECT v FROM m.t")?, "from keyring_file");
                    db.sql(
                "INSERT INTO m.t VALUES (2, 'on kmip'); ALTER INSTANCE ROTATE INNODB MASTER KEY",
            )?;
                    db.stop()?;

                    keyring_file(&db, "data/keyring_file_back")?;
                    migrate(&db, "component_keyring_kmip", "component_keyring_file")?;
                    use_component(&db, "component_keyring_file")?;
                    db.start(&[])?;
                    assert_eq!(
                        db.sql("SELECT v FROM m.t ORDER BY id")?,
                        "from keyring_file\non kmip"
                    );
                    db.stop()?;
                    Ok(())
                },
            )
        },
    )
}

#[test]
fn wasm_traps_in_a_hostile_guest_never_take_mysqld_down() -> Result<()> {
    with_mysqld(
        "mysqld_e2e::wasm_traps_in_a_hostile_guest_never_take_mysqld_down",
        || {
            let server = PyKmip::start()?;
            let mut db = MysqlInstance::create(
                "hostile",
                ManifestForm::Global,
                &server.pki,
                server.port,
                Some("e2e-h"),
            )?;
            db.start(&[])?;
            db.sql("CREATE DATABASE h; CREATE TABLE h.t (i INT) ENCRYPTION='Y'; INSERT INTO h.t VALUES (42)")?;
            let wasm_path = kmip_keyring_tests::workspace_root()
                .join("target/wasm32-wasip2/release/kmip_keyring_hostile_guest.wasm");
            let wasm = std::fs::read(&wasm_path)?;
            std::fs::write(db.host_path("plugin/vendor_guest.wasm"), &wasm)?;
            let sha = kmip_keyring_tests::sha256_hex(&wasm);
            let good: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
                db.host_path("data/component_keyring_kmip.cnf"),
            )?)?;
            for (mode, expected) in [
                ("oob", "out of bounds"),
                ("div0", "divide by zero"),
                ("unreachable", "unreachable"),
            ] {
                let mut config = good.clone();
                config["guest_module"] = db.chroot_path("plugin/vendor_guest.wasm").into();
                config["guest_sha256"] = sha.clone().into();
                config["object_group"] = format!("hostile={mode};e2e-h").into();
                db.write("data/component_keyring_kmip.cnf", &config.to_string())?;
                db.sql("ALTER INSTANCE RELOAD KEYRING")?;
                let module = db.sql("SELECT STATUS_VALUE FROM performance_schema.keyring_component_status WHERE STATUS_KEY='Guest_module'")?;
                assert_eq!(module, db.chroot_path("plugin/vendor_guest.wasm"));
                db.refuses(
                    "ALTER INSTANCE ROTATE INNODB MASTER KEY",
                    MASTER_KEY_MISSING,
                )
                .with_context(|| format!("{mode}: rotation must fail"))?;
                assert!(db.is_running(), "{mode}: mysqld died");
                assert_eq!(
                    db.sql("SELECT i FROM h.t")?,
                    "42",
                    "{mode}: cached keys keep serving"
                );
                let log = db.error_log();
                assert!(
                    log.contains(expected),
                    "{mode}: the error log names the trap:\n{log}"
                );
            }
            // A guest whose hash does not match its pin is refused; the old state serves.
            let mut pinned_wrong = good.clone();
            pinned_wrong["guest_module"] = db.chroot_path("plugin/vendor_guest.wasm").into();
            pinned_wrong["guest_sha256"] = "00".repeat(32).into();
            db.write("data/component_keyring_kmip.cnf", &pinned_wrong.to_string())?;
            db.refuses("ALTER INSTANCE RELOAD KEYRING", RELOAD_FAILED)?;
            assert!(
                db.error_log().contains("guest_sha256 pins"),
                "{}",
                db.error_log()
            );

            // Back to the embedded guest: rotation works, and a restart reads the table.
            db.write("data/component_keyring_kmip.cnf", &good.to_string())?;
            db.sql("ALTER INSTANCE RELOAD KEYRING")?;
            db.sql("ALTER INSTANCE ROTATE INNODB MASTER KEY")?;
            db.stop()?;
            db.start(&[])?;
            assert_eq!(db.sql("SELECT i FROM h.t")?, "42");
            db.stop()?;
            Ok(())
        },
    )
}

/// The data dir's configuration listing several servers, in order.
fn write_server_list(db: &MysqlInstance, ports: &[u16], timeout_ms: u64) -> Result<()> {
    let config = serde_json::json!({
        "server_addr": ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>(),
        "client_ca": db.chroot_path("pki/client.pem"),
        "client_key": db.chroot_path("pki/client.key"),
        "server_ca": db.chroot_path("pki/ca.pem"),
        "object_group": "outages",
        "kmip_timeout_ms": timeout_ms,
    });
    db.write("data/component_keyring_kmip.cnf", &config.to_string())
}

fn status_value(db: &MysqlInstance, key: &str) -> Result<String> {
    db.sql(&format!(
        "SELECT STATUS_VALUE FROM performance_schema.keyring_component_status WHERE STATUS_KEY='{key}'"
    ))
}

#[test]
fn key_server_outages_never_take_mysqld_down() -> Result<()> {
    with_mysqld(
        "mysqld_e2e::key_server_outages_never_take_mysqld_down",
        || {
            // Two PyKMIP servers sharing one store, as a KMS cluster does.
            let mut first = PyKmip::start()?;
            let mut second = PyKmip::start_sharing(&first)?;
            let mut db = MysqlInstance::create(
                "outages",
                ManifestForm::Global,
                &first.pki,
                first.port,
                None,
            )?;
            write_server_list(&db, &[first.port, second.port], 2000)?;
            db.start(&[])?;
            assert_eq!(status_value(&db, "Component_status")?, "Active");
            db.sql(
            "CREATE DATABASE vault; CREATE TABLE vault.t (id INT PRIMARY KEY, v VARCHAR(20)) ENCRYPTION='Y';
             INSERT INTO vault.t VALUES (1, 'before outage')",
        )?;
            db.sql("ALTER INSTANCE ROTATE INNODB MASTER KEY")?;

            // The whole KMS goes away while mysqld runs.
            first.kill();
            second.kill();
            assert_eq!(
                db.sql("SELECT v FROM vault.t WHERE id = 1")?,
                "before outage",
                "encrypted tables stay readable: reads never touch the network"
            );
            db.refuses(
                "ALTER INSTANCE ROTATE INNODB MASTER KEY",
                MASTER_KEY_MISSING,
            )
            .context("rotation needs the KMS")?;
            let log = db.error_log();
            for port in [first.port, second.port] {
                assert!(
                    log.contains(&format!("127.0.0.1:{port}: refused")),
                    "the error log names server {port}:\n{log}"
                );
            }
            // The health rows say what happened, without touching the network.
            let failures: u64 = status_value(&db, "Kmip_operation_failures")?.parse()?;
            let operations: u64 = status_value(&db, "Kmip_operations")?.parse()?;
            assert!(
                failures >= 1 && operations > failures,
                "{operations} operations, {failures} failed"
            );
            let last_error = status_value(&db, "Kmip_last_error")?;
            assert!(
                last_error.contains(" UTC ")
                    && last_error.contains(&format!("127.0.0.1:{}: refused", first.port))
                    && last_error.contains(&format!("127.0.0.1:{}: refused", second.port)),
                "Kmip_last_error names the time and each server tried: {last_error}"
            );
            let last_exchange = status_value(&db, "Kmip_last_exchange")?;
            assert!(
                last_exchange.ends_with(&format!(" UTC with 127.0.0.1:{}", first.port)),
                "the last answer came from the first server before the outage: {last_exchange}"
            );
            // RELOAD with every server down keeps the old state serving.
            db.refuses("ALTER INSTANCE RELOAD KEYRING", RELOAD_FAILED)?;
            assert_eq!(status_value(&db, "Component_status")?, "Active");
            db.sql("INSERT INTO vault.t VALUES (2, 'during outage')")?;
            assert!(db.is_running());

            // The KMS comes back: the next rotation works, no restart.
            first.restart()?;
            second.restart()?;
            db.sql("ALTER INSTANCE ROTATE INNODB MASTER KEY")?;
            db.stop()?;

            // mysqld restarts with the first server of the list down: it starts via the second.
            first.kill();
            db.start(&[])?;
            assert_eq!(status_value(&db, "Component_status")?, "Active");
            assert_eq!(
                status_value(&db, "Kmip_server_in_use")?,
                format!("127.0.0.1:{}", second.port)
            );
            assert_eq!(db.sql("SELECT COUNT(*) FROM vault.t")?, "2");
            db.sql("ALTER INSTANCE ROTATE INNODB MASTER KEY")?;
            db.stop()?;

            // mysqld restarts with every server down: it runs, without a keyring, and says why.
            second.kill();
            db.start(&[])?;
            assert!(db.is_running());
            assert_eq!(status_value(&db, "Component_status")?, "Disabled");
            let log = db.error_log();
            let line = log
                .lines()
                .rev()
                .find(|l| l.contains("no KMIP server could be used"))
                .unwrap_or_else(|| panic!("no message naming the servers:\n{log}"));
            for port in [first.port, second.port] {
                assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
            }
            // Back again: RELOAD restores the keyring and the table.
            first.restart()?;
            second.restart()?;
            db.sql("ALTER INSTANCE RELOAD KEYRING")?;
            assert_eq!(status_value(&db, "Component_status")?, "Active");
            assert_eq!(
                db.sql("SELECT v FROM vault.t ORDER BY id")?,
                "before outage\nduring outage"
            );
            db.stop()?;
            Ok(())
        },
    )
}
