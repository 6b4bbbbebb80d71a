//! The fault matrix: every fault of the proxy against every keyring operation, with one
//! server behind the proxy and with a healthy second server to fail over to. Each call
//! returns within its budget with the outcome the README's table gives for its cell (an
//! error naming the server and the cause, or success), the cache agrees with the server
//! afterwards, and once the fault clears the next operation succeeds.

use anyhow::{ensure, Context, Result};
use component_keyring_kmip::{Config, Keyring, LogSink, MemoryLog};
use kmip_keyring_tests::fault_proxy::{Fault, FaultProxy};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;
use serde_json::json;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TIMEOUT_MS: u64 = 1000;

#[derive(Debug, Clone, Copy)]
enum Op {
    Load,
    Store,
    Generate,
    Remove,
}

fn faults() -> [Fault; 6] {
    [
        Fault::Refuse,
        Fault::Delay(Duration::from_millis(TIMEOUT_MS + 700)),
        Fault::Cut,
        Fault::Truncate,
        Fault::Corrupt,
        Fault::Flap,
    ]
}

struct Rig {
    server: PyKmip,
    proxy: FaultProxy,
    dir: tempfile::TempDir,
}

impl Rig {
    fn start() -> Result<Self> {
        let server = PyKmip::start()?;
        let upstream: SocketAddr = format!("127.0.0.1:{}", server.port).parse()?;
        let proxy = FaultProxy::start(upstream)?;
        Ok(Self {
            server,
            proxy,
            dir: tempfile::tempdir()?,
        })
    }

    /// The proxy alone, or the proxy first and the server itself second.
    fn config(&self, failover: bool) -> Result<Config> {
        let mut json = self.server.config_json(Some("faults"));
        let mut servers = vec![format!("127.0.0.1:{}", self.proxy.port())];
        if failover {
            servers.push(format!("127.0.0.1:{}", self.server.port));
        }
        json["server_addr"] = json!(servers);
        json["kmip_timeout_ms"] = TIMEOUT_MS.into();
        let path = self.dir.path().join(if failover {
            "failover.cnf"
        } else {
            "single.cnf"
        });
        std::fs::write(&path, json.to_string())?;
        Ok(Config::from_file(Path::new(&path))?)
    }

    /// What the server holds, as a fresh keyring straight to the server loads it.
    fn server_view(&self) -> Result<BTreeSet<String>> {
        let mut json = self.server.config_json(Some("faults"));
        json["kmip_timeout_ms"] = 5000.into();
        let path = self.dir.path().join("direct.cnf");
        std::fs::write(&path, json.to_string())?;
        let keyring = Keyring::load(
            Config::from_file(&path)?,
            runtime(),
            MemoryLog::shared() as Arc<dyn LogSink>,
        )?;
        Ok(names(&keyring))
    }
}

fn names(keyring: &Keyring) -> BTreeSet<String> {
    keyring.key_ids().into_iter().map(|k| k.data_id).collect()
}

fn load(config: Config) -> Result<Keyring, component_keyring_kmip::KeyringError> {
    Keyring::load(config, runtime(), MemoryLog::shared() as Arc<dyn LogSink>)
}

/// One cell of the matrix; returns "ok" or the error, for the printed matrix.
fn cell(rig: &Rig, failover: bool, fault: Fault, op: Op, n: usize) -> Result<String> {
    rig.proxy.set_fault(Fault::Pass);
    let keyring = load(rig.config(failover)?).context("loading before the fault")?;
    let victim = format!("victim-{n}");
    if matches!(op, Op::Remove) {
        keyring.store(&victim, "", "AES", &[7u8; 32])?;
    }
    rig.proxy.set_fault(fault);
    // Live connections break too, so faults that act when connections are made bite.
    rig.proxy.close_all();

    let servers = if failover { 2 } else { 1 };
    let started = Instant::now();
    let name = format!("key-{n}");
    let outcome = match op {
        Op::Load => load(rig.config(failover)?).map(|_| ()),
        Op::Store => keyring.store(&name, "", "AES", &[n as u8; 32]),
        Op::Generate => keyring.generate(&name, "", "AES", 32),
        Op::Remove => keyring.remove(&victim, ""),
    };
    let elapsed = started.elapsed();
    // The budget is kmip_timeout_ms per server; the margin covers the guest instance and
    // PyKMIP's own time (functional bound against hanging, not a speed figure).
    let bound = Duration::from_millis(TIMEOUT_MS * servers) + Duration::from_secs(3);
    ensure!(
        elapsed <= bound,
        "{op:?} under {fault:?} took {elapsed:?} (bound {bound:?})"
    );
    let result = match &outcome {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            let message = e.to_string();
            ensure!(
                message.contains(&format!("127.0.0.1:{}", rig.proxy.port())),
                "{op:?} under {fault:?}: the error does not name the server: {message}"
            );
            format!("error: {message}")
        }
    };

    // The fault clears: the cache agrees with the server, and the same keyring works on.
    rig.proxy.set_fault(Fault::Pass);
    let server_now = rig.server_view()?;
    if !matches!(op, Op::Load) {
        ensure!(
            names(&keyring) == server_now,
            "{op:?} under {fault:?} ({result}): cache {:?} but server {:?}",
            names(&keyring),
            server_now
        );
    }
    let after = format!("after-{n}");
    keyring
        .store(&after, "", "AES", &[1u8; 32])
        .with_context(|| format!("the first store after {fault:?} cleared ({op:?})"))?;
    keyring.remove(&after, "")?;
    if matches!(op, Op::Remove) && keyring.fetch(&victim, "").is_some() {
        keyring.remove(&victim, "")?;
    }
    if matches!(op, Op::Store | Op::Generate) && keyring.fetch(&name, "").is_some() {
        keyring.remove(&name, "")?;
    }
    Ok(result)
}

fn run_matrix(failover: bool) -> Result<Vec<(String, String, String)>> {
    let rig = Rig::start()?;
    let mut rows = Vec::new();
    let mut n = 0;
    for fault in faults() {
        for op in [Op::Load, Op::Store, Op::Generate, Op::Remove] {
            n += 1;
            let result = cell(&rig, failover, fault, op, n)
                .with_context(|| format!("{fault:?} × {op:?}"))?;
            eprintln!("{fault:?} × {op:?}: {result}");
            rows.push((format!("{fault:?}"), format!("{op:?}"), result));
        }
    }
    Ok(rows)
}

/// What each fault does to every operation when the proxy is the only server (the README's
/// table): the error's cause, after the server's name that every error carries, or `None`
/// for a call that succeeds.
fn with_one_server(fault: &str) -> Option<&'static str> {
    match fault {
        "Refuse" => Some("the server closed the connection during the TLS handshake"),
        f if f.starts_with("Delay") => Some("timed out (receiving with 127.0.0.1:"),
        "Cut" => Some("the server closed the connection"),
        "Truncate" => Some("timed out (receiving with 127.0.0.1:"),
        "Corrupt" => Some("TLS failure (127.0.0.1:"),
        // Connections alternate, and the one the call opens passes.
        "Flap" => None,
        other => panic!("no expectation for {other}"),
    }
}

#[test]
fn every_fault_against_every_operation_with_one_server() -> Result<()> {
    let rows = run_matrix(false)?;
    for (fault, op, result) in &rows {
        match with_one_server(fault) {
            None => assert_eq!(result, "ok", "{fault} × {op}"),
            Some(cause) => {
                assert!(
                    result.starts_with(&format!(
                        "error: {}: no KMIP server could be used: 127.0.0.1:",
                        op.to_lowercase()
                    )) && result.contains(cause),
                    "{fault} × {op}: expected an error naming the server with {cause:?}, got {result}"
                );
                // A cut response is not a refused handshake, whose text contains the cut's.
                if fault == "Cut" {
                    assert!(
                        !result.contains("during the TLS handshake"),
                        "{fault} × {op}: {result}"
                    );
                }
            }
        }
    }
    Ok(())
}

#[test]
fn every_fault_against_every_operation_fails_over_to_a_healthy_server() -> Result<()> {
    let rows = run_matrix(true)?;
    // A healthy second server carries every operation: a load always, and a write when
    // the fault hits before anything was sent or the lost Register can be made again.
    for (fault, op, result) in &rows {
        assert_eq!(result, "ok", "{fault} × {op}");
    }
    Ok(())
}
