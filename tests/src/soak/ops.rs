//! The soak's operations through the component's C services, with mysqld's keyring locking
//! (readers shared, writers and RELOAD exclusive), each checked against the model at once.

use super::model::Model;
use super::Xorshift;
use crate::keyring_model::{
    aes_round_trip, component_contents, material, owner, read_generated, Expected, Id,
};
use crate::loader::LoadedComponent;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// The kinds of operation, for counts and latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A read of a live key, byte for byte.
    Fetch,
    /// A read of a key that must be absent (removed, or its write failed).
    FetchAbsent,
    /// An iterator walk, then a read of every key it listed, under one read lock.
    Walk,
    /// The status rows.
    Metadata,
    /// An AES round trip through the component's `keyring_aes`.
    Aes,
    /// `keyring_writer.store`.
    Store,
    /// `keyring_generator.generate`.
    Generate,
    /// `keyring_writer.remove`.
    Remove,
    /// `keyring_load.load` (ALTER INSTANCE RELOAD KEYRING).
    Reload,
}

/// Every kind, in report order.
pub const KINDS: [Kind; 9] = [
    Kind::Fetch,
    Kind::FetchAbsent,
    Kind::Walk,
    Kind::Metadata,
    Kind::Aes,
    Kind::Store,
    Kind::Generate,
    Kind::Remove,
    Kind::Reload,
];

impl Kind {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Fetch => "fetch",
            Kind::FetchAbsent => "fetch absent",
            Kind::Walk => "iterator walk",
            Kind::Metadata => "status rows",
            Kind::Aes => "aes round trip",
            Kind::Store => "store",
            Kind::Generate => "generate",
            Kind::Remove => "remove",
            Kind::Reload => "reload",
        }
    }

    fn index(self) -> usize {
        KINDS.iter().position(|k| *k == self).expect("listed")
    }
}

/// Per kind: calls the component answered yes, calls it answered no, the slowest call.
#[derive(Default)]
pub struct Tallies {
    done: [AtomicU64; KINDS.len()],
    failed: [AtomicU64; KINDS.len()],
    slowest_micros: [AtomicU64; KINDS.len()],
}

impl Tallies {
    /// (done, failed, slowest in ms) of `kind`.
    pub fn of(&self, kind: Kind) -> (u64, u64, f64) {
        let i = kind.index();
        (
            self.done[i].load(Ordering::Relaxed),
            self.failed[i].load(Ordering::Relaxed),
            self.slowest_micros[i].load(Ordering::Relaxed) as f64 / 1000.0,
        )
    }

    fn count(&self, kind: Kind, ok: bool, started: Instant) {
        let i = kind.index();
        let slot = if ok { &self.done[i] } else { &self.failed[i] };
        slot.fetch_add(1, Ordering::Relaxed);
        let micros = started.elapsed().as_micros() as u64;
        self.slowest_micros[i].fetch_max(micros, Ordering::Relaxed);
    }
}

/// The key count writers steer towards (removing more above it, less below), so a load
/// stays a second or so against PyKMIP however long the soak runs: a server's keyring
/// holds a few hundred keys, not an ever-growing pile.
pub const LIVE_TARGET: usize = 300;

/// What every thread shares.
pub struct Shared<'a> {
    /// The component under test.
    pub c: &'a LoadedComponent,
    /// mysqld's keyring lock.
    lock: RwLock<()>,
    model: Mutex<Model>,
    /// Counts and latencies.
    pub tallies: Tallies,
    /// Set at the deadline or at the first failure.
    pub stop: AtomicBool,
    failures: Mutex<Vec<String>>,
    /// When each thread's call in flight started (ms since `epoch`, 0 when idle): the
    /// watchdog's evidence that no call hangs.
    in_flight: Vec<AtomicU64>,
    epoch: Instant,
    /// Reads of a key listed by a walk that were checked.
    pub walked_reads: AtomicU64,
}

fn relock<T>(r: std::sync::LockResult<T>) -> T {
    r.unwrap_or_else(|e| e.into_inner())
}

impl<'a> Shared<'a> {
    /// For `threads` threads (the reloader included), starting from `model`.
    pub fn new(c: &'a LoadedComponent, model: Model, threads: usize) -> Self {
        Self {
            c,
            lock: RwLock::new(()),
            model: Mutex::new(model),
            tallies: Tallies::default(),
            stop: AtomicBool::new(false),
            failures: Mutex::new(Vec::new()),
            in_flight: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
            walked_reads: AtomicU64::new(0),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, ()> {
        relock(self.lock.read())
    }

    /// The write lock, as mysqld takes it for a write or a RELOAD.
    pub fn write(&self) -> RwLockWriteGuard<'_, ()> {
        relock(self.lock.write())
    }

    /// The model (take it under the keyring lock).
    pub fn model(&self) -> MutexGuard<'_, Model> {
        relock(self.model.lock())
    }

    /// Records a failure and stops every thread.
    pub fn fail(&self, message: String) {
        self.stop.store(true, Ordering::SeqCst);
        relock(self.failures.lock()).push(message);
    }

    /// The failures so far.
    pub fn failures(&self) -> Vec<String> {
        relock(self.failures.lock()).clone()
    }

    /// The oldest call still in flight: (thread, how long).
    pub fn longest_in_flight(&self) -> Option<(usize, std::time::Duration)> {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.in_flight
            .iter()
            .enumerate()
            .filter_map(|(t, s)| {
                let since = s.load(Ordering::SeqCst);
                (since != 0).then(|| {
                    (
                        t,
                        std::time::Duration::from_millis(now.saturating_sub(since)),
                    )
                })
            })
            .max_by_key(|(_, d)| *d)
    }

    /// Runs one call of thread `tid`, visible to the watchdog while it runs.
    fn timed<T>(&self, tid: usize, kind: Kind, call: impl FnOnce() -> (bool, T)) -> T {
        let started = Instant::now();
        let since = (started - self.epoch).as_millis() as u64 + 1;
        self.in_flight[tid].store(since, Ordering::SeqCst);
        let (ok, out) = call();
        self.in_flight[tid].store(0, Ordering::SeqCst);
        self.tallies.count(kind, ok, started);
        out
    }

    /// Reads a key as MySQL's `read_secret` does and compares every byte and the type.
    fn check_read(&self, id: &Id, want: Option<&Expected>) -> Result<(), String> {
        let got = self
            .c
            .read_secret(&id.0, owner(&id.1))
            .map_err(|e| format!("read {id:?}: {e}"))?;
        let got = got.map(|(data, key_type)| Expected { key_type, data });
        if got.as_ref() != want {
            return Err(format!(
                "read {id:?}: got {}, expected {}",
                describe(got.as_ref()),
                describe(want)
            ));
        }
        Ok(())
    }
}

fn describe(key: Option<&Expected>) -> String {
    key.map_or_else(
        || "no key".to_owned(),
        |k| {
            format!(
                "{} of {} bytes (sha256 {})",
                k.key_type,
                k.data.len(),
                crate::sha256_hex(&k.data)
            )
        },
    )
}

fn nth<K: Clone, I: Iterator<Item = K>>(mut items: I, len: usize, rng: &mut Xorshift) -> Option<K> {
    (len > 0).then(|| items.nth(rng.below(len))).flatten()
}

/// Reads a reader makes between two pauses of [`READER_PAUSE`].
const READS_PER_PAUSE: u32 = 16;
/// A reader's pause: twelve readers spinning would take both cores from the KMIP servers,
/// which then answer writes too late for the fault schedule's deadline to mean anything.
const READER_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);

/// A reader thread: fetches, absent fetches, walks, status rows and AES round trips.
pub fn reader(s: &Shared, tid: usize, seed: u64) {
    let mut rng = Xorshift::new(seed);
    let mut reads = 0u32;
    while !s.stop.load(Ordering::Relaxed) {
        reads += 1;
        if reads % READS_PER_PAUSE == 0 {
            std::thread::sleep(READER_PAUSE);
        }
        let result = match rng.below(100) {
            0..=79 => fetch(s, tid, &mut rng),
            80..=87 => fetch_absent(s, tid, &mut rng),
            88..=89 => walk(s, tid),
            90..=92 => metadata(s, tid),
            _ => aes(s, tid, &mut rng),
        };
        if let Err(e) = result {
            s.fail(format!("reader {tid}: {e}"));
        }
    }
}

fn fetch(s: &Shared, tid: usize, rng: &mut Xorshift) -> Result<(), String> {
    let _r = s.read();
    let picked = {
        let model = s.model();
        nth(model.live.iter(), model.live.len(), rng).map(|(k, v)| (k.clone(), v.clone()))
    };
    let Some((id, want)) = picked else {
        return Ok(());
    };
    s.timed(tid, Kind::Fetch, || {
        let r = s.check_read(&id, Some(&want));
        (r.is_ok(), r)
    })
}

fn fetch_absent(s: &Shared, tid: usize, rng: &mut Xorshift) -> Result<(), String> {
    let _r = s.read();
    let picked = {
        let model = s.model();
        let absent = if rng.below(2) == 0 {
            &model.removed
        } else {
            &model.failed
        };
        absent.pick(|len| rng.below(len)).cloned()
    };
    let Some(id) = picked else {
        return Ok(());
    };
    s.timed(tid, Kind::FetchAbsent, || {
        let r = s.check_read(&id, None);
        (r.is_ok(), r)
    })
}

/// As mysql_migrate_keyring walks: the iterator's list, then each key read, all under one
/// read lock, so the list must be the model's exactly and every byte must match.
fn walk(s: &Shared, tid: usize) -> Result<(), String> {
    let _r = s.read();
    let live = s.model().live.clone();
    let contents = s.timed(tid, Kind::Walk, || {
        let r = component_contents(s.c).map_err(|e| format!("walk: {e:#}"));
        (r.is_ok(), r)
    })?;
    s.walked_reads
        .fetch_add(contents.len() as u64, Ordering::Relaxed);
    let model = s.model();
    if contents != live {
        return Err(model
            .differences("a walk under the read lock", &contents)
            .err()
            .unwrap_or_else(|| "a walk differs from the model".into()));
    }
    Ok(())
}

fn metadata(s: &Shared, tid: usize) -> Result<(), String> {
    let _r = s.read();
    let rows = s.timed(tid, Kind::Metadata, || {
        let r = s.c.status_rows().map_err(|e| format!("status rows: {e:#}"));
        (r.is_ok(), r)
    })?;
    match rows.iter().find(|(k, _)| k == "Component_status") {
        Some((_, v)) if v == "Active" => Ok(()),
        other => Err(format!("Component_status is {other:?}")),
    }
}

fn aes(s: &Shared, tid: usize, rng: &mut Xorshift) -> Result<(), String> {
    let _r = s.read();
    let picked = {
        let model = s.model();
        let aes: Vec<&Id> = model
            .live
            .iter()
            .filter(|(_, v)| v.key_type == "AES")
            .map(|(k, _)| k)
            .collect();
        nth(aes.iter(), aes.len(), rng).map(|id| (*id).clone())
    };
    let Some(id) = picked else {
        return Ok(());
    };
    let iv = [tid as u8; 16];
    let plain = format!("reader {tid} block {}", rng.next_u64()).into_bytes();
    s.timed(tid, Kind::Aes, || {
        let r = aes_round_trip(s.c, &id, &iv, &plain);
        (r.is_ok(), r)
    })
}

/// A writer's pause between two writes. Writers that queue back to back hold mysqld's
/// writer-preferring lock nearly all the time and starve every reader; a server's keyring
/// sees far more reads than writes.
const WRITER_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// A writer thread: stores, generates and removes, each under the write lock; a write the
/// component reports failed must leave nothing behind, a failed remove must leave the key.
pub fn writer(s: &Shared, tid: usize, seed: u64) {
    let mut rng = Xorshift::new(seed);
    let mut created = 0usize;
    while !s.stop.load(Ordering::Relaxed) {
        std::thread::sleep(WRITER_PAUSE);
        let live = s.model().live.len();
        // Removal more likely above the target, less below: the population hovers there.
        let remove_percent = if live > LIVE_TARGET { 60 } else { 25 };
        let roll = rng.below(100);
        let result = if roll < remove_percent {
            remove(s, tid, &mut rng)
        } else {
            created += 1;
            let data_id = format!("w{tid}-{created}");
            // Every other key has an owner, as keyring_udf keys do.
            let auth_id = if rng.below(2) == 0 {
                format!("user{tid}@%")
            } else {
                String::new()
            };
            let id = (data_id, auth_id);
            if roll % 3 == 0 {
                generate(s, tid, id, &mut rng)
            } else {
                store(s, tid, id)
            }
        };
        if let Err(e) = result {
            s.fail(format!("writer {tid}: {e}"));
        }
    }
}

fn store(s: &Shared, tid: usize, id: Id) -> Result<(), String> {
    let want = material(&id.0);
    let _w = s.write();
    let ok = s.timed(tid, Kind::Store, || {
        let ok = s.c.store(&id.0, owner(&id.1), &want.data, &want.key_type);
        (ok, ok)
    });
    if ok {
        s.model().live.insert(id, want);
    } else {
        s.check_read(&id, None)
            .map_err(|e| format!("after a store reported failed: {e}"))?;
        s.model().failed.insert(id);
    }
    Ok(())
}

fn generate(s: &Shared, tid: usize, id: Id, rng: &mut Xorshift) -> Result<(), String> {
    let (key_type, size) = if rng.below(2) == 0 {
        ("AES", [16, 24, 32][rng.below(3)])
    } else {
        ("SECRET", 1 + rng.below(64))
    };
    let _w = s.write();
    let ok = s.timed(tid, Kind::Generate, || {
        let ok = s.c.generate(&id.0, owner(&id.1), key_type, size);
        (ok, ok)
    });
    if !ok {
        s.check_read(&id, None)
            .map_err(|e| format!("after a generate reported failed: {e}"))?;
        let mut model = s.model();
        model.failed.insert(id);
        return Ok(());
    }
    // The bytes are random: learn them while still holding the write lock, so no reader
    // can pick the key before the model knows what it must read.
    let generated = read_generated(s.c, &id, key_type, size)?;
    s.model().live.insert(id, generated);
    Ok(())
}

fn remove(s: &Shared, tid: usize, rng: &mut Xorshift) -> Result<(), String> {
    let _w = s.write();
    let picked = {
        let model = s.model();
        nth(model.live.iter(), model.live.len(), rng).map(|(k, v)| (k.clone(), v.clone()))
    };
    let Some((id, want)) = picked else {
        return Ok(());
    };
    let ok = s.timed(tid, Kind::Remove, || {
        let ok = s.c.remove(&id.0, owner(&id.1));
        (ok, ok)
    });
    let mut model = s.model();
    if ok {
        s.check_read(&id, None)
            .map_err(|e| format!("after a remove reported done: {e}"))?;
        model.live.remove(&id);
        model.doubtful.remove(&id);
        model.removed.insert(id);
    } else {
        // Reported failed: the cache keeps the key, byte for byte.
        s.check_read(&id, Some(&want))
            .map_err(|e| format!("after a remove reported failed: {e}"))?;
        model.doubtful.insert(id);
    }
    Ok(())
}

/// One RELOAD under the write lock, as ALTER INSTANCE RELOAD KEYRING: when it succeeds the
/// component's whole contents must be the model's (doubtful removes decided first); when it
/// fails the previous keyring stays, which the readers go on checking.
pub fn reload(s: &Shared, tid: usize, plugin_dir: &str, data_dir: &str) -> Result<bool, String> {
    let _w = s.write();
    let ok = s.timed(tid, Kind::Reload, || {
        let ok = s.c.keyring_load(plugin_dir, data_dir);
        (ok, ok)
    });
    let contents = component_contents(s.c).map_err(|e| format!("after a reload: {e:#}"))?;
    let mut model = s.model();
    if ok {
        model
            .reconcile(&contents)
            .map_err(|e| format!("after a reload that succeeded:\n{e}"))?;
    } else {
        model
            .differences("the keyring kept after a reload that failed", &contents)
            .map_err(|e| format!("after a reload that failed:\n{e}"))?;
    }
    Ok(ok)
}
