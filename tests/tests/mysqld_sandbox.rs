//! The sandbox's limits inside a real mysqld 9.7 (in the chroot), with its default
//! `thread_stack` and with a small one: the hostile guest (tests/hostile-guest) swapped in
//! through `guest_module` recurses without bound, keeps memory across calls, floods the
//! log, draws entropy without end, makes a million host calls, chats with the KMS, returns
//! aliased memory, hogs connections; a hand-written guest grows a table. Each time the
//! statement fails (or the load goes on) with exactly one error-log line, mysqld stays up,
//! and its encrypted table stays readable.

use anyhow::{ensure, Result};
use kmip_keyring_tests::mysqld::{with_mysqld, ManifestForm, MysqlInstance};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::{raw_guest, sha256_hex, workspace_root};

/// The guest the server runs while `mode` is being tried.
struct Guest {
    path: String,
    sha: String,
}

fn install_guest(db: &MysqlInstance, file: &str, wasm: &[u8]) -> Result<Guest> {
    std::fs::write(db.host_path(&format!("plugin/{file}")), wasm)?;
    Ok(Guest {
        path: db.chroot_path(&format!("plugin/{file}")),
        sha: sha256_hex(wasm),
    })
}

fn configure(
    db: &MysqlInstance,
    base: &serde_json::Value,
    guest: &Guest,
    group: &str,
) -> Result<()> {
    let mut config = base.clone();
    config["guest_module"] = guest.path.clone().into();
    config["guest_sha256"] = guest.sha.clone().into();
    config["object_group"] = group.into();
    db.write("data/component_keyring_kmip.cnf", &config.to_string())
}

/// The error-log lines written while `f` ran, and `f`'s result.
fn during<T>(db: &MysqlInstance, f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let before = db.error_log().lines().count();
    let result = f();
    let lines = db
        .error_log()
        .lines()
        .skip(before)
        .map(str::to_owned)
        .collect();
    (result, lines)
}

/// The component's error lines among `lines` (InnoDB adds its own line when a rotation
/// fails: "Encryption can't find master key").
fn errors(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.contains("[ERROR]") && l.contains("[component_ke]"))
        .collect()
}

/// `statement` fails, with exactly one error-log line of the component that contains
/// `expected`; mysqld stays up and serves the encrypted table.
fn fails_with_one_line(
    db: &mut MysqlInstance,
    what: &str,
    statement: &str,
    expected: &str,
) -> Result<()> {
    let (result, lines) = during(db, || db.sql(statement));
    ensure!(result.is_err(), "{what}: `{statement}` must fail");
    let errors = errors(&lines);
    ensure!(
        errors.len() == 1 && errors[0].contains(expected),
        "{what}: one error line naming {expected:?}, got {errors:#?}"
    );
    ensure!(db.is_running(), "{what}: mysqld died");
    ensure!(
        db.sql("SELECT i FROM h.t")? == "42",
        "{what}: table unreadable"
    );
    Ok(())
}

fn scenario(thread_stack: Option<&str>) -> Result<()> {
    let server = PyKmip::start()?;
    let name = format!(
        "sandbox{}",
        thread_stack.map_or(String::new(), |s| format!("-{s}"))
    );
    let mut db =
        MysqlInstance::create(&name, ManifestForm::Global, &server.pki, server.port, None)?;
    let base: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        db.host_path("data/component_keyring_kmip.cnf"),
    )?)?;
    let hostile_wasm = std::fs::read(
        workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_hostile_guest.wasm"),
    )?;
    let hostile = install_guest(&db, "hostile_guest.wasm", &hostile_wasm)?;
    let table_guest = install_guest(&db, "table_grow.wasm", &raw_guest::component("table-grow")?)?;
    // Startup compiles the hostile guest (behaving) on mysqld's main thread; the RELOADs
    // below only change its mode, so no connection thread compiles anything.
    configure(&db, &base, &hostile, "hostile=none;sb")?;
    let extra: Vec<String> = thread_stack
        .map(|s| format!("--thread-stack={s}"))
        .into_iter()
        .collect();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    db.start(&extra)?;
    if let Some(size) = thread_stack {
        let bytes = db.sql("SELECT @@thread_stack")?;
        ensure!(
            bytes == (parse_size(size)).to_string(),
            "thread_stack is {bytes}"
        );
    }
    db.sql(
        "CREATE DATABASE h; CREATE TABLE h.t (i INT) ENCRYPTION='Y'; INSERT INTO h.t VALUES (42)",
    )?;
    db.sql(
        "INSTALL PLUGIN keyring_udf SONAME 'keyring_udf.so';
         CREATE FUNCTION keyring_key_store RETURNS INTEGER SONAME 'keyring_udf.so';",
    )?;
    let reload = "ALTER INSTANCE RELOAD KEYRING";
    let rotate = "ALTER INSTANCE ROTATE INNODB MASTER KEY";
    let udf_store = "SELECT keyring_key_store('udf_key', 'SECRET', 'a secret')";

    // Unbounded recursion: in load-all (RELOAD), and in generate (ROTATE) and store
    // (keyring_udf), each on a connection thread.
    configure(&db, &base, &hostile, "hostile=recurse;sb")?;
    fails_with_one_line(&mut db, "recurse", reload, "call stack exhausted")?;
    configure(&db, &base, &hostile, "hostile=recurse-write;sb")?;
    db.sql(reload)?;
    fails_with_one_line(&mut db, "recurse-write", rotate, "call stack exhausted")?;
    let (stored, lines) = during(&db, || db.sql(udf_store));
    // keyring_udf reports a failed store as NULL; the component logs one line.
    ensure!(
        matches!(stored.as_deref(), Ok("NULL")),
        "the udf store fails: {stored:?}"
    );
    ensure!(
        errors(&lines).len() == 1 && errors(&lines)[0].contains("call stack exhausted"),
        "{lines:#?}"
    );

    // Host budgets of one call: host calls, bytes, KMIP messages, entropy, result size.
    for (mode, statement, expected) in [
        ("host-calls", reload, "host calls in one call"),
        ("log-bomb", reload, "MiB to the host in one call"),
        ("alias-list", reload, "too much data is being copied"),
    ] {
        configure(&db, &base, &hostile, &format!("hostile={mode};sb"))?;
        fails_with_one_line(&mut db, mode, statement, expected)?;
    }
    for (mode, expected) in [
        ("chatty-write", "KMIP messages in one call"),
        ("entropy-flood", "random bytes in one call"),
    ] {
        configure(&db, &base, &hostile, &format!("hostile={mode};sb"))?;
        db.sql(reload)?;
        fails_with_one_line(&mut db, mode, rotate, expected)?;
    }

    // A log flood: the load succeeds; at most 1 000 of its lines reach the error log.
    configure(&db, &base, &hostile, "hostile=log-flood;sb")?;
    let (reloaded, lines) = during(&db, || db.sql(reload));
    reloaded?;
    let flood = lines.iter().filter(|l| l.contains("xxxxxxxxxx")).count();
    ensure!(flood <= 1000, "{flood} flood lines reached the error log");
    ensure!(
        lines
            .iter()
            .any(|l| l.contains("more log lines during load were dropped")),
        "the dropped lines are counted"
    );

    // Memory kept across calls, and connections kept across calls: one ROTATE fails at
    // the cap, the next one runs on a fresh instance.
    for (mode, expected) in [
        ("leak", "memory limit"),
        ("hog-connections", "open connections"),
    ] {
        configure(&db, &base, &hostile, &format!("hostile={mode};sb"))?;
        db.sql(reload)?;
        let mut rotations = 0;
        loop {
            let (result, lines) = during(&db, || db.sql(rotate));
            match result {
                Ok(_) => rotations += 1,
                Err(_) => {
                    let errors = errors(&lines);
                    ensure!(
                        errors.len() == 1 && errors[0].contains(expected),
                        "{mode}: {errors:#?}"
                    );
                    break;
                }
            }
            ensure!(rotations < 20, "{mode}: the cap is never reached");
        }
        ensure!(db.is_running() && db.sql("SELECT i FROM h.t")? == "42");
        db.sql(rotate)?;
    }

    // A hand-written guest that grows a table: it needs compiling at RELOAD, which a
    // small thread_stack refuses (one clean line); with the default, the table cap holds.
    configure(&db, &base, &table_guest, "tables")?;
    let expected = if thread_stack.is_some() {
        "of stack are left on the calling thread"
    } else {
        "table limit"
    };
    fails_with_one_line(&mut db, "table-grow", reload, expected)?;

    // Back to the embedded guest: rotation works, and a restart reads the table.
    db.write("data/component_keyring_kmip.cnf", &base.to_string())?;
    db.sql(reload)?;
    db.sql(rotate)?;
    db.stop()?;
    db.start(&extra)?;
    ensure!(db.sql("SELECT i FROM h.t")? == "42");
    let log = db.error_log();
    ensure!(
        !log.contains("signal ") && !log.contains("mysqld got signal"),
        "no crash in the error log:\n{log}"
    );
    db.stop()
}

fn parse_size(size: &str) -> u64 {
    match size.strip_suffix('K') {
        Some(k) => k.parse::<u64>().expect("a size") << 10,
        None => size.parse().expect("a size"),
    }
}

#[test]
fn hostile_guests_never_take_mysqld_down_with_its_default_thread_stack() -> Result<()> {
    with_mysqld(
        "mysqld_sandbox::hostile_guests_never_take_mysqld_down_with_its_default_thread_stack",
        || scenario(None),
    )
}

#[test]
fn hostile_guests_never_take_mysqld_down_with_a_256k_thread_stack() -> Result<()> {
    with_mysqld(
        "mysqld_sandbox::hostile_guests_never_take_mysqld_down_with_a_256k_thread_stack",
        || scenario(Some("256K")),
    )
}
