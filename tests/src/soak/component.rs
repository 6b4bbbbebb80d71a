//! The component-level soak: sixteen threads with mysqld's locking drive the built component
//! against two real PyKMIP servers (one database, as a cluster) behind fault proxies, with
//! RELOADs every few seconds and a fault schedule drawn from the seed; then the cache, the
//! server (read by PyKMIP's own client) and the process's memory and descriptors are checked.

use super::faults;
use super::model::{self, Model};
use super::ops::{self, Kind, Shared, KINDS};
use super::{LogTally, Resources, Settings};
use crate::fault_proxy::FaultProxy;
use crate::install::Install;
use crate::keyring_model::prestore;
use crate::loader::{registry, LoadedComponent};
use crate::pykmip::PyKmip;
use anyhow::{bail, ensure, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Reader threads (fetches, walks, status rows, AES).
const READERS: usize = 12;
/// Writer threads (store, generate, remove): with the readers, mysqld's sixteen sessions.
const WRITERS: usize = 4;
/// The component's `kmip_timeout_ms`: short, so faults past it are cheap to inject.
const DEADLINE: Duration = Duration::from_millis(1000);
/// ALTER INSTANCE RELOAD KEYRING this often.
const RELOAD_EVERY: Duration = Duration::from_secs(4);
/// A call still running after this long is a hang: the component's own bound for one call
/// is the deadline per step and server, a few seconds; this is far past any of them.
const HANG: Duration = Duration::from_secs(60);
/// The Object Group of the soak's keys.
const GROUP: &str = "soak";
/// Keys stored before the threads start.
const PRESTORED: usize = 100;
/// The share of the run after which memory and descriptors are taken as warmed up.
const WARM_UP_SHARE: u32 = 5;
/// How far descriptors may be above the warmed-up count at the end: connections the
/// component keeps per server, and the proxies' sockets for them.
const FD_SLACK: usize = 16;
/// How long the fault schedule may take to end its phase and heal every path (a server
/// restart included) once told to stop.
const SCHEDULE_END: Duration = Duration::from_secs(30);
/// How far resident memory may be above the warmed-up figure at the end, in KiB: the
/// allocator's and the guest's high-water marks move a little with the key population; a
/// leak of even 64 bytes per read grows past this within a long run's reads.
const RSS_SLACK_KIB: u64 = 32 * 1024;
/// How many times over a run resident memory and descriptors are sampled for the report's
/// timeline, evenly spaced: a leak shows as a rising line, a high-water mark as a flat one.
const SAMPLES: u32 = 10;

/// What a run did and found.
pub struct Report {
    settings: Settings,
    elapsed: Duration,
    /// (kind, done, failed, slowest ms).
    calls: Vec<(Kind, u64, u64, f64)>,
    walked_reads: u64,
    faults: faults::Tally,
    doubtful_gone: u64,
    left_on_server: u64,
    taken_back: u64,
    leftovers: usize,
    keys_at_end: usize,
    removed: u64,
    failed_writes: u64,
    resources: [(&'static str, Resources); 3],
    /// [`SAMPLES`] readings, by time since the start.
    timeline: Vec<(Duration, Resources)>,
    /// Severity → lines the component logged (0 System, 1 Error, 2 Warning, 3 Note).
    log_lines: BTreeMap<i32, u64>,
    /// A few of the error lines, one per distinct opening.
    error_samples: Vec<String>,
}

impl Report {
    /// Fetches (single reads and the reads of walks) and walks.
    pub fn reads(&self) -> u64 {
        self.count(Kind::Fetch) + self.count(Kind::FetchAbsent) + self.walked_reads
    }

    /// Store, generate and remove calls, answered either way.
    pub fn writes(&self) -> u64 {
        [Kind::Store, Kind::Generate, Kind::Remove]
            .into_iter()
            .map(|k| self.all(k))
            .sum()
    }

    fn entry(&self, kind: Kind) -> (u64, u64) {
        self.calls
            .iter()
            .find(|c| c.0 == kind)
            .map_or((0, 0), |c| (c.1, c.2))
    }

    fn count(&self, kind: Kind) -> u64 {
        self.entry(kind).0
    }

    fn all(&self, kind: Kind) -> u64 {
        let (done, failed) = self.entry(kind);
        done + failed
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        writeln!(
            f,
            "soak: {:.0?} (asked {:?}), seed {} (KMIP_SOAK_SEED={} draws the same mix and \
             schedule), {READERS} readers + {WRITERS} writers, 2 PyKMIP servers behind fault \
             proxies, deadline {DEADLINE:?}",
            self.elapsed, s.duration, s.seed, s.seed
        )?;
        writeln!(
            f,
            "  {:<16} {:>10} {:>8} {:>12}",
            "call", "done", "failed", "slowest ms"
        )?;
        for (kind, done, failed, slowest) in &self.calls {
            writeln!(
                f,
                "  {:<16} {done:>10} {failed:>8} {slowest:>12.1}",
                kind.name()
            )?;
        }
        writeln!(
            f,
            "  reads: {} (fetches and every key of {} walks); writes: {} ({} reported failed \
             and absent at the end)",
            self.reads(),
            self.count(Kind::Walk),
            self.writes(),
            self.failed_writes
        )?;
        writeln!(
            f,
            "  removes reported failed that had taken effect on the server (decided by the \
             next load): {}; PreActive leftovers on the server: {}",
            self.doubtful_gone, self.leftovers
        )?;
        writeln!(
            f,
            "  writes reported failed whose object was left on the server (Activate's answer \
             lost, no server left to take it back): {}, every one kept out of the loads and \
             taken back later ({})",
            self.left_on_server, self.taken_back
        )?;
        writeln!(
            f,
            "  keys at the end: {} (cache = model = PyKMIP's own client's view, byte for \
             byte); {} removed during the run",
            self.keys_at_end, self.removed
        )?;
        writeln!(f, "  faults injected: {} phases", self.faults.faults())?;
        for (name, (n, secs)) in &self.faults.phases {
            writeln!(f, "    {name:<54} {n:>5} x, {secs:>7.1} s")?;
        }
        for (when, r) in &self.resources {
            writeln!(f, "  {when:<16} {r}")?;
        }
        let over_time = |pick: &dyn Fn(&Resources) -> String| -> String {
            self.timeline
                .iter()
                .map(|(at, r)| format!("{} ({:.0}s)", pick(r), at.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "  RSS MiB over the run: {}",
            over_time(&|r| format!("{:.1}", r.rss_kib as f64 / 1024.0))
        )?;
        writeln!(
            f,
            "  descriptors over the run: {}",
            over_time(&|r| r.fds.to_string())
        )?;
        let severity = |n: i32| match n {
            0 => "System",
            1 => "Error",
            2 => "Warning",
            3 => "Note",
            _ => "other",
        };
        let lines: Vec<String> = self
            .log_lines
            .iter()
            .map(|(s, n)| format!("{n} {}", severity(*s)))
            .collect();
        writeln!(f, "  error log: {}", lines.join(", "))?;
        for sample in &self.error_samples {
            writeln!(f, "    e.g. {sample}")?;
        }
        Ok(())
    }
}

/// Runs the soak; `Err` names every check that failed.
pub fn run(settings: &Settings) -> Result<Report> {
    let first = PyKmip::start()?;
    let second = PyKmip::start_sharing(&first)?;
    let mut servers = [first, second];
    let proxies = [
        FaultProxy::start(format!("127.0.0.1:{}", servers[0].port).parse()?)?,
        FaultProxy::start(format!("127.0.0.1:{}", servers[1].port).parse()?)?,
    ];
    let install = Install::new(&servers[0], Some(GROUP))?;
    let mut config = servers[0].config_json(Some(GROUP));
    config["server_addr"] = serde_json::json!(proxies
        .iter()
        .map(|p| format!("127.0.0.1:{}", p.port()))
        .collect::<Vec<_>>());
    config["kmip_timeout_ms"] = (DEADLINE.as_millis() as u64).into();
    install.write_config(&config.to_string())?;
    let plugin_dir = format!("{}/", install.plugin_dir.display());
    let data_dir = format!("{}/", install.data_dir.display());
    let (c, loaded) =
        LoadedComponent::start(&install.mysqld, &install.plugin_dir, &install.data_dir)?;
    ensure!(loaded, "the first load failed: {:?}", registry::log_lines());

    let model = Model {
        live: prestore(&c, PRESTORED)?,
        ..Model::default()
    };
    let mut log = LogTally::default();
    log.drain();
    let start = Resources::now();

    let reloader = READERS + WRITERS;
    let shared = Shared::new(&c, model, reloader + 1);
    let started = Instant::now();
    let warm_up_at = settings.duration / WARM_UP_SHARE;
    let mut warm = None;
    let sample_every = settings.duration / SAMPLES;
    let mut timeline: Vec<(Duration, Resources)> = Vec::new();
    let faults = std::thread::scope(|scope| -> Result<faults::Tally> {
        let s = &shared;
        for tid in 0..READERS {
            let seed = settings.seed.wrapping_add(tid as u64);
            scope.spawn(move || ops::reader(s, tid, seed));
        }
        for tid in READERS..READERS + WRITERS {
            let seed = settings.seed.wrapping_add(tid as u64);
            scope.spawn(move || ops::writer(s, tid, seed));
        }
        let servers = &mut servers;
        let proxies = &proxies;
        let seed = settings.seed;
        // The servers come back when the schedule ends, so a hang can still stop them.
        let fault_thread = scope.spawn(move || {
            let tally = faults::run(servers, proxies, seed, DEADLINE, &s.stop);
            if tally.is_err() {
                s.stop.store(true, Ordering::SeqCst);
            }
            (tally, servers)
        });
        // This thread: the RELOADs, the warm-up snapshot, the watchdog, the log.
        let mut next_reload = Instant::now() + RELOAD_EVERY;
        while !s.stop.load(Ordering::SeqCst) && started.elapsed() < settings.duration {
            std::thread::sleep(Duration::from_millis(100));
            if let Some((tid, running)) = s.longest_in_flight().filter(|(_, d)| *d > HANG) {
                // A hung call cannot be interrupted and its thread cannot be joined: say so,
                // stop the servers by PID (they run in process groups of their own, which
                // outlive this process) once the schedule has ended, and end the process.
                eprintln!("soak: thread {tid}'s call has not returned after {running:?}: a hang");
                s.stop.store(true, Ordering::SeqCst);
                let waited = Instant::now();
                while !fault_thread.is_finished() && waited.elapsed() < SCHEDULE_END {
                    std::thread::sleep(Duration::from_millis(100));
                }
                match fault_thread.is_finished().then(|| fault_thread.join()) {
                    Some(Ok((_, servers))) => servers.iter_mut().for_each(PyKmip::stop),
                    _ => eprintln!(
                        "soak: the fault schedule did not end within {SCHEDULE_END:?}; its \
                         PyKMIP servers may still run"
                    ),
                }
                std::process::exit(101);
            }
            if warm.is_none() && started.elapsed() >= warm_up_at {
                warm = Some(Resources::now());
            }
            let at = started.elapsed();
            if at >= sample_every * (timeline.len() as u32 + 1) {
                timeline.push((at, Resources::now()));
            }
            if Instant::now() >= next_reload {
                log.drain();
                if let Err(e) = ops::reload(s, reloader, &plugin_dir, &data_dir) {
                    s.fail(format!("reload: {e}"));
                }
                next_reload = Instant::now() + RELOAD_EVERY;
            }
            log.drain();
        }
        s.stop.store(true, Ordering::SeqCst);
        fault_thread
            .join()
            .map_err(|_| anyhow::anyhow!("the fault thread panicked"))?
            .0
    })?;
    let elapsed = started.elapsed();
    log.drain();
    let failures = shared.failures();
    if !failures.is_empty() {
        bail!(
            "the soak failed after {elapsed:.0?} (seed {}):\n{}\nwhat the component logged of \
             those keys:\n{}\nerror lines: {:#?}",
            settings.seed,
            failures.join("\n"),
            log.story(&failures.join("\n")).join("\n"),
            log.samples.values().collect::<Vec<_>>()
        );
    }

    // Every path healthy again: the next load must succeed (a restarted PyKMIP may need a
    // moment) and agree with the model.
    let mut reloaded = false;
    for _ in 0..5 {
        reloaded = ops::reload(&shared, reloader, &plugin_dir, &data_dir)
            .map_err(|e| anyhow::anyhow!("the final reload: {e}"))?;
        if reloaded {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    log.drain();
    ensure!(
        reloaded,
        "no reload succeeded after the faults ended: {:?}",
        log.samples
    );
    let model = shared.model();
    // The server, as PyKMIP's own client reads it, holds exactly the model's keys.
    let dump = servers[0].witness(&["dump"])?;
    let (witnessed, leftovers) = model::witnessed_keys(&dump, GROUP).map_err(anyhow::Error::msg)?;
    if let Err(e) = model.differences("the server (PyKMIP's own client)", &witnessed) {
        bail!("the server disagrees with what the component reported:\n{e}");
    }
    ensure!(
        log.taken_back == log.left_on_server,
        "{} objects were left on the server by writes reported failed, but {} were taken \
         back by the end",
        log.left_on_server,
        log.taken_back
    );
    let end = Resources::now();
    let warm = warm.unwrap_or(start);
    ensure!(
        end.fds <= warm.fds + FD_SLACK,
        "open descriptors did not level off: {} after warm-up, {} at the end",
        warm.fds,
        end.fds
    );
    ensure!(
        end.rss_kib <= warm.rss_kib + RSS_SLACK_KIB,
        "resident memory did not level off: {warm} after warm-up, {end} at the end"
    );
    let report = Report {
        settings: *settings,
        elapsed,
        calls: KINDS
            .iter()
            .map(|k| {
                let (done, failed, slowest) = shared.tallies.of(*k);
                (*k, done, failed, slowest)
            })
            .collect(),
        walked_reads: shared.walked_reads.load(Ordering::Relaxed),
        faults,
        doubtful_gone: model.doubtful_gone,
        left_on_server: log.left_on_server,
        taken_back: log.taken_back,
        leftovers,
        keys_at_end: model.live.len(),
        removed: model.removed.total(),
        failed_writes: model.failed.total(),
        resources: [("start", start), ("after warm-up", warm), ("end", end)],
        timeline,
        log_lines: log.by_severity.clone(),
        error_samples: log.samples.values().cloned().collect(),
    };
    drop(model);
    c.shutdown()?;
    Ok(report)
}
