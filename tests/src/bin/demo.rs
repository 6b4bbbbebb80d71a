//! The demo: a PyKMIP server on 127.0.0.1 with certificates made for this run, and the
//! keyring driven through the wasm sandbox as mysqld drives it: load, generate an InnoDB
//! master key, store a secret with an owner, list, fetch, reload, remove.

use anyhow::Result;
use component_keyring_kmip::{Keyring, LogSink, MemoryLog};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<()> {
    println!("starting PyKMIP on 127.0.0.1 with a fresh CA, server and client certificate ...");
    let server = PyKmip::start()?;
    println!("  PyKMIP listens on 127.0.0.1:{} (mutual TLS)", server.port);
    let config = server.config(Some("demo-group"))?;
    println!("  config: {}", config.source.display());

    let log = MemoryLog::shared();
    let started = Instant::now();
    let keyring = Keyring::load(config.clone(), runtime(), log.clone() as Arc<dyn LogSink>)?;
    println!(
        "loaded the keyring through the sandbox in {:?}: {} keys",
        started.elapsed(),
        keyring.len()
    );
    let session = keyring.session();
    println!(
        "  guest session: server {}, KMIP {}",
        session.server.as_deref().unwrap_or("-"),
        session.protocol_version.as_deref().unwrap_or("-")
    );

    let master = "INNODBKey-00000000-0000-0000-0000-000000000001-1";
    keyring.generate(master, "", "AES", 32)?;
    println!(
        "generated {master} (AES-256) as InnoDB does on ALTER INSTANCE ROTATE INNODB MASTER KEY"
    );
    keyring.store(
        "app_secret",
        "app@localhost",
        "SECRET",
        b"\x00binary\x00secret\xff",
    )?;
    println!("stored app_secret (SECRET) owned by app@localhost, as keyring_key_store() does");

    println!("keys in the cache:");
    for id in keyring.key_ids() {
        let key = keyring
            .fetch(&id.data_id, &id.auth_id)
            .expect("listed keys are cached");
        println!(
            "  {:<52} owner {:<15} {:<6} {:>2} bytes  KMIP object {}",
            id.data_id,
            if id.auth_id.is_empty() {
                "-"
            } else {
                &id.auth_id
            },
            key.key_type,
            key.data.len(),
            key.object_id
        );
    }

    let reloaded = Keyring::load(config, runtime(), log.clone() as Arc<dyn LogSink>)?;
    let same = keyring.key_ids().iter().all(|id| {
        reloaded.fetch(&id.data_id, &id.auth_id).map(|k| k.data)
            == keyring.fetch(&id.data_id, &id.auth_id).map(|k| k.data)
    });
    println!("a second keyring loaded from the server sees the same {} keys with the same bytes and owners: {same}", reloaded.len());

    keyring.remove("app_secret", "app@localhost")?;
    println!(
        "removed app_secret (Revoke, then Destroy); {} keys left",
        keyring.len()
    );

    println!("log lines from the host and the guest:");
    for (level, line) in log.lines() {
        println!("  {level:?}: {line}");
    }
    println!("stopping PyKMIP (pid-based) and removing its directory");
    Ok(())
}
