//! The soak: hours of a keyring's life compressed into minutes, under faults. Two levels:
//! [`component`], sixteen threads with mysqld's locking through the built component against
//! two real PyKMIP servers (one database, as a cluster) behind fault proxies; and
//! [`mysqld`], a real mysqld in the chroot with encrypted tables, master key rotations,
//! keyring_udf and RELOADs while the servers are killed and restarted. Both take their
//! length and seed from [`Settings`].
//!
//! `scripts/soak.sh [seconds] [seed] [level]` runs both or one; `scripts/test.sh` runs a short
//! one of both.

pub mod component;
mod faults;
pub mod model;
pub mod mysqld;
mod ops;

pub use crate::keyring_model::Xorshift;
use crate::loader::registry;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Each level's length when `KMIP_SOAK_SECONDS` is not set: the short run of
/// `scripts/test.sh`, both levels together about three minutes.
pub const DEFAULT_SECONDS: u64 = 60;

/// Which levels a run runs (`KMIP_SOAK_LEVEL`: `both`, the default, `component` or `mysqld`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Levels {
    /// The component level, then the mysqld level.
    Both,
    /// The component level only.
    Component,
    /// The mysqld level only.
    Mysqld,
}

impl Levels {
    /// Whether the component level runs.
    pub fn component(self) -> bool {
        self != Self::Mysqld
    }

    /// Whether the mysqld level runs.
    pub fn mysqld(self) -> bool {
        self != Self::Component
    }
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long the threads run.
    pub duration: Duration,
    /// Seeds the operation mix and the fault schedule.
    pub seed: u64,
    /// Which levels run.
    pub levels: Levels,
}

impl Settings {
    /// `KMIP_SOAK_SECONDS` (default [`DEFAULT_SECONDS`]), `KMIP_SOAK_SEED` (default: from the
    /// clock, printed so a run can be repeated with the same draws) and `KMIP_SOAK_LEVEL`.
    pub fn from_env() -> Result<Self> {
        let number = |name: &str| -> Result<Option<u64>> {
            std::env::var(name)
                .ok()
                .map(|v| {
                    v.parse()
                        .with_context(|| format!("{name}={v}: not a number"))
                })
                .transpose()
        };
        let seed = number("KMIP_SOAK_SEED")?.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        let levels = match std::env::var("KMIP_SOAK_LEVEL").as_deref() {
            Err(_) | Ok("both") => Levels::Both,
            Ok("component") => Levels::Component,
            Ok("mysqld") => Levels::Mysqld,
            Ok(other) => bail!("KMIP_SOAK_LEVEL={other}: not one of both, component, mysqld"),
        };
        Ok(Self {
            duration: Duration::from_secs(number("KMIP_SOAK_SECONDS")?.unwrap_or(DEFAULT_SECONDS)),
            seed,
            levels,
        })
    }
}

/// Resident memory and open descriptors of this process.
#[derive(Debug, Clone, Copy)]
pub struct Resources {
    /// VmRSS in KiB.
    pub rss_kib: u64,
    /// Entries of /proc/self/fd.
    pub fds: usize,
}

impl Resources {
    pub(crate) fn now() -> Self {
        Self {
            rss_kib: crate::proc_status_kib("VmRSS:"),
            fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        }
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RSS {:.1} MiB, {} descriptors",
            self.rss_kib as f64 / 1024.0,
            self.fds
        )
    }
}

/// The component's log lines, drained so a long run's record does not grow: counted by
/// severity, with one sample of each distinct kind of error.
#[derive(Default)]
pub(crate) struct LogTally {
    pub(crate) by_severity: BTreeMap<i32, u64>,
    pub(crate) samples: BTreeMap<String, String>,
    /// The latest lines, to tell the story of a key a failure names.
    recent: std::collections::VecDeque<String>,
    /// Writes reported failed whose new object the guest could not take back, so the
    /// host kept it (see `takeback_failed`).
    pub(crate) left_on_server: u64,
    /// Such objects the host took back later.
    pub(crate) taken_back: u64,
}

/// How the component says a failed write's new object could not be taken back
/// (guest/core/src/keyring/store.rs): `activating '<data_id>' failed and taking …`.
pub(crate) fn takeback_failed(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("activating '")?;
    let (data_id, tail) = rest.split_once("' failed and taking the new object ")?;
    tail.contains("back failed too").then_some(data_id)
}

/// How many of the latest log lines a [`LogTally`] keeps.
const RECENT_LINES: usize = 20_000;

impl LogTally {
    pub(crate) fn drain(&mut self) {
        for (severity, line) in registry::take_log_lines() {
            *self.by_severity.entry(severity).or_default() += 1;
            if self.recent.len() == RECENT_LINES {
                self.recent.pop_front();
            }
            if takeback_failed(&line).is_some() {
                self.left_on_server += 1;
            }
            if line.starts_with("took back KMIP object ") {
                self.taken_back += 1;
            }
            self.recent.push_back(line.clone());
            if severity == 1 && self.samples.len() < 12 {
                // Kinds differ in their first words; ids and numbers come later.
                let opening: String = line.chars().take(40).collect();
                self.samples.entry(opening).or_insert(line);
            }
        }
    }
}

impl LogTally {
    /// The recent lines that name a key the `failures` name (`("data_id", ...`), and the
    /// lines that name the KMIP objects those lines name: what the component did with it.
    pub(crate) fn story(&self, failures: &str) -> Vec<String> {
        let ids: Vec<String> = failures
            .split("(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(|id| format!("'{id}'"))
            .collect();
        let mut objects: Vec<String> = Vec::new();
        for line in self
            .recent
            .iter()
            .filter(|l| ids.iter().any(|id| l.contains(id)))
        {
            for part in line.split("object ").skip(1) {
                let number: String = part.chars().take_while(char::is_ascii_digit).collect();
                if !number.is_empty() && !objects.contains(&number) {
                    objects.push(number);
                }
            }
        }
        self.recent
            .iter()
            .filter(|l| {
                ids.iter().any(|id| l.contains(id))
                    || objects.iter().any(|o| {
                        l.split("object ").skip(1).any(|part| {
                            part.starts_with(o.as_str())
                                && !part[o.len()..].starts_with(|c: char| c.is_ascii_digit())
                        })
                    })
            })
            .cloned()
            .collect()
    }
}

/// Sleeps `length`, waking early when `stop` is set.
pub(crate) fn nap(length: Duration, stop: &AtomicBool) {
    let until = Instant::now() + length;
    while !stop.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}
