//! The soak's fault schedule: phases of a few seconds, drawn from the seed, each breaking one
//! server's path (or both) in one way, with a healthy phase after each.

use super::{nap, Xorshift};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::pykmip::PyKmip;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// One phase of the schedule.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Healthy,
    /// A fault of the proxy in front of server `0` or `1`.
    Proxy(usize, Fault),
    /// Added latency each way in front of one server, under the deadline: slow, not down.
    Slow(usize),
    /// One server killed with SIGKILL, restarted when the phase ends.
    Kill(usize),
    /// Both servers refuse: every call fails, the component must say so and lose nothing.
    BothRefuse,
    /// Server 0's answers cut while server 1 is killed: the failover target is gone
    /// exactly when the recovery (a state read, an undo) needs it.
    CutWhileOtherKilled,
    /// Server 0 seems to crash after carrying out a request (its path passes this many
    /// answers, cuts the next and refuses from then on) while server 1 is killed: when
    /// the request was an Activate, the new object is left on the server, Active, with
    /// nobody to ask.
    CrashWhileOtherKilled(u32),
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Proxy(_, Fault::Flap) => "flapping connections",
            Phase::Proxy(_, Fault::Delay(_)) => "answers delayed past the deadline",
            Phase::Proxy(_, Fault::Cut) => "answers cut in half",
            Phase::Proxy(_, Fault::Truncate) => "answers truncated, connection stalled",
            Phase::Proxy(_, Fault::Corrupt) => "answers corrupted",
            Phase::Proxy(_, Fault::Refuse) => "connections refused",
            Phase::Proxy(_, Fault::Pass) => "pass",
            Phase::Proxy(_, Fault::CrashAfter(_)) => "server crashed mid-answer",
            Phase::Slow(_) => "slow path (latency under the deadline)",
            Phase::Kill(_) => "server killed and restarted",
            Phase::BothRefuse => "both servers refusing",
            Phase::CutWhileOtherKilled => "answers cut while the other server is killed",
            Phase::CrashWhileOtherKilled(_) => {
                "a server crashed mid-answer while the other is killed"
            }
        }
    }
}

/// Latency each way in a slow phase: well under the soak's deadline.
const SLOW: Duration = Duration::from_millis(150);

/// What the schedule injected, by kind: phases and their total time.
#[derive(Debug, Default)]
pub struct Tally {
    /// Phase name → (count, seconds).
    pub phases: BTreeMap<&'static str, (u64, f64)>,
}

impl Tally {
    /// Fault phases, healthy ones not counted.
    pub fn faults(&self) -> u64 {
        self.phases
            .iter()
            .filter(|(name, _)| **name != "healthy")
            .map(|(_, (n, _))| n)
            .sum()
    }
}

/// Runs phases until `stop`, then heals every path and every server. `deadline` is the
/// component's `kmip_timeout_ms`.
pub fn run(
    servers: &mut [PyKmip; 2],
    proxies: &[FaultProxy; 2],
    seed: u64,
    deadline: Duration,
    stop: &AtomicBool,
) -> Result<Tally> {
    let mut rng = Xorshift::new(seed ^ 0xFA17);
    let mut tally = Tally::default();
    let mut previous_was_fault = true;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let phase = if previous_was_fault {
            Phase::Healthy
        } else {
            draw(&mut rng, deadline)
        };
        previous_was_fault = !matches!(phase, Phase::Healthy);
        let length = Duration::from_millis(1000 + rng.below(3000) as u64);
        apply(phase, servers, proxies);
        nap(length, stop);
        heal(phase, servers, proxies).with_context(|| format!("ending phase {phase:?}"))?;
        let entry = tally.phases.entry(phase.name()).or_default();
        entry.0 += 1;
        entry.1 += length.as_secs_f64();
    }
    Ok(tally)
}

fn draw(rng: &mut Xorshift, deadline: Duration) -> Phase {
    let which = rng.below(2);
    match rng.below(11) {
        0 => Phase::Proxy(which, Fault::Flap),
        1 => Phase::Proxy(which, Fault::Delay(deadline + Duration::from_millis(700))),
        2 => Phase::Proxy(which, Fault::Cut),
        3 => Phase::Proxy(which, Fault::Truncate),
        4 => Phase::Proxy(which, Fault::Corrupt),
        5 => Phase::Proxy(which, Fault::Refuse),
        6 => Phase::Slow(which),
        7 => Phase::Kill(which),
        8 => Phase::BothRefuse,
        9 => Phase::CutWhileOtherKilled,
        _ => Phase::CrashWhileOtherKilled(rng.below(4) as u32),
    }
}

fn apply(phase: Phase, servers: &mut [PyKmip; 2], proxies: &[FaultProxy; 2]) {
    match phase {
        Phase::Healthy => {}
        Phase::Proxy(i, fault) => proxies[i].set_fault(fault),
        Phase::Slow(i) => proxies[i].set_latency(SLOW),
        Phase::Kill(i) => servers[i].kill(),
        Phase::BothRefuse => proxies.iter().for_each(|p| p.set_fault(Fault::Refuse)),
        Phase::CutWhileOtherKilled => {
            proxies[0].set_fault(Fault::Cut);
            servers[1].kill();
        }
        Phase::CrashWhileOtherKilled(answers) => {
            proxies[0].set_fault(Fault::CrashAfter(answers));
            servers[1].kill();
        }
    }
}

/// Every path back to passing, every killed server restarted (same port, same database).
fn heal(phase: Phase, servers: &mut [PyKmip; 2], proxies: &[FaultProxy; 2]) -> Result<()> {
    for proxy in proxies {
        proxy.set_fault(Fault::Pass);
        proxy.set_latency(Duration::ZERO);
    }
    let killed = match phase {
        Phase::Kill(i) => Some(i),
        Phase::CutWhileOtherKilled | Phase::CrashWhileOtherKilled(_) => Some(1),
        _ => None,
    };
    if let Some(i) = killed {
        servers[i]
            .restart()
            .with_context(|| format!("restarting server {i}: {}", servers[i].log_tail()))?;
    }
    Ok(())
}
