//! MySQL's own keyring test suite (mysql-test-run, from Debian's `mysql-testsuite`, the
//! same 9.7.4 as the chroot's mysqld) run against component_keyring_kmip and a real KMIP
//! server. Nothing of MySQL's suite is copied into the repository: at install time every
//! test of MySQL's `component_keyring_file` suite becomes a test of ours by one rewrite
//! ([`derive_test`]: the `have_component_keyring_file` check becomes ours), its `.opt`
//! files are taken as they are, and its expected result is MySQL's, rewritten by
//! [`derive_result`]. Our suite (tests/mtr/component_keyring_kmip) holds what a KMIP
//! keyring does differently: the setup and teardown includes (a configuration for the
//! test's KMIP server and an Object Group of the test's own instead of a keyring file), the
//! tests and results whose output legitimately differs (each says why), and
//! [`NOT_APPLICABLE`], the tests that cannot apply, each with its reason.

use crate::mysqld::chroot;
use crate::pki::Pki;
use crate::workspace_root;
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where mysql-test-run lives in the chroot.
const MYSQL_TEST: &str = "usr/lib/mysql-test";
/// MySQL's suite for its file keyring, whose tests and results ours are derived from.
const FILE_SUITE: &str = "component_keyring_file";
/// Our suite's name, as mtr knows it.
pub const SUITE: &str = "component_keyring_kmip";
/// The line that makes mtr find the component and export KEYRING_KMIP_COMPONENT and its
/// `_OPT`, `_LOAD`, `_DIR` variables (include/plugin.defs).
const PLUGIN_DEFS_LINE: &str =
    "component_keyring_kmip          plugin_output_directory  yes  KEYRING_KMIP_COMPONENT component_keyring_kmip";
/// The most a whole run may take before it is stopped.
const RUN_TIMEOUT: Duration = Duration::from_secs(40 * 60);

/// MySQL's tests that do not apply to a KMIP keyring, and why. Every other test of
/// MySQL's suite runs.
pub const NOT_APPLICABLE: &[(&str, &str)] = &[
    (
        "keyring_encryption_test",
        "MySQL's mysql_keyring_encryption_test program stores AES keys of 14 and 29 bytes, \
         which a KMIP keyring refuses (KMIP's AES keys are 128, 192 or 256 bits; Percona's \
         component refuses them too); keyring_aes in every mode is tested by \
         tests/tests/loader.rs against the openssl command",
    ),
    ("load_windows", "Windows only"),
    (
        "log_encrypt_4",
        "removes the keyring's data file and expects the keys gone; a KMIP keyring keeps \
         its keys on the KMIP server",
    ),
    (
        "table_encrypt_5",
        "backs up and restores the keyring's data file to roll keys back; a KMIP keyring \
         has no local file to restore",
    ),
    (
        "tablespace_encrypt_6",
        "backs up and restores the keyring's data file to roll keys back; a KMIP keyring \
         has no local file to restore",
    ),
];

/// MySQL's tests that fail with MySQL's own component_keyring_file on the pinned mysqld
/// (measured with mysql-test-run on its suite), and why: they cannot tell anything about a
/// keyring, so they are not run.
pub const FAIL_WITH_MYSQLS_OWN: &[(&str, &str)] = &[(
    "log_encrypt_6",
    "waits for the error-log line \"Redo log was encrypted, but keyring is not loaded\", \
     which mysqld 9.7.4 no longer logs (it logs \"Redo log encryption is enabled, but the \
     keyring is not loaded.\"); fails the same way with MySQL's component_keyring_file",
)];

/// Our tests and result files (tests/mtr/component_keyring_kmip/t and r), each with why
/// the output legitimately differs from MySQL's.
pub const OURS: &[(&str, &str)] = &[
    (
        "udf_test",
        "AES keys of 64, 40 and 29 bytes are refused (NULL): KMIP's AES keys are 128, 192 or \
         256 bits, and Percona's component_keyring_kmip refuses them too",
    ),
    (
        "keyring_udf_invalid_args",
        "an empty SECRET is refused (NULL), as the test's own comment expects: a key of no \
         bytes is no key, and KMIP servers refuse empty Key Material",
    ),
    (
        "keyring_component_status",
        "a test of ours: the status rows of a KMIP keyring (its server, certificates, Object \
         Group, timeouts, sandbox) instead of a data file, with what changes between runs \
         masked",
    ),
];

/// One test's outcome as mtr reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `component_keyring_kmip.table_encrypt_2`.
    pub test: String,
    /// `pass`, `fail`, `skipped`, ...
    pub result: String,
    /// The rest of mtr's line (time, or why it was skipped).
    pub detail: String,
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// Every test's outcome.
    pub outcomes: Vec<Outcome>,
    /// mtr's whole output.
    pub output: String,
    /// How long it took.
    pub elapsed: Duration,
}

/// Warnings mysqld itself logs in one of MySQL's tests, about the server and not the
/// keyring, that the test does not suppress: each is suppressed in our copy of that test
/// (test, the text, why). Measured before one is added: it shows with MySQL's own
/// component_keyring_file too, and MySQL's own tests suppress the same text.
pub const SERVER_WARNINGS: &[(&str, &str, &str)] = &[(
    "log_encrypt_kill",
    "The last block of redo had corrupted first_rec_group",
    "InnoDB's crash recovery after the test's SIGKILL of mysqld mid-write finds the last redo \
     block's first_rec_group past its data and fixes it; MySQL's innodb tests that cut the \
     redo log (log_file_truncate_1, log_file_truncate_2) suppress the same text; a loaded \
     2-core machine shows it (CI did, once)",
)];

/// The line that requires component_keyring_file in MySQL's tests, and ours in their copy.
const HAVE_FILE_COMPONENT: &str = "--source include/have_component_keyring_file.inc";
const HAVE_OUR_COMPONENT: &str = "--source ../inc/have_component_keyring_kmip.inc";

/// MySQL's test `test` (its text `mysql_test`) as a test of our suite: the one line that
/// requires component_keyring_file requires ours instead (both are mtr's plugin.defs
/// checks), followed by the suppressions of [`SERVER_WARNINGS`] for this test, and the
/// comments that name it name ours. The rest, the includes of the suite's `../inc` (ours)
/// and MySQL's shared bodies, stays as MySQL wrote it.
pub fn derive_test(test: &str, mysql_test: &str) -> String {
    let mut have = HAVE_OUR_COMPONENT.to_owned();
    let suppressions: Vec<_> = SERVER_WARNINGS
        .iter()
        .filter(|(t, ..)| *t == test)
        .collect();
    if !suppressions.is_empty() {
        // Quiet, so the expected result stays MySQL's.
        have.push_str("\n--disable_query_log");
        for (_, text, _) in suppressions {
            have.push_str(&format!(
                "\n# mysqld's own warning (tests/src/mtr.rs, SERVER_WARNINGS says why)\n\
                 call mtr.add_suppression(\"{text}\");"
            ));
        }
        have.push_str("\n--enable_query_log");
    }
    mysql_test
        .replace(HAVE_FILE_COMPONENT, &have)
        .replace("for component_keyring_file", "for component_keyring_kmip")
        .replace("with component_keyring_file", "with component_keyring_kmip")
}

/// MySQL's result file for a test, as our suite's output differs from it only in the
/// component's name and in the teardown, which has no keyring file to remove.
pub fn derive_result(_test: &str, mysql_result: &str) -> String {
    let mut out = String::with_capacity(mysql_result.len());
    for line in mysql_result.lines() {
        if line.starts_with("# Removing local keyring file for keyring component: ") {
            continue;
        }
        // The comments that name the component, and the status rows that show its name
        // (Component_name, Implementation_name, as Percona's rows are named).
        let names_the_component = line.starts_with("# ")
            || line.starts_with("Component_name\t")
            || line.starts_with("Implementation_name\t");
        if names_the_component {
            out.push_str(&line.replace("component_keyring_file", "component_keyring_kmip"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn our_suite() -> PathBuf {
    workspace_root().join("tests/mtr").join(SUITE)
}

fn file_suite(root: &Path) -> PathBuf {
    root.join(MYSQL_TEST).join("suite").join(FILE_SUITE)
}

fn names_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(suffix))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The tests our suite runs: every test of MySQL's suite in the chroot but those of
/// [`NOT_APPLICABLE`] and [`FAIL_WITH_MYSQLS_OWN`].
pub fn tests(root: &Path) -> Result<Vec<String>> {
    let all = names_with_suffix(&file_suite(root).join("t"), ".test")?;
    let not_run = || NOT_APPLICABLE.iter().chain(FAIL_WITH_MYSQLS_OWN);
    for (name, _) in not_run() {
        if !all.iter().any(|t| t == name) {
            bail!("{name} is listed as not run but MySQL's suite has no such test");
        }
    }
    Ok(all
        .into_iter()
        .filter(|t| !not_run().any(|(n, _)| n == t))
        .collect())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// How one of MySQL's files (the test's name, the file's text) becomes ours
/// ([`derive_test`], [`derive_result`]).
type Derive = fn(&str, &str) -> String;

/// Installs our component and suite into the chroot's MySQL: the `.so` in the plugin dir,
/// the global manifest and configuration that point to the data dir's (with any backup a
/// failed run of a test left behind removed), the plugin.defs entry, and the suite with
/// its tests and expected results. Returns the chroot.
pub fn install(component: &Path) -> Result<PathBuf> {
    let root = chroot().map_err(|e| anyhow!(e))?;
    let plugin_dir = root.join("usr/lib/mysql/plugin");
    std::fs::copy(component, plugin_dir.join("component_keyring_kmip.so"))
        .context("installing the component into the chroot's plugin dir")?;
    let manifest = root.join("usr/sbin/mysqld.my");
    let config = plugin_dir.join("component_keyring_kmip.cnf");
    for (file, text) in [
        (&config, r#"{"read_local_config": true}"#),
        (&manifest, r#"{"read_local_manifest": true}"#),
    ] {
        // setup_component_customized.inc backs these up once and refuses to overwrite a
        // backup: one left by a test that failed before its teardown would fail the next.
        let _ = std::fs::remove_file(file.with_extension(format!(
            "{}.global_backup",
            file.extension().and_then(|e| e.to_str()).unwrap_or_default()
        )));
        write(file, text)?;
    }
    let defs = root.join(MYSQL_TEST).join("include/plugin.defs");
    let text = read(&defs)?;
    if !text
        .lines()
        .any(|l| l.starts_with("component_keyring_kmip "))
    {
        write(
            &defs,
            &format!(
                "{text}\n# component_keyring_kmip (this project's tests)\n{PLUGIN_DEFS_LINE}\n"
            ),
        )?;
    }
    let suite = root.join(MYSQL_TEST).join("suite").join(SUITE);
    let _ = std::fs::remove_dir_all(&suite);
    for sub in ["t", "r", "inc"] {
        std::fs::create_dir_all(suite.join(sub))?;
    }
    for inc in names_with_suffix(&our_suite().join("inc"), ".inc")? {
        let name = format!("{inc}.inc");
        std::fs::copy(
            our_suite().join("inc").join(&name),
            suite.join("inc").join(&name),
        )?;
    }
    std::fs::copy(our_suite().join("t/suite.opt"), suite.join("t/suite.opt"))?;
    let mysql = file_suite(&root);
    // Each test and each expected result: ours where we have one (listed in OURS with
    // why), else derived from MySQL's.
    let parts: [(&str, &str, Derive); 2] =
        [("t", ".test", derive_test), ("r", ".result", derive_result)];
    for (sub, suffix, _) in parts {
        for name in names_with_suffix(&our_suite().join(sub), suffix)? {
            if !OURS.iter().any(|(t, _)| *t == name) {
                bail!("tests/mtr/{SUITE}/{sub}/{name}{suffix} is not in mtr::OURS, which says why");
            }
        }
    }
    let tests = tests(&root)?;
    // A suppression that cannot take effect is an error, not a silent no-op.
    for (test, text, _) in SERVER_WARNINGS {
        let mysql_test = mysql.join("t").join(format!("{test}.test"));
        let derives = tests.iter().any(|t| t == test)
            && !our_suite().join("t").join(format!("{test}.test")).is_file()
            && read(&mysql_test)?.contains(HAVE_FILE_COMPONENT);
        if !derives {
            bail!(
                "mtr::SERVER_WARNINGS suppresses \"{text}\" in {test}, which is not a test \
                 derived from MySQL's {} with the line {HAVE_FILE_COMPONENT}",
                mysql_test.display()
            );
        }
    }
    for test in &tests {
        for (sub, suffix, derive) in parts {
            let name = format!("{test}{suffix}");
            let ours = our_suite().join(sub).join(&name);
            let text = if ours.is_file() {
                read(&ours)?
            } else {
                derive(test, &read(&mysql.join(sub).join(&name))?)
            };
            write(&suite.join(sub).join(&name), &text)?;
        }
        for opt in ["master.opt", "slave.opt"] {
            let name = format!("{test}-{opt}");
            if mysql.join("t").join(&name).is_file() {
                std::fs::copy(mysql.join("t").join(&name), suite.join("t").join(&name))?;
            }
        }
    }
    Ok(root)
}

/// How mtr is run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Tests to run (all of our suite when empty).
    pub tests: Vec<String>,
    /// mtr workers.
    pub parallel: usize,
    /// `--record`: write the output as the expected result (to review a legitimate
    /// difference before it becomes one of our result files).
    pub record: bool,
    /// `--repeat`: run each test this many times (to chase an intermittent failure);
    /// 0 or 1 runs each once.
    pub repeat: u32,
}

/// Runs mtr inside the chroot with `options`, against the KMIP server at `port` with the
/// certificates of `pki`.
pub fn run(root: &Path, port: u16, pki: &Pki, options: &Options) -> Result<Run> {
    let tests = &options.tests;
    let pki_dir = root.join("kmip-mtr");
    std::fs::create_dir_all(&pki_dir)?;
    for (src, dst) in [
        (&pki.ca, "ca.pem"),
        (&pki.client_cert, "client.pem"),
        (&pki.client_key, "client.key"),
    ] {
        std::fs::copy(src, pki_dir.join(dst))?;
    }
    let proc_mounted = root.join("proc/self").exists();
    if !proc_mounted {
        let status = Command::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(root.join("proc"))
            .status()?;
        if !status.success() {
            bail!("cannot mount /proc in the chroot (mtr needs it)");
        }
    }
    let selection = if tests.is_empty() {
        format!("--suite={SUITE}")
    } else {
        tests
            .iter()
            .map(|t| format!("{SUITE}.{t}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let script = format!(
        "cd /{MYSQL_TEST} && ./mtr --client-bindir=/{MYSQL_TEST}/bin --force --big-test \
         --parallel={} --vardir=/tmp/mtr-kmip --max-test-fail=0 \
         --testcase-timeout=20 --retry=1 {} {} {selection} 2>&1",
        options.parallel.max(1),
        if options.record { "--record" } else { "" },
        if options.repeat > 1 {
            format!("--repeat={}", options.repeat)
        } else {
            String::new()
        }
    );
    let started = Instant::now();
    let mut child = crate::own_process_group(&mut Command::new("chroot"))
        .arg(root)
        .args(["bash", "-c", &script])
        .env("KMIP_SERVER_PORT", port.to_string())
        .env("KMIP_CLIENT_CERT", "/kmip-mtr/client.pem")
        .env("KMIP_CLIENT_KEY", "/kmip-mtr/client.key")
        .env("KMIP_SERVER_CA", "/kmip-mtr/ca.pem")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting mysql-test-run in the chroot")?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if started.elapsed() > RUN_TIMEOUT {
            crate::terminate(child, Duration::from_secs(10));
            bail!("mysql-test-run did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let output = reader.join().unwrap_or_default();
    let _ = child.wait();
    if !proc_mounted {
        let _ = Command::new("umount").arg(root.join("proc")).status();
    }
    Ok(Run {
        outcomes: parse(&output),
        output,
        elapsed: started.elapsed(),
    })
}

/// mtr's result lines: `[ 12%] component_keyring_kmip.load  w1  [ pass ]   1234`.
fn parse(output: &str) -> Vec<Outcome> {
    output
        .lines()
        .filter_map(|line| {
            let start = line.find(&format!("{SUITE}."))?;
            let rest = &line[start..];
            let test = rest.split_whitespace().next()?.to_owned();
            let open = rest.find("[ ")?;
            let close = rest[open..].find(" ]")? + open;
            let result = rest[open + 2..close].trim().to_owned();
            let detail = rest[close + 2..].trim().to_owned();
            Some(Outcome {
                test,
                result,
                detail,
            })
        })
        .collect()
}

/// What mtr printed about each failed test: its result line and the lines after it up to
/// the next test's result (the diff, or the error-log lines that were not suppressed), so
/// a failure's reason survives a log that keeps only part of the whole output.
pub fn failure_reports(output: &str) -> String {
    let mut reports = String::new();
    let mut in_failure = false;
    for line in output.lines() {
        let is_result = line.contains(&format!("{SUITE}.")) && line.contains("[ ");
        if is_result {
            in_failure = line.contains("[ fail ]");
        }
        if in_failure {
            reports.push_str(line);
            reports.push('\n');
        }
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reports_keep_each_failed_tests_section_only() {
        let out = "[ 10%] component_keyring_kmip.load  w1  [ pass ]  100\n\
                   [ 20%] component_keyring_kmip.log_encrypt_kill  w1  [ fail ]  Found warnings/errors in error log file!\n\
                   2026-12-03T00:00:00Z 0 [Warning] [MY-000000] [Server] something\n\
                   ^ Found warnings in /tmp/mtr-kmip/log/mysqld.1.err\n\
                   [ 30%] component_keyring_kmip.udf_test  w2  [ pass ]  200\n\
                   Completed: Failed 1/3 tests\n";
        let reports = failure_reports(out);
        assert!(reports.starts_with("[ 20%] component_keyring_kmip.log_encrypt_kill"));
        assert!(reports.contains("[Warning] [MY-000000] [Server] something"));
        assert!(!reports.contains("udf_test") && !reports.contains("load "));
    }

    #[test]
    fn tests_are_derived_by_requiring_our_component_and_adding_only_their_own_suppressions() {
        let mysql = "--source include/have_component_keyring_file.inc\n\
                     --source include/big_test.inc\n\
                     # Setup for component_keyring_file\n";
        assert_eq!(
            derive_test("load", mysql),
            "--source ../inc/have_component_keyring_kmip.inc\n\
             --source include/big_test.inc\n\
             # Setup for component_keyring_kmip\n"
        );
        let kill = derive_test("log_encrypt_kill", mysql);
        assert!(kill.starts_with(
            "--source ../inc/have_component_keyring_kmip.inc\n--disable_query_log\n# "
        ));
        assert!(kill.contains(
            "\ncall mtr.add_suppression(\"The last block of redo had corrupted first_rec_group\");\n\
             --enable_query_log\n--source include/big_test.inc\n"
        ));
    }

    #[test]
    fn results_are_derived_by_renaming_the_component_and_dropping_the_keyring_file_line() {
        let mysql = "# Setup\n\
                     # Creating local configuration file for keyring component: component_keyring_file\n\
                     SELECT 1;\n\
                     # Removing local keyring file for keyring component: component_keyring_file\n\
                     Component_name\tcomponent_keyring_file\n\
                     Implementation_name\tcomponent_keyring_file\n\
                     SELECT 'component_keyring_file';\n";
        assert_eq!(
            derive_result("any", mysql),
            "# Setup\n\
             # Creating local configuration file for keyring component: component_keyring_kmip\n\
             SELECT 1;\n\
             Component_name\tcomponent_keyring_kmip\n\
             Implementation_name\tcomponent_keyring_kmip\n\
             SELECT 'component_keyring_file';\n"
        );
    }

    #[test]
    fn mtr_result_lines_are_parsed() {
        let out = "[ 50%] component_keyring_kmip.load                w2  [ pass ]   5317\n\
                   [100%] component_keyring_kmip.encrypt_explicit    w1  [ skipped ]  Test needs 'big-test' option\n";
        let parsed = parse(out);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].test, "component_keyring_kmip.load");
        assert_eq!(parsed[0].result, "pass");
        assert_eq!(parsed[1].result, "skipped");
        assert_eq!(parsed[1].detail, "Test needs 'big-test' option");
    }
}
