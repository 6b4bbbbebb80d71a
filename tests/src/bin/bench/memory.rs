//! Section 5: resident memory added by a load, in fresh child processes.

use crate::child;
use crate::component::{empty_group, plugin_dir};
use anyhow::Result;
use kmip_keyring_tests::fast_peer::FastPeer;
use std::path::Path;

/// The median of three child processes, in KiB.
pub struct RssRow {
    pub keys: u64,
    pub before_kib: u64,
    pub after_kib: u64,
    pub peak_kib: u64,
    /// Whether the goal is judged on this row (every key on the fast peer).
    pub goal: bool,
}

/// What section 5 measured: a load of no key, then of every key on `peer`.
pub struct Memory {
    pub rows: Vec<RssRow>,
}

pub fn run(so: &Path, dir: &Path, peer: &FastPeer) -> Result<Memory> {
    let mut rows = Vec::new();
    for (config, goal) in [(&empty_group(peer), false), (&peer.config_json(), true)] {
        let plugin = plugin_dir(dir, &format!("rss-{goal}"), config)?;
        let mut runs = Vec::new();
        for _ in 0..3 {
            runs.push(child::spawn(&[
                "rss",
                &so.display().to_string(),
                &plugin.display().to_string(),
            ])?);
        }
        let number = |r: &serde_json::Value, field: &str| r[field].as_u64().unwrap_or(0);
        runs.sort_by_key(|r| {
            number(r, "rss_after_kib").saturating_sub(number(r, "rss_before_kib"))
        });
        let r = &runs[1];
        rows.push(RssRow {
            keys: number(r, "keys"),
            before_kib: number(r, "rss_before_kib"),
            after_kib: number(r, "rss_after_kib"),
            peak_kib: number(r, "rss_peak_kib"),
            goal,
        });
    }
    Ok(Memory { rows })
}
