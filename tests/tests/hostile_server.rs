//! Hostile KMIP servers: a real TLS peer that stalls, never answers, announces a huge
//! message, answers garbage, truncates or closes — and a scripted peer sending malformed
//! TTLV. Each ends the operation with a clear error within its deadline.

use anyhow::Result;

use component_keyring_kmip::sandbox::{GuestError, GuestSettings, Sandbox, SandboxError};
use component_keyring_kmip::{Config, Keyring, LogSink, MemoryLog};
use kmip_keyring_tests::hostile_server::{HostileServer, Misbehaviour};
use kmip_keyring_tests::peer::ScriptedPeer;
use kmip_keyring_tests::pki::Pki;
use kmip_keyring_tests::runtime;
use kmip_keyring_tests::ttlv::{self, *};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config_for(dir: &std::path::Path, pki: &Pki, port: u16) -> Result<Config> {
    let path = dir.join("component_keyring_kmip.cnf");
    let json = serde_json::json!({
        "server_addr": "127.0.0.1", "server_port": port.to_string(),
        "client_ca": pki.client_cert, "client_key": pki.client_key, "server_ca": pki.ca,
        "kmip_timeout_ms": TIMEOUT_MS,
    });
    std::fs::write(&path, json.to_string())?;
    Ok(Config::from_file(&path)?)
}

/// The deadline of each step, and with one server the budget of the whole load.
const TIMEOUT_MS: u64 = 1000;
/// What a load may take beyond its budget: the guest instance, the TLS setup, scheduling.
const MARGIN: Duration = Duration::from_millis(1500);

#[test]
fn misbehaving_tls_servers_fail_the_load_within_the_deadline() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::generate(dir.path())?;
    for (how, expected) in [
        (Misbehaviour::StallHandshake, "timed out (TLS handshake"),
        (Misbehaviour::NeverAnswer, "timed out (receiving"),
        (Misbehaviour::Oversized, "exceeded 16777216 bytes"),
        (Misbehaviour::Garbage, "not a KMIP message"),
        (Misbehaviour::Truncated, "closed the connection"),
        (Misbehaviour::Close, "closed the connection"),
    ] {
        let server = HostileServer::start(&pki, how)?;
        let config = config_for(dir.path(), &pki, server.port)?;
        // The guest is compiled before the clock starts: the bound is the load's.
        let runtime = runtime();
        let started = Instant::now();
        let err = Keyring::load(config, runtime, MemoryLog::shared() as Arc<dyn LogSink>)
            .expect_err("a hostile server cannot be loaded from")
            .to_string();
        let elapsed = started.elapsed();
        eprintln!("{how:?}: failed after {elapsed:?}: {err}");
        assert!(err.contains(expected), "{how:?}: {err}");
        // One server: the load's budget is kmip_timeout_ms, which no step or retry
        // exceeds; the margin covers building the guest instance (a bound against
        // hanging, not a speed figure).
        let bound = Duration::from_millis(TIMEOUT_MS) + MARGIN;
        assert!(
            elapsed <= bound,
            "{how:?}: the load took {elapsed:?}, more than kmip_timeout_ms + margin ({bound:?})"
        );
    }
    Ok(())
}

fn sandbox(peer: &ScriptedPeer) -> Sandbox {
    let settings = GuestSettings {
        object_group: None,
        locate_page_size: 10,
        fetch_batch_size: 10,
    };
    Sandbox::new(
        runtime(),
        Arc::new(peer.clone()),
        MemoryLog::shared(),
        settings,
        Default::default(),
    )
}

fn nested(depth: usize) -> Item {
    (0..depth).fold(int(0x420001, 1), |inner, _| st(0x420002, vec![inner]))
}

#[test]
fn malformed_ttlv_is_a_clean_error() {
    let discover = discover_versions_response(&[(1, 4)]);
    let good_locate = response(1, 4, vec![success(op::LOCATE, None, vec![])]);
    let mut truncated = good_locate.clone();
    truncated.truncate(good_locate.len() - 12);
    let mut wrong_tag = good_locate.clone();
    wrong_tag[0..3].copy_from_slice(&[0x42, 0x00, 0x78]);
    let wrong_type = ttlv::encode(&st(
        tag::RESPONSE_MESSAGE,
        vec![
            text(tag::RESPONSE_HEADER, "not a structure"),
            success(op::LOCATE, None, vec![]),
        ],
    ));
    let deep = ttlv::encode(&st(
        tag::RESPONSE_MESSAGE,
        vec![
            st(tag::RESPONSE_HEADER, vec![nested(20_000)]),
            success(op::LOCATE, None, vec![]),
        ],
    ));
    let lying_length = {
        let mut m = good_locate.clone();
        m[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        m
    };
    for (name, answer) in [
        ("truncated", truncated),
        ("wrong tag", wrong_tag),
        ("wrong type", wrong_type),
        ("deeply nested", deep),
        ("length beyond the message", lying_length),
        ("empty", Vec::new()),
    ] {
        let peer = ScriptedPeer::new(1);
        peer.respond(discover.clone());
        peer.respond(answer);
        let mut sb = sandbox(&peer);
        match sb.load_all() {
            Err(SandboxError::Guest(GuestError::MalformedResponse(m))) => {
                eprintln!("{name}: {m}")
            }
            Err(SandboxError::Trapped(m)) => eprintln!("{name}: guest trapped cleanly: {m}"),
            other => panic!("{name}: expected a clean error, got {other:?}"),
        }
        // The sandbox is usable afterwards (a load's first request locates both object
        // types in one message).
        peer.respond(discover.clone());
        peer.respond(response(
            1,
            4,
            vec![
                success(op::LOCATE, Some(0), vec![]),
                success(op::LOCATE, Some(1), vec![]),
            ],
        ));
        assert!(sb.load_all().expect("next load works").is_empty(), "{name}");
    }
}
