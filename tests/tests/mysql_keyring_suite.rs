//! MySQL's own keyring test suite, run by mysql-test-run in the chroot against
//! component_keyring_kmip and a real PyKMIP server: every test of MySQL's
//! `component_keyring_file` suite but the few that cannot apply (tests/src/mtr.rs says
//! how they are derived and which do not apply). Each must pass; a test mtr skips (most
//! need a debug build of mysqld, and Debian's is a release build) is reported as a skip.
//!
//! `KMIP_MTR_TESTS=load,udf_test` runs only those; `KMIP_MTR_RECORD=1` records the output
//! as the expected results (to review a legitimate difference before it becomes one of
//! our result files) instead of checking it; `KMIP_MTR_REPEAT=20` runs each test 20 times
//! (mtr's `--repeat`), to chase an intermittent failure.

use anyhow::{bail, Context, Result};
use kmip_keyring_tests::install::built_component;
use kmip_keyring_tests::mtr::{self, Options};
use kmip_keyring_tests::mysqld::with_mysqld;
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::record_skip;

const TEST: &str = "mysql_keyring_suite::mysqls_keyring_suite_passes_with_component_keyring_kmip";

#[test]
fn mysqls_keyring_suite_passes_with_component_keyring_kmip() -> Result<()> {
    with_mysqld(TEST, || {
        let server = PyKmip::start()?;
        let root = mtr::install(&built_component()?)?;
        let options = Options {
            tests: std::env::var("KMIP_MTR_TESTS")
                .map(|t| t.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            parallel: 2,
            record: std::env::var_os("KMIP_MTR_RECORD").is_some(),
            repeat: match std::env::var("KMIP_MTR_REPEAT") {
                Ok(n) => n
                    .parse()
                    .with_context(|| format!("KMIP_MTR_REPEAT={n:?} is not a count of runs"))?,
                Err(_) => 1,
            },
        };
        let expected = if options.tests.is_empty() {
            mtr::tests(&root)?
        } else {
            options.tests.clone()
        };
        let run = mtr::run(&root, server.port, &server.pki, &options)?;
        eprintln!("mysql-test-run took {:?}", run.elapsed);
        for outcome in &run.outcomes {
            eprintln!(
                "  {:<55} {:<8} {}",
                outcome.test, outcome.result, outcome.detail
            );
        }
        let failed: Vec<_> = run
            .outcomes
            .iter()
            .filter(|o| o.result != "pass" && o.result != "skipped")
            .map(|o| o.test.as_str())
            .collect();
        let reported: Vec<&str> = run
            .outcomes
            .iter()
            .map(|o| {
                o.test
                    .trim_start_matches(mtr::SUITE)
                    .trim_start_matches('.')
            })
            .collect();
        let missing: Vec<_> = expected
            .iter()
            .filter(|t| !reported.contains(&t.as_str()))
            .collect();
        // Skips first, so that a run that fails still counts what mtr skipped.
        for outcome in run.outcomes.iter().filter(|o| o.result == "skipped") {
            record_skip(
                &format!("{TEST} ({})", outcome.test),
                &format!("mysql-test-run skipped it: {}", outcome.detail),
            );
        }
        if !(failed.is_empty() && missing.is_empty()) {
            // The whole output first, then what each failure printed last, where a log
            // that keeps only the tail still shows why; mtr's own last lines when it
            // printed no failure (it stopped before reporting every test).
            eprintln!("mysql-test-run's output:\n{}", run.output);
            let reports = mtr::failure_reports(&run.output);
            let why = if reports.is_empty() {
                let tail: Vec<&str> = run.output.lines().rev().take(15).collect();
                let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
                format!("the end of its output:\n{tail}")
            } else {
                format!("what mtr printed about each failure:\n{reports}")
            };
            bail!("mysql-test-run: failed {failed:?}, never reported {missing:?}\n{why}");
        }
        let passed = run.outcomes.iter().filter(|o| o.result == "pass").count();
        eprintln!(
            "{passed} of MySQL's keyring tests passed, {} skipped by mysql-test-run, {} not \
             applicable, {} not run (they fail with MySQL's own component_keyring_file)",
            run.outcomes.len() - passed,
            mtr::NOT_APPLICABLE.len(),
            mtr::FAIL_WITH_MYSQLS_OWN.len()
        );
        Ok(())
    })
}
