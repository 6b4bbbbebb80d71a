//! The mysqld-level soak: a real mysqld in the chroot with redo and undo encryption on, eight
//! connections creating, writing, reading and dropping encrypted tables, a master key
//! rotation about every second, keyring_udf calls from two users and a RELOAD now and then,
//! while the two PyKMIP servers (one database) are killed and restarted on a schedule drawn
//! from the seed. Then: mysqld alive, every statement returned within its bound, CHECK TABLE
//! clean, every table's content exact, every InnoDB master key on the server, no crash in
//! the error log; and all of it again after a restart.

use super::faults::Tally;
use super::{nap, Settings, Xorshift};
use crate::mysqld::{ManifestForm, MysqlInstance};
use crate::pykmip::PyKmip;
use anyhow::{bail, ensure, Context, Result};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Client connections writing tables.
const CONNECTIONS: usize = 8;
/// ALTER INSTANCE ROTATE INNODB MASTER KEY this often.
const ROTATE_EVERY: Duration = Duration::from_secs(1);
/// ALTER INSTANCE RELOAD KEYRING this often.
const RELOAD_EVERY: Duration = Duration::from_secs(7);
/// Every statement must return within this: the component bounds a keyring call by its
/// deadline per step and server, a few seconds; a minute is a hang.
const STATEMENT_BOUND: Duration = Duration::from_secs(60);
/// The component's `kmip_timeout_ms`.
const DEADLINE_MS: u64 = 2000;
/// The Object Group of this mysqld's keys.
const GROUP: &str = "soak-mysqld";
/// Rows per table.
const ROWS: usize = 16;
/// Tables a connection keeps before dropping its oldest.
const KEEP: usize = 3;
/// The keyring_udf users.
const USERS: [(&str, &str); 2] = [("alice", "alice-pw"), ("bob", "bob-pw")];
/// mysqld's options, at every start.
const OPTIONS: [&str; 2] = [
    "--innodb-redo-log-encrypt=ON",
    "--innodb-undo-log-encrypt=ON",
];
/// What a crash, an assertion or a corruption writes to the error log.
const CRASH_MARKERS: [&str; 7] = [
    "got signal",
    "got exception",
    "Assertion failure",
    "terminate called",
    "Thread stack overrun",
    "Database page corruption",
    "[FATAL]",
];

/// One kind of statement: answered, refused, the slowest.
#[derive(Debug, Default, Clone, Copy)]
struct Stat {
    ok: u64,
    refused: u64,
    slowest: Duration,
}

/// keyring_udf keys, per (user, key): the value each must fetch as.
#[derive(Default)]
struct UdfModel {
    live: BTreeMap<(usize, String), String>,
    absent: BTreeSet<(usize, String)>,
}

struct Shared<'a> {
    db: &'a MysqlInstance,
    stop: AtomicBool,
    stats: Mutex<BTreeMap<&'static str, Stat>>,
    /// One sample per distinct refusal text opening.
    refusals: Mutex<BTreeMap<String, String>>,
    failures: Mutex<Vec<String>>,
    /// Tables whose batch succeeded and that are not dropped: name → content.
    tables: Mutex<BTreeMap<String, String>>,
    udf: Mutex<UdfModel>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared<'_> {
    fn fail(&self, message: String) {
        self.stop.store(true, Ordering::SeqCst);
        locked(&self.failures).push(message);
    }

    /// One statement within [`STATEMENT_BOUND`]; a hang fails the soak. `None` when it
    /// hung, else mysql's answer or refusal.
    fn run(
        &self,
        kind: &'static str,
        user: Option<usize>,
        sql: &str,
    ) -> Option<Result<String, String>> {
        let started = Instant::now();
        let answer = self
            .db
            .sql_within(user.map(|u| USERS[u]), sql, STATEMENT_BOUND);
        let took = started.elapsed();
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                self.fail(format!("{kind}: {e:#}"));
                return None;
            }
        };
        let mut stats = locked(&self.stats);
        let stat = stats.entry(kind).or_default();
        stat.slowest = stat.slowest.max(took);
        match &answer {
            Ok(_) => stat.ok += 1,
            Err(text) => {
                stat.refused += 1;
                let opening: String = text.chars().take(60).collect();
                let mut refusals = locked(&self.refusals);
                if refusals.len() < 16 {
                    refusals
                        .entry(opening)
                        .or_insert_with(|| format!("{kind}: {text}"));
                }
            }
        }
        Some(answer)
    }
}

/// A table's rows as an INSERT's VALUES, and its content after the batch's UPDATE, as
/// `GROUP_CONCAT(v ORDER BY id)` shows it.
fn table_rows(tid: usize, n: usize) -> (String, String) {
    let value = |i: usize| format!("c{tid}n{n}r{i}-{}", "x".repeat(i * 7 % 40));
    let values: Vec<String> = (1..=ROWS)
        .map(|i| format!("({i}, '{}')", value(i)))
        .collect();
    let content: Vec<String> = (1..=ROWS)
        .map(|i| {
            if i % 2 == 0 {
                format!("{}+", value(i))
            } else {
                value(i)
            }
        })
        .collect();
    (values.join(", "), content.join(","))
}

fn content_query(table: &str) -> String {
    format!(
        "SET SESSION group_concat_max_len = 1048576; \
         SELECT GROUP_CONCAT(v ORDER BY id SEPARATOR ',') FROM {table}"
    )
}

fn connection(s: &Shared, tid: usize) {
    let mut mine: VecDeque<String> = VecDeque::new();
    let mut n = 0;
    while !s.stop.load(Ordering::SeqCst) {
        n += 1;
        let table = format!("soak.t{tid}_{n}");
        let (values, content) = table_rows(tid, n);
        let batch = format!(
            "CREATE TABLE {table} (id INT PRIMARY KEY, v VARCHAR(255)) ENCRYPTION='Y'; \
             INSERT INTO {table} VALUES {values}; \
             UPDATE {table} SET v = CONCAT(v, '+') WHERE id % 2 = 0; {}",
            content_query(&table)
        );
        match s.run("create, write, read a table", None, &batch) {
            None => return,
            Some(Ok(read)) if read == content => {
                locked(&s.tables).insert(table.clone(), content);
            }
            Some(Ok(read)) => {
                return s.fail(format!("{table} read back {read:?}, written {content:?}"));
            }
            // Its state is unknown (the batch stopped at the refused statement): checked
            // at the end by CHECK TABLE like every table, not for content.
            Some(Err(_)) => {}
        }
        mine.push_back(table);
        // An older table of this connection, read again.
        if let Some(older) = mine.len().checked_sub(2).and_then(|i| mine.get(i)) {
            let want = locked(&s.tables).get(older).cloned();
            if let Some(want) = want {
                match s.run("read an older table", None, &content_query(older)) {
                    None => return,
                    Some(Ok(read)) if read != want => {
                        return s.fail(format!("{older} read back {read:?}, written {want:?}"));
                    }
                    _ => {}
                }
            }
        }
        if mine.len() > KEEP {
            let oldest = mine.pop_front().expect("more than KEEP");
            locked(&s.tables).remove(&oldest);
            if s.run(
                "drop a table",
                None,
                &format!("DROP TABLE IF EXISTS {oldest}"),
            )
            .is_none()
            {
                return;
            }
        }
    }
}

/// `what` every `every`, as root.
fn periodic(s: &Shared, kind: &'static str, sql: &str, every: Duration) {
    while !s.stop.load(Ordering::SeqCst) {
        nap(every, &s.stop);
        if s.stop.load(Ordering::SeqCst) || s.run(kind, None, sql).is_none() {
            return;
        }
    }
}

/// One keyring_udf user: store, fetch (as the owner and as the other user), generate,
/// remove, each checked against what the earlier calls were answered.
fn udf_user(s: &Shared, user: usize, seed: u64) {
    let other = 1 - user;
    let mut rng = Xorshift::new(seed);
    let mut n = 0;
    let mut mine: VecDeque<String> = VecDeque::new();
    while !s.stop.load(Ordering::SeqCst) {
        n += 1;
        let key = format!("{}-{n}", USERS[user].0);
        let value = format!("value of {key} {}", rng.next_u64());
        let Some(stored) = s.run(
            "keyring_key_store",
            Some(user),
            &format!("SELECT keyring_key_store('{key}', 'SECRET', '{value}')"),
        ) else {
            return;
        };
        let stored = stored.as_deref() == Ok("1");
        let Some(fetched) = s.run(
            "keyring_key_fetch",
            Some(user),
            &format!("SELECT keyring_key_fetch('{key}')"),
        ) else {
            return;
        };
        let want = if stored { value.as_str() } else { "NULL" };
        if fetched.as_deref() != Ok(want) {
            return s.fail(format!(
                "{key} (store answered {stored}) fetched {fetched:?}, expected {want:?}"
            ));
        }
        let Some(foreign) = s.run(
            "keyring_key_fetch",
            Some(other),
            &format!("SELECT keyring_key_fetch('{key}')"),
        ) else {
            return;
        };
        if foreign.as_deref() != Ok("NULL") {
            return s.fail(format!(
                "{key} of one user fetched by the other: {foreign:?}"
            ));
        }
        let generated = format!("g-{key}");
        {
            let mut udf = locked(&s.udf);
            if stored {
                udf.live.insert((user, key.clone()), value);
                mine.push_back(key);
            } else {
                udf.absent.insert((user, key));
            }
        }
        if n % 4 == 0 {
            let Some(answer) = s.run(
                "keyring_key_generate",
                Some(user),
                &format!("SELECT keyring_key_generate('{generated}', 'AES', 32)"),
            ) else {
                return;
            };
            if answer.as_deref() == Ok("1") {
                let Some(hex) = s.run(
                    "keyring_key_fetch",
                    Some(user),
                    &format!("SELECT HEX(keyring_key_fetch('{generated}'))"),
                ) else {
                    return;
                };
                match hex {
                    Ok(h) if h.len() == 64 => {}
                    other => return s.fail(format!("generated {generated} fetched {other:?}")),
                }
            }
        }
        if mine.len() > KEEP {
            let oldest = mine.pop_front().expect("more than KEEP");
            let Some(removed) = s.run(
                "keyring_key_remove",
                Some(user),
                &format!("SELECT keyring_key_remove('{oldest}')"),
            ) else {
                return;
            };
            let mut udf = locked(&s.udf);
            if removed.as_deref() == Ok("1") {
                udf.live.remove(&(user, oldest.clone()));
                udf.absent.insert((user, oldest));
            } else {
                // Reported failed: the key may be gone from the server if only the answer
                // was lost. Not checked for its value any more; RELOAD decides.
                udf.live.remove(&(user, oldest));
            }
        }
    }
}

/// Kills and restarts servers: one of the two most of the time, both now and then.
fn fault_schedule(servers: &mut [PyKmip; 2], seed: u64, stop: &AtomicBool) -> Result<Tally> {
    let mut rng = Xorshift::new(seed ^ 0x5EED_D00D);
    let mut tally = Tally::default();
    while !stop.load(Ordering::SeqCst) {
        nap(Duration::from_millis(2000 + rng.below(3000) as u64), stop);
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (name, killed): (&'static str, &[usize]) = match rng.below(5) {
            0 | 1 => ("first server killed and restarted", &[0]),
            2 | 3 => ("second server killed and restarted", &[1]),
            _ => ("both servers killed and restarted", &[0, 1]),
        };
        let length = Duration::from_millis(1500 + rng.below(3500) as u64);
        for &i in killed {
            servers[i].kill();
        }
        nap(length, stop);
        for &i in killed {
            servers[i]
                .restart()
                .with_context(|| format!("restarting server {i}: {}", servers[i].log_tail()))?;
        }
        let entry = tally.phases.entry(name).or_default();
        entry.0 += 1;
        entry.1 += length.as_secs_f64();
    }
    Ok(tally)
}

/// What a run did and found.
pub struct Report {
    settings: Settings,
    elapsed: Duration,
    stats: BTreeMap<&'static str, Stat>,
    refusals: Vec<String>,
    faults: Tally,
    tables: usize,
    tables_with_content: usize,
    master_keys: usize,
    udf_keys: usize,
    error_log: BTreeMap<&'static str, usize>,
    error_samples: Vec<String>,
}

impl Report {
    /// Statements answered (either way).
    pub fn statements(&self) -> u64 {
        self.stats.values().map(|s| s.ok + s.refused).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "mysqld soak: {:.0?} (asked {:?}), seed {}, {CONNECTIONS} table connections, \
             2 keyring_udf users, ROTATE every {ROTATE_EVERY:?}, RELOAD every \
             {RELOAD_EVERY:?}, 2 PyKMIP servers (one database), deadline {DEADLINE_MS} ms",
            self.elapsed, self.settings.duration, self.settings.seed
        )?;
        writeln!(
            f,
            "  {:<30} {:>8} {:>8} {:>11}",
            "statement", "answered", "refused", "slowest ms"
        )?;
        for (kind, s) in &self.stats {
            writeln!(
                f,
                "  {kind:<30} {:>8} {:>8} {:>11.0}",
                s.ok,
                s.refused,
                s.slowest.as_secs_f64() * 1000.0
            )?;
        }
        writeln!(
            f,
            "  {} statements, each returned within {STATEMENT_BOUND:?}",
            self.statements()
        )?;
        for r in &self.refusals {
            writeln!(f, "    refused, e.g. {r}")?;
        }
        writeln!(f, "  faults injected: {} phases", self.faults.faults())?;
        for (name, (n, secs)) in &self.faults.phases {
            writeln!(f, "    {name:<40} {n:>5} x, {secs:>7.1} s")?;
        }
        writeln!(
            f,
            "  at the end and after a restart: mysqld alive, CHECK TABLE OK on {} tables, \
             {} read back exactly; {} InnoDB master keys, every one on the server; {} \
             keyring_udf keys fetch as stored",
            self.tables, self.tables_with_content, self.master_keys, self.udf_keys
        )?;
        let counts: Vec<String> = self
            .error_log
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        writeln!(f, "  error log: {}, no crash", counts.join(", "))?;
        for sample in &self.error_samples {
            writeln!(f, "    e.g. {sample}")?;
        }
        Ok(())
    }
}

/// The error log's Error and Warning lines, counted, with one sample per MySQL code; `Err`
/// if any line shows a crash.
fn read_error_log(log: &str) -> Result<(BTreeMap<&'static str, usize>, Vec<String>)> {
    let crashes: Vec<&str> = log
        .lines()
        .filter(|l| CRASH_MARKERS.iter().any(|m| l.contains(m)))
        .collect();
    ensure!(
        crashes.is_empty(),
        "the error log shows a crash: {crashes:#?}"
    );
    let mut counts = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in log.lines() {
        // Objects failed stores left on the server. Their takeback is a Note, which the
        // default log_error_verbosity drops: Kmip_objects_left_on_server, checked after the
        // final RELOAD, says they were all taken back.
        if line.contains("' failed and taking the new object ") && line.contains("back failed too")
        {
            *counts
                .entry("objects left on the server by failed stores (all taken back by the end)")
                .or_default() += 1;
        }
        for (marker, label) in [("[ERROR]", "Error"), ("[Warning]", "Warning")] {
            if line.contains(marker) {
                *counts.entry(label).or_default() += 1;
                let code = line
                    .split_whitespace()
                    .find(|w| w.starts_with("[MY-"))
                    .unwrap_or("")
                    .to_owned();
                if samples.len() < 12 {
                    samples.entry(code).or_insert_with(|| line.to_owned());
                }
            }
        }
    }
    Ok((counts, samples.into_values().collect()))
}

/// Every table of the soak's schema passes CHECK TABLE, and every table of `tables` reads
/// back its content; returns how many tables there are.
fn check_tables(db: &MysqlInstance, tables: &BTreeMap<String, String>) -> Result<usize> {
    let all: Vec<String> = db
        .sql(
            "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables \
             WHERE table_schema = 'soak'",
        )?
        .lines()
        .map(str::to_owned)
        .collect();
    ensure!(!all.is_empty(), "the soak's schema holds no table");
    for chunk in all.chunks(50) {
        let rows = db.sql(&format!("CHECK TABLE {}", chunk.join(", ")))?;
        let bad: Vec<&str> = rows
            .lines()
            .filter(|r| r.rsplit('\t').next() != Some("OK"))
            .collect();
        ensure!(bad.is_empty(), "CHECK TABLE: {bad:#?}");
    }
    for (table, want) in tables {
        let read = db.sql(&content_query(table))?;
        ensure!(
            &read == want,
            "{table} read back {read:?}, written {want:?}"
        );
    }
    Ok(all.len())
}

/// Every InnoDB master key in the keyring is an object of the server, as PyKMIP's own client
/// reads it; returns how many there are.
fn master_keys_on_server(db: &MysqlInstance, server: &PyKmip) -> Result<usize> {
    let keys: Vec<String> = db
        .sql("SELECT KEY_ID FROM performance_schema.keyring_keys WHERE KEY_ID LIKE 'INNODBKey%'")?
        .lines()
        .map(str::to_owned)
        .collect();
    ensure!(!keys.is_empty(), "the keyring lists no InnoDB master key");
    let dump = server.witness(&["dump"])?;
    let names: BTreeSet<&str> = dump
        .as_array()
        .context("the witness's dump is not a list")?
        .iter()
        .filter(|o| o["state"] != "PRE_ACTIVE")
        .flat_map(|o| o["names"].as_array().into_iter().flatten())
        .filter_map(|n| n.as_str())
        .collect();
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !names.contains(k.as_str()))
        .collect();
    ensure!(
        missing.is_empty(),
        "InnoDB master keys not on the server: {missing:?}"
    );
    Ok(keys.len())
}

/// Every live keyring_udf key fetches as stored and every absent one as NULL: a store
/// reported failed never surfaces, not even after a restart (the final RELOAD has taken
/// back whatever failed stores left on the server).
fn check_udf(db: &MysqlInstance, udf: &UdfModel) -> Result<usize> {
    for ((user, key), value) in &udf.live {
        let got = db.sql_as(
            Some(USERS[*user]),
            &format!("SELECT keyring_key_fetch('{key}')"),
        )?;
        ensure!(&got == value, "{key} fetched {got:?}, stored {value:?}");
    }
    for (user, key) in &udf.absent {
        let got = db.sql_as(
            Some(USERS[*user]),
            &format!("SELECT keyring_key_fetch('{key}')"),
        )?;
        ensure!(
            got == "NULL",
            "{key}, removed or never stored, fetched {got:?}"
        );
    }
    Ok(udf.live.len())
}

/// Everything the end and the restart check.
fn check_all(
    db: &mut MysqlInstance,
    server: &PyKmip,
    tables: &BTreeMap<String, String>,
    udf: &UdfModel,
) -> Result<(usize, usize, usize)> {
    ensure!(db.is_running(), "mysqld is not running");
    ensure!(db.sql("SELECT 1")? == "1", "mysqld does not answer");
    Ok((
        check_tables(db, tables)?,
        master_keys_on_server(db, server)?,
        check_udf(db, udf)?,
    ))
}

const SETUP: &str = "CREATE DATABASE soak; \
     CREATE TABLE soak.first (id INT PRIMARY KEY) ENCRYPTION='Y'; \
     INSTALL PLUGIN keyring_udf SONAME 'keyring_udf.so'; \
     CREATE FUNCTION keyring_key_generate RETURNS INTEGER SONAME 'keyring_udf.so'; \
     CREATE FUNCTION keyring_key_fetch RETURNS STRING SONAME 'keyring_udf.so'; \
     CREATE FUNCTION keyring_key_store RETURNS INTEGER SONAME 'keyring_udf.so'; \
     CREATE FUNCTION keyring_key_remove RETURNS INTEGER SONAME 'keyring_udf.so'; \
     CREATE USER alice@localhost IDENTIFIED BY 'alice-pw'; \
     CREATE USER bob@localhost IDENTIFIED BY 'bob-pw'; \
     GRANT EXECUTE ON *.* TO alice@localhost, bob@localhost;";

/// Runs the mysqld-level soak; `Err` names what failed.
pub fn run(settings: &Settings) -> Result<Report> {
    let first = PyKmip::start()?;
    let second = PyKmip::start_sharing(&first)?;
    let mut servers = [first, second];
    let mut db = MysqlInstance::create(
        "soak",
        ManifestForm::Global,
        &servers[0].pki,
        servers[0].port,
        Some(GROUP),
    )?;
    let config = serde_json::json!({
        "server_addr": servers.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect::<Vec<_>>(),
        "server_port": servers[0].port.to_string(),
        "client_ca": db.chroot_path("pki/client.pem"),
        "client_key": db.chroot_path("pki/client.key"),
        "server_ca": db.chroot_path("pki/ca.pem"),
        "kmip_timeout_ms": DEADLINE_MS,
        "object_group": GROUP,
    });
    db.write("data/component_keyring_kmip.cnf", &config.to_string())?;
    db.start(&OPTIONS)?;
    db.sql(SETUP)?;

    let shared = Shared {
        db: &db,
        stop: AtomicBool::new(false),
        stats: Mutex::default(),
        refusals: Mutex::default(),
        failures: Mutex::default(),
        tables: Mutex::default(),
        udf: Mutex::default(),
    };
    let started = Instant::now();
    let faults = std::thread::scope(|scope| -> Result<Tally> {
        let s = &shared;
        for tid in 0..CONNECTIONS {
            scope.spawn(move || connection(s, tid));
        }
        for user in 0..USERS.len() {
            let seed = settings.seed.wrapping_add(user as u64);
            scope.spawn(move || udf_user(s, user, seed));
        }
        scope.spawn(move || {
            periodic(
                s,
                "ROTATE INNODB MASTER KEY",
                "ALTER INSTANCE ROTATE INNODB MASTER KEY",
                ROTATE_EVERY,
            )
        });
        scope.spawn(move || {
            periodic(
                s,
                "RELOAD KEYRING",
                "ALTER INSTANCE RELOAD KEYRING",
                RELOAD_EVERY,
            )
        });
        let servers = &mut servers;
        let seed = settings.seed;
        let schedule = scope.spawn(move || {
            let tally = fault_schedule(servers, seed, &s.stop);
            if tally.is_err() {
                s.stop.store(true, Ordering::SeqCst);
            }
            tally
        });
        nap(settings.duration, &s.stop);
        s.stop.store(true, Ordering::SeqCst);
        schedule
            .join()
            .map_err(|_| anyhow::anyhow!("the fault thread panicked"))?
    })?;
    let elapsed = started.elapsed();
    let failures = locked(&shared.failures).clone();
    if !failures.is_empty() {
        bail!(
            "the mysqld soak failed after {elapsed:.0?} (seed {}):\n{}\nerror log tail:\n{}",
            settings.seed,
            failures.join("\n"),
            tail(&db.error_log(), 30)
        );
    }
    let tables = std::mem::take(&mut *locked(&shared.tables));
    let udf = std::mem::take(&mut *locked(&shared.udf));
    let stats = std::mem::take(&mut *locked(&shared.stats));
    let refusals: Vec<String> = locked(&shared.refusals).values().cloned().collect();
    drop(shared);

    // The servers are back: a RELOAD must succeed (a restarted PyKMIP may need a moment).
    let reloaded = (0..5).any(|_| {
        let ok = db.sql("ALTER INSTANCE RELOAD KEYRING").is_ok();
        if !ok {
            std::thread::sleep(Duration::from_secs(2));
        }
        ok
    });
    ensure!(
        reloaded,
        "RELOAD keeps failing after the faults ended: {}",
        tail(&db.error_log(), 20)
    );
    let left = db.sql(
        "SELECT STATUS_VALUE FROM performance_schema.keyring_component_status \
         WHERE STATUS_KEY = 'Kmip_objects_left_on_server'",
    )?;
    ensure!(
        left == "0",
        "after the final RELOAD, {left} objects that failed stores left on the server are \
         not taken back: {}",
        tail(&db.error_log(), 20)
    );
    let (table_count, master_keys, udf_keys) = check_all(&mut db, &servers[0], &tables, &udf)?;
    read_error_log(&db.error_log())?;
    db.stop().context("stopping mysqld after the soak")?;
    db.start(&OPTIONS)
        .context("restarting mysqld after the soak")?;
    check_all(&mut db, &servers[0], &tables, &udf).context("after the restart")?;
    db.stop()?;
    // One error log across the run and the restart.
    let (error_log, error_samples) = read_error_log(&db.error_log())?;
    Ok(Report {
        settings: *settings,
        elapsed,
        stats,
        refusals,
        faults,
        tables: table_count,
        tables_with_content: tables.len(),
        master_keys,
        udf_keys,
        error_log,
        error_samples,
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
