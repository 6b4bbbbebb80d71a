//! Loopback ports for the KMIP servers the tests start as separate processes.
//!
//! A port the kernel hands out for `bind(127.0.0.1:0)` comes from its ephemeral range,
//! the same range it draws the local ports of outgoing connections from: between the
//! probe and the server's own bind, any connection of a test running alongside can take
//! it (CI saw PyKMIP fail to bind 40169, "Address already in use", 2026-12-07). So a
//! server's port is drawn at random from below that range, where no outgoing connection
//! lands, and above mysql-test-run's ports (13000 on); the draw keeps concurrent tests
//! apart, and a server that still finds its port taken is started again on another
//! ([`PORT_ATTEMPTS`]).

use anyhow::{Context, Result};
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::Path;

/// The lowest port drawn: above the ports mysql-test-run gives its servers (13000 on,
/// 30 per worker).
const LOWEST: u16 = 20_000;
/// Fewer ports than this between [`LOWEST`] and the ephemeral range, and the draw is not
/// worth it: the kernel's choice is taken instead.
const FEWEST: u16 = 1_000;
/// How many times a server is started on a newly drawn port after finding its port taken.
const PORT_ATTEMPTS: usize = 5;
/// What a server's log says when its port was taken (Linux's EADDRINUSE text).
const PORT_TAKEN: &str = "Address already in use";

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A random number, seeded afresh by the standard library for each call.
fn draw() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A port on 127.0.0.1 that nothing listened on a moment ago, outside the ephemeral range
/// when the range leaves room (see the module's header).
pub fn free_loopback_port() -> Result<u16> {
    let high = ephemeral_low();
    if high > LOWEST && high - LOWEST >= FEWEST {
        for _ in 0..64 {
            let port = LOWEST + (draw() % u64::from(high - LOWEST)) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(listener.local_addr()?.port())
}

/// Starts `server` with `start` (which draws its ports with [`free_loopback_port`]); while
/// it fails and `taken` says the server found a port taken, `stop` and again, at most
/// [`PORT_ATTEMPTS`] times in all.
pub fn start_on_free_ports<S>(
    server: &mut S,
    mut start: impl FnMut(&mut S) -> Result<()>,
    taken: impl Fn(&S) -> bool,
    stop: impl Fn(&mut S),
) -> Result<()> {
    let mut attempt = 1;
    loop {
        match start(server) {
            Err(_) if attempt < PORT_ATTEMPTS && taken(server) => {
                stop(server);
                attempt += 1;
            }
            started => return started,
        }
    }
}

/// Whether the server's `log` (new for each start) says it found its port taken.
pub fn log_says_port_taken(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| text.contains(PORT_TAKEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_drawn_below_the_ephemeral_range_and_apart() {
        let high = ephemeral_low();
        let ports: Vec<u16> = (0..20).map(|_| free_loopback_port().unwrap()).collect();
        if high > LOWEST && high - LOWEST >= FEWEST {
            assert!(
                ports.iter().all(|p| (LOWEST..high).contains(p)),
                "{ports:?} not in {LOWEST}..{high}"
            );
        }
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        // 20 draws from thousands of ports: a repeat or two is chance, all alike is a
        // draw that does not vary.
        assert!(distinct.len() >= 15, "{ports:?}");
    }
}
