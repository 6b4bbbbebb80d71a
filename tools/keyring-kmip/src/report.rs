//! Printing: one line per check or object for a person, or JSON for monitoring.

use crate::checks::{Outcome, Report};
use crate::list::Listed;
use std::fmt::Write;

/// The check report as text: one line per check, the fix indented under a problem, and a
/// closing count.
pub fn checks_text(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let mark = match c.outcome {
            Outcome::Passed => "passed ",
            Outcome::Warning => "warning",
            Outcome::Failed => "FAILED ",
        };
        let _ = writeln!(out, "{mark}  {}: {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "         fix: {fix}");
        }
    }
    let count = |o: Outcome| report.checks.iter().filter(|c| c.outcome == o).count();
    let _ = writeln!(
        out,
        "{} passed, {} warnings, {} failed",
        count(Outcome::Passed),
        count(Outcome::Warning),
        count(Outcome::Failed)
    );
    out
}

/// The check report as JSON: `{"ok": bool, "checks": [...]}`.
pub fn checks_json(report: &Report) -> String {
    serde_json::json!({ "ok": !report.failed(), "checks": report.checks }).to_string()
}

/// Text from the server, safe for a terminal: control characters shown as `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The listing as a table.
pub fn list_text(objects: &[Listed]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<40} {:<24} {:<6} {:>6} {:<12} {:<12} notes",
        "data_id", "auth_id", "type", "bytes", "state", "object_id"
    );
    for o in objects {
        let _ = writeln!(
            out,
            "{:<40} {:<24} {:<6} {:>6} {:<12} {:<12} {}",
            printable(o.data_id.as_deref().unwrap_or("<no Name>")),
            printable(&o.auth_id),
            o.key_type,
            o.length.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            o.state.as_deref().unwrap_or("?"),
            printable(&o.object_id),
            printable(&o.notes.join("; "))
        );
    }
    let leftovers = objects
        .iter()
        .filter(|o| o.state.as_deref() == Some("PreActive"))
        .count();
    let _ = writeln!(
        out,
        "{} objects, {leftovers} PreActive leftovers",
        objects.len()
    );
    out
}

/// The listing as JSON: an array of objects.
pub fn list_json(objects: &[Listed]) -> String {
    serde_json::to_string(objects).expect("plain data serializes")
}
