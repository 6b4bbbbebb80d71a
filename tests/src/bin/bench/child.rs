//! Load cost and memory in a fresh process: this binary run again as `--child <what>`, and that child's side.

use crate::units::{median, ms};
use anyhow::{bail, ensure, Context, Result};
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs this binary again as a child (`--child <what> ...`) and parses its JSON line.
pub fn spawn(args: &[&str]) -> Result<serde_json::Value> {
    let output = Command::new(std::env::current_exe()?)
        .arg("--child")
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        bail!(
            "child {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("child {args:?} printed {stdout:?}"))
}

/// The child side: loads the component from `so`, runs `keyring_load` on `plugin`, and
/// prints one JSON line of figures.
pub fn run(what: &str, so: &Path, plugin: &Path) -> Result<()> {
    let slash = format!("{}/", plugin.display());
    let component = LoadedComponent::load_library(so)?;
    let before = kmip_keyring_tests::proc_status_kib("VmRSS:");
    let started = Instant::now();
    ensure!(
        component.keyring_load(&slash, &slash),
        "keyring_load failed: {:?}",
        registry::log_lines()
    );
    let first = started.elapsed();
    let after = kmip_keyring_tests::proc_status_kib("VmRSS:");
    let peak = kmip_keyring_tests::proc_status_kib("VmHWM:");
    let keys = registry::log_lines()
        .iter()
        .find_map(|(_, l)| {
            // "Keyring component initialized successfully. N keys loaded from ..."
            l.split(" keys loaded from ")
                .next()
                .filter(|head| head.len() < l.len())
                .and_then(|head| head.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let mut reloads = Vec::new();
    if what == "load-cost" {
        for _ in 0..5 {
            let started = Instant::now();
            ensure!(component.keyring_load(&slash, &slash), "reload failed");
            reloads.push(started.elapsed());
        }
    }
    component.shutdown()?;
    println!(
        "{}",
        serde_json::json!({
            "first_ms": ms(first),
            "reload_ms": if reloads.is_empty() { 0.0 } else { ms(median(&reloads)) },
            "rss_before_kib": before,
            "rss_after_kib": after,
            "rss_peak_kib": peak,
            "keys": keys,
        })
    );
    Ok(())
}
