//! Sixteen threads drive the built component through its C services, with mysqld's keyring
//! locking (readers shared, writers exclusive), against one real PyKMIP server; a model of the
//! expected keys checks every answer, the final key list, and a fresh load.

use anyhow::{ensure, Result};
use component_keyring_kmip::{Keyring, LogSink, MemoryLog};
use kmip_keyring_tests::install::Install;
use kmip_keyring_tests::keyring_model::{
    aes_round_trip, component_contents, ids, material, owner, prestore, read_generated, Expected,
    Id, Xorshift,
};
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// Threads calling the component at once (mysqld sessions).
const THREADS: usize = 16;
/// Operations per thread. About a third are writes, each a few KMIP round trips of 5-10 ms
/// on PyKMIP, serialised by the write lock: the threads take about 6 s and the whole test
/// (server start, fresh load, reload) about 20 s on two cores, so a machine several times
/// slower still stays within 90 s.
const ITERATIONS: usize = 100;
/// Keys stored before the threads start, so readers have something to read at once.
const PRESTORED: usize = 20;
/// The Object Group of this test's keys.
const GROUP: &str = "stress";

/// The test's view of the keyring. Changed only under the write lock, right after the
/// component's call succeeded, so whoever holds the read lock sees the model and the
/// component agree.
#[derive(Default)]
struct Model {
    live: BTreeMap<Id, Expected>,
    /// Names are never reused, so a key once removed stays absent for the whole run.
    removed: BTreeSet<Id>,
}

#[derive(Clone, Copy)]
enum Op {
    Fetch,
    FetchRemoved,
    Iterate,
    Metadata,
    Aes,
    Store,
    Generate,
    Remove,
}

const OPS: [(Op, &str); 8] = [
    (Op::Fetch, "fetch"),
    (Op::FetchRemoved, "fetch-removed"),
    (Op::Iterate, "iterate"),
    (Op::Metadata, "metadata"),
    (Op::Aes, "aes"),
    (Op::Store, "store"),
    (Op::Generate, "generate"),
    (Op::Remove, "remove"),
];

/// The mix, in percent: mostly reads, as a server's keyring sees it.
fn pick(rng: &mut Xorshift) -> Op {
    match rng.below(100) {
        0..=47 => Op::Fetch,
        48..=51 => Op::FetchRemoved,
        52..=59 => Op::Iterate,
        60..=63 => Op::Metadata,
        64..=69 => Op::Aes,
        70..=81 => Op::Store,
        82..=90 => Op::Generate,
        _ => Op::Remove,
    }
}

struct Shared<'a> {
    c: &'a LoadedComponent,
    /// mysqld's keyring lock: readers share it, writers hold it alone.
    lock: RwLock<()>,
    model: Mutex<Model>,
    /// Completed operations per kind (index as in `OPS`).
    counts: [AtomicUsize; 8],
    /// Listed by an iterator, then removed by another thread before the re-read: proves
    /// the lenient branch of the iterator check actually ran.
    listed_then_removed: AtomicUsize,
    failures: Mutex<Vec<String>>,
    /// Set at the first failure so the other threads stop instead of piling up
    /// consequences of one fault.
    stop: AtomicBool,
}

impl Shared<'_> {
    fn read(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, ()> {
        self.lock.write().unwrap_or_else(|e| e.into_inner())
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, message: String) {
        self.stop.store(true, Ordering::SeqCst);
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
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
                "read {id:?}: got {:?}, expected {:?}",
                got.map(|g| (g.key_type, kmip_keyring_tests::sha256_hex(&g.data))),
                want.map(|w| (w.key_type.clone(), kmip_keyring_tests::sha256_hex(&w.data))),
            ));
        }
        Ok(())
    }
}

/// One thread's state: its random stream and the keys it created and may remove.
struct Worker {
    tid: usize,
    rng: Xorshift,
    created: usize,
    own: Vec<Id>,
}

impl Worker {
    fn new_id(&mut self, kind: char) -> Id {
        self.created += 1;
        let data_id = format!("t{:02}-{kind}{}", self.tid, self.created);
        // Every other key has an owner, as keyring_udf keys do; the owner is part of the
        // identity, so both shapes must survive the run.
        let auth_id = if self.rng.below(2) == 0 {
            format!("user{}@%", self.tid)
        } else {
            String::new()
        };
        (data_id, auth_id)
    }

    fn run(&mut self, s: &Shared, op: Op) -> Result<(), String> {
        match op {
            Op::Fetch => {
                let _r = s.read();
                let picked = {
                    let model = s.model();
                    let n = self.rng.below(model.live.len().max(1));
                    model
                        .live
                        .iter()
                        .nth(n)
                        .map(|(k, v)| (k.clone(), v.clone()))
                };
                if let Some((id, want)) = picked {
                    // Writers are excluded while we hold the read lock: the key is there.
                    s.check_read(&id, Some(&want))?;
                }
            }
            Op::FetchRemoved => {
                let _r = s.read();
                let picked = {
                    let model = s.model();
                    let n = self.rng.below(model.removed.len().max(1));
                    model.removed.iter().nth(n).cloned()
                };
                if let Some(id) = picked {
                    s.check_read(&id, None)?;
                }
            }
            Op::Iterate => {
                let listed: BTreeSet<Id> = {
                    let _r = s.read();
                    let listed = s.c.keys().map_err(|e| format!("keys iterator: {e:#}"))?;
                    let count = listed.len();
                    let listed: BTreeSet<Id> = listed.into_iter().collect();
                    if listed.len() != count {
                        return Err(format!("the iterator listed a key twice: {listed:?}"));
                    }
                    // Strict while the read lock excludes writers: exactly the model's keys.
                    let model = s.model();
                    let expected: BTreeSet<Id> = model.live.keys().cloned().collect();
                    if listed != expected {
                        return Err(format!(
                            "iterator under the read lock: extra {:?}, missing {:?}",
                            listed.difference(&expected).collect::<Vec<_>>(),
                            expected.difference(&listed).collect::<Vec<_>>()
                        ));
                    }
                    listed
                };
                // Then, as a caller that lets go of the lock between the walk and its
                // reads: each listed key is readable with its bytes, or was removed
                // meanwhile. Sound because removals enter the model under the write lock
                // (so under our read lock the model is current) and names never return.
                for id in listed {
                    let _r = s.read();
                    let want = s.model().live.get(&id).cloned();
                    match want {
                        Some(want) => s.check_read(&id, Some(&want))?,
                        None if s.model().removed.contains(&id) => {
                            s.check_read(&id, None)?;
                            s.listed_then_removed.fetch_add(1, Ordering::Relaxed);
                        }
                        None => return Err(format!("iterator listed unknown key {id:?}")),
                    }
                }
            }
            Op::Metadata => {
                let _r = s.read();
                let rows =
                    s.c.status_rows()
                        .map_err(|e| format!("metadata query: {e:#}"))?;
                let status = rows.iter().find(|(k, _)| k == "Component_status");
                if status.map(|(_, v)| v.as_str()) != Some("Active") {
                    return Err(format!("Component_status is {status:?}"));
                }
            }
            Op::Aes => {
                let _r = s.read();
                let picked = {
                    let model = s.model();
                    let aes: Vec<Id> = model
                        .live
                        .iter()
                        .filter(|(_, v)| v.key_type == "AES")
                        .map(|(k, _)| k.clone())
                        .collect();
                    (!aes.is_empty()).then(|| aes[self.rng.below(aes.len())].clone())
                };
                if let Some(id) = picked {
                    let iv = [self.tid as u8; 16];
                    let plain = format!("thread {} block", self.tid).into_bytes();
                    aes_round_trip(s.c, &id, &iv, &plain)?;
                }
            }
            Op::Store => {
                let id = self.new_id('s');
                let want = material(&id.0);
                let _w = s.write();
                if !s.c.store(&id.0, owner(&id.1), &want.data, &want.key_type) {
                    return Err(format!("store {id:?} ({}) failed", want.key_type));
                }
                s.model().live.insert(id.clone(), want);
                self.own.push(id);
            }
            Op::Generate => {
                let id = self.new_id('g');
                let (key_type, size) = if self.rng.below(2) == 0 {
                    ("AES", 32)
                } else {
                    ("SECRET", 1 + self.rng.below(64))
                };
                let _w = s.write();
                if !s.c.generate(&id.0, owner(&id.1), key_type, size) {
                    return Err(format!("generate {id:?} ({key_type} {size}) failed"));
                }
                // The bytes are random: learn them while still holding the write lock, so
                // no reader can pick the key before the model knows what it must read.
                let generated = read_generated(s.c, &id, key_type, size)?;
                s.model().live.insert(id.clone(), generated);
                self.own.push(id);
            }
            Op::Remove => {
                if self.own.is_empty() {
                    // Nothing of ours to remove yet: this turn is a store instead.
                    return self.run(s, Op::Store);
                }
                let id = self.own.swap_remove(self.rng.below(self.own.len()));
                let _w = s.write();
                if !s.c.remove(&id.0, owner(&id.1)) {
                    return Err(format!("remove {id:?} failed"));
                }
                s.check_read(&id, None)?;
                let mut model = s.model();
                model.live.remove(&id);
                model.removed.insert(id);
            }
        }
        let index = OPS
            .iter()
            .position(|(o, _)| std::mem::discriminant(o) == std::mem::discriminant(&op))
            .expect("every op is listed");
        s.counts[index].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn sixteen_threads_with_mysqlds_locking_keep_every_key_exact() -> Result<()> {
    let server = PyKmip::start()?;
    let install = Install::new(&server, Some(GROUP))?;
    let (c, loaded) =
        LoadedComponent::start(&install.mysqld, &install.plugin_dir, &install.data_dir)?;
    ensure!(loaded, "load failed: {:?}", registry::log_lines());

    let model = Model {
        live: prestore(&c, PRESTORED)?,
        ..Model::default()
    };

    let shared = Shared {
        c: &c,
        lock: RwLock::new(()),
        model: Mutex::new(model),
        counts: Default::default(),
        listed_then_removed: AtomicUsize::new(0),
        failures: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        for tid in 0..THREADS {
            let s = &shared;
            scope.spawn(move || {
                let mut worker = Worker {
                    tid,
                    rng: Xorshift::new(0x5EED + tid as u64),
                    created: 0,
                    own: Vec::new(),
                };
                for _ in 0..ITERATIONS {
                    if s.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let op = pick(&mut worker.rng);
                    if let Err(e) = worker.run(s, op) {
                        s.fail(format!("thread {tid}: {e}"));
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();

    println!("{THREADS} threads x {ITERATIONS} operations in {elapsed:.1?}:");
    for ((_, name), count) in OPS.iter().zip(&shared.counts) {
        println!("  {name:<14} {}", count.load(Ordering::Relaxed));
    }
    println!(
        "  iterator entries removed before their re-read: {}",
        shared.listed_then_removed.load(Ordering::Relaxed)
    );
    let failures = shared
        .failures
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let errors: Vec<String> = registry::log_lines()
        .into_iter()
        .filter(|(severity, _)| *severity == 1)
        .map(|(_, line)| line)
        .collect();
    assert!(
        failures.is_empty(),
        "failures: {failures:#?}\nerror log: {errors:#?}"
    );
    assert!(
        errors.is_empty(),
        "the component logged errors: {errors:#?}"
    );
    let done: usize = shared
        .counts
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .sum();
    assert_eq!(done, THREADS * ITERATIONS, "every operation ran");

    let model = shared.model.into_inner().unwrap_or_else(|e| e.into_inner());
    // The component's final list and bytes are the model's.
    let now = component_contents(&c)?;
    assert_eq!(ids(&now), ids(&model.live), "key list after the run");
    assert_eq!(now, model.live, "key bytes after the run");
    for id in &model.removed {
        assert_eq!(
            c.read_secret(&id.0, owner(&id.1)),
            Ok(None),
            "{id:?} removed"
        );
    }

    // A fresh keyring built from the server alone (as a restarted mysqld would) holds the
    // same keys with the same bytes, the generated ones included.
    let fresh = Keyring::load(
        server.config(Some(GROUP))?,
        runtime(),
        MemoryLog::shared() as Arc<dyn LogSink>,
    )?;
    let mut from_server = BTreeMap::new();
    for id in fresh.key_ids() {
        let key = fresh
            .fetch(&id.data_id, &id.auth_id)
            .expect("listed key cached");
        from_server.insert(
            (id.data_id, id.auth_id),
            Expected {
                key_type: key.key_type.clone(),
                data: key.data.to_vec(),
            },
        );
    }
    assert_eq!(ids(&from_server), ids(&now), "fresh load's key list");
    assert_eq!(from_server, now, "fresh load's key bytes");

    // And the component's own reload (ALTER INSTANCE RELOAD KEYRING) agrees too.
    assert!(c.keyring_load(
        &format!("{}/", install.plugin_dir.display()),
        &format!("{}/", install.data_dir.display())
    ));
    assert_eq!(component_contents(&c)?, now, "after the component's reload");
    println!(
        "final keys: {} ({} removed during the run)",
        now.len(),
        model.removed.len()
    );
    c.shutdown()
}
