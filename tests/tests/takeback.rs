//! A store whose Activate took effect on the server while its answer was lost, with no
//! server answering afterwards (the soak found it): reported failed, never served by a
//! later load, and taken back once a server answers — at a RELOAD, at the next write, and
//! before the same name is stored again, which must not leave two objects under it.
//!
//! The fault is a real server crash as the client sees it: PyKMIP carries out the
//! Activate, the fault proxy cuts its answer in half and refuses every connection from
//! then on, so the State read, the Revoke and the Destroy that would settle it all fail.

use anyhow::{ensure, Context, Result};
use component_keyring_kmip::status::status_rows;
use component_keyring_kmip::{Config, Keyring, LogSink, MemoryLog};
use kmip_keyring_tests::fault_proxy::{Fault, FaultProxy};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

const GROUP: &str = "takeback";

struct Rig {
    server: PyKmip,
    proxy: FaultProxy,
    dir: tempfile::TempDir,
    log: Arc<MemoryLog>,
}

impl Rig {
    fn start() -> Result<Self> {
        let server = PyKmip::start()?;
        let upstream: SocketAddr = format!("127.0.0.1:{}", server.port).parse()?;
        Ok(Self {
            proxy: FaultProxy::start(upstream)?,
            server,
            dir: tempfile::tempdir()?,
            log: MemoryLog::shared(),
        })
    }

    /// The proxy as the only server, so nothing can fail over past the crash.
    fn config(&self) -> Result<Config> {
        let mut json = self.server.config_json(Some(GROUP));
        json["server_addr"] = json!(format!("127.0.0.1:{}", self.proxy.port()));
        json["kmip_timeout_ms"] = 1000.into();
        let path = self.dir.path().join("component_keyring_kmip.cnf");
        std::fs::write(&path, json.to_string())?;
        Ok(Config::from_file(&path)?)
    }

    fn load(&self) -> Result<Keyring> {
        Ok(Keyring::load(
            self.config()?,
            runtime(),
            self.log.clone() as Arc<dyn LogSink>,
        )?)
    }

    fn reload(&self, previous: &Keyring) -> Result<Keyring> {
        Ok(Keyring::reload(
            self.config()?,
            runtime(),
            self.log.clone() as Arc<dyn LogSink>,
            previous,
        )?)
    }

    /// The objects named `name` on the server, as PyKMIP's own client reads them.
    fn on_server(&self, name: &str) -> Result<Vec<Value>> {
        let dump = self.server.witness(&["dump"])?;
        let objects = dump.as_array().context("witness dump is a list")?;
        Ok(objects
            .iter()
            .filter(|o| {
                o["names"]
                    .as_array()
                    .is_some_and(|n| n.contains(&json!(name)))
            })
            .cloned()
            .collect())
    }

    /// Stores `name` while the server crashes right after carrying out the Activate;
    /// checks the store is reported failed and the object is Active on the server all
    /// the same. Returns the object's id. The proxy refuses everything afterwards.
    fn store_through_crash(&self, keyring: &Keyring, name: &str) -> Result<String> {
        // Answers one store takes on the live connection (Register, Activate), counted
        // on a store of its own (after one more that settles the connection) so the
        // crash hits the last of them.
        keyring.store(&format!("{name}-warm"), "", "AES", &[3u8; 32])?;
        let before = self.proxy.stats().server_app_records;
        keyring.store(&format!("{name}-probe"), "", "AES", &[1u8; 32])?;
        let answers = self.proxy.stats().server_app_records - before;
        ensure!(answers >= 2, "a store took {answers} answers");
        self.proxy
            .set_fault(Fault::CrashAfter(u32::try_from(answers - 1)?));
        let err = keyring
            .store(name, "", "AES", &[0x5a; 32])
            .expect_err("the store cannot be confirmed, so it is reported failed");
        ensure!(
            self.proxy.fault() == Fault::Refuse,
            "the crash did not happen during the store of {name}: {err}"
        );
        ensure!(
            keyring.fetch(name, "").is_none(),
            "a failed store is not cached"
        );
        let objects = self.on_server(name)?;
        ensure!(
            objects.len() == 1 && objects[0]["state"] == "ACTIVE",
            "the reproduction needs the Activate to have taken effect: {objects:?}"
        );
        let object_id = objects[0]["uid"].as_str().context("uid")?.to_owned();
        ensure!(
            self.log.lines().iter().any(|(_, l)| l.contains(&format!(
                "taking the new object {object_id} back failed too"
            ))),
            "the guest says it could not take {object_id} back"
        );
        Ok(object_id)
    }

    fn logged(&self, needle: &str) -> bool {
        self.log.lines().iter().any(|(_, l)| l.contains(needle))
    }
}

fn status_row(keyring: &Keyring, name: &str) -> String {
    status_rows(Some(keyring))
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[test]
fn a_reload_never_serves_it_and_takes_it_back() -> Result<()> {
    let rig = Rig::start()?;
    let keyring = rig.load()?;
    let object_id = rig.store_through_crash(&keyring, "lost")?;
    assert_eq!(keyring.objects_left_on_server(), 1);
    assert_eq!(status_row(&keyring, "Kmip_objects_left_on_server"), "1");

    // The server comes back and mysqld runs ALTER INSTANCE RELOAD KEYRING: the load reads
    // the Active object but must not serve it, since mysqld was told it is not stored.
    rig.proxy.set_fault(Fault::Pass);
    let reloaded = rig.reload(&keyring)?;
    assert!(
        reloaded.fetch("lost", "").is_none(),
        "a store reported failed surfaced at the RELOAD"
    );
    assert!(rig.logged(&format!(
        "skipping KMIP object {object_id}: it was left on the server by a store of key 'lost'"
    )));
    assert!(rig.logged(&format!("took back KMIP object {object_id}")));
    assert!(
        rig.on_server("lost")?.is_empty(),
        "object {object_id} is still on the server"
    );
    assert_eq!(reloaded.objects_left_on_server(), 0);
    assert_eq!(status_row(&reloaded, "Kmip_objects_left_on_server"), "0");
    // The probe stored before the crash is served as ever.
    assert_eq!(*reloaded.fetch("lost-probe", "").unwrap().data, [1u8; 32]);
    Ok(())
}

#[test]
fn the_next_write_takes_it_back() -> Result<()> {
    let rig = Rig::start()?;
    let keyring = rig.load()?;
    let object_id = rig.store_through_crash(&keyring, "lost")?;
    rig.proxy.set_fault(Fault::Pass);
    keyring.store("next", "", "AES", &[2u8; 32])?;
    assert_eq!(keyring.objects_left_on_server(), 0);
    assert!(
        rig.on_server("lost")?.is_empty(),
        "object {object_id} is still on the server"
    );
    // A fresh load, as after a restart, finds nothing under the name.
    assert!(rig.load()?.fetch("lost", "").is_none());
    Ok(())
}

#[test]
fn storing_the_name_again_takes_it_back_first_and_leaves_one_object() -> Result<()> {
    let rig = Rig::start()?;
    let keyring = rig.load()?;
    let object_id = rig.store_through_crash(&keyring, "rotated")?;
    // InnoDB asks for the same master key name again after a failed rotation. While no
    // server answers, the old object cannot be taken back, so the store is refused
    // rather than risk two objects under one name.
    let err = keyring
        .store("rotated", "", "AES", &[0x77; 32])
        .expect_err("the server is still down");
    let message = err.to_string();
    ensure!(
        message.contains(&format!("KMIP object {object_id}, left on the server"))
            && message.contains(&format!("127.0.0.1:{}", rig.proxy.port())),
        "the error names the object and the server: {message}"
    );
    rig.proxy.set_fault(Fault::Pass);
    keyring.store("rotated", "", "AES", &[0x77; 32])?;
    let objects = rig.on_server("rotated")?;
    ensure!(
        objects.len() == 1
            && objects[0]["state"] == "ACTIVE"
            && objects[0]["value_hex"] == "77".repeat(32)
            && objects[0]["uid"] != json!(object_id),
        "exactly the new object holds the name: {objects:?}"
    );
    let after_restart = rig.load()?;
    assert_eq!(
        *after_restart.fetch("rotated", "").unwrap().data,
        [0x77; 32]
    );
    Ok(())
}
