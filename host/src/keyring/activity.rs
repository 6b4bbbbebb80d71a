//! What the keyring has done with the KMIP servers since it loaded: operations, failures,
//! the last error. The status rows report it without touching the network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// Counts and the last failure of the KMIP operations (load, store, generate, remove).
#[derive(Debug, Default)]
pub struct Activity {
    operations: AtomicU64,
    failures: AtomicU64,
    last_failure: Mutex<Option<(SystemTime, String)>>,
}

impl Activity {
    /// Counts one operation and, if it failed, why.
    pub fn record<T, E: std::fmt::Display>(&self, operation: &str, result: &Result<T, E>) {
        self.operations.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            self.failures.fetch_add(1, Ordering::Relaxed);
            let message = e.to_string();
            // Most errors already open with the operation ("store: no KMIP server ...").
            let message = if message.starts_with(&format!("{operation}: ")) {
                message
            } else {
                format!("{operation}: {message}")
            };
            if let Ok(mut last) = self.last_failure.lock() {
                *last = Some((SystemTime::now(), message));
            }
        }
    }

    /// KMIP operations since the keyring loaded, the load included.
    pub fn operations(&self) -> u64 {
        self.operations.load(Ordering::Relaxed)
    }

    /// Those that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// When the last one failed, and the error (which names the server).
    pub fn last_failure(&self) -> Option<(SystemTime, String)> {
        self.last_failure.lock().ok()?.clone()
    }
}

/// `2026-12-02 16:30:01 UTC`: a time as the status rows show it.
pub fn utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_227_352);
        assert_eq!(utc(t), "2026-12-02 16:02:32 UTC");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn failures_are_counted_with_the_last_reason() {
        let a = Activity::default();
        a.record::<(), &str>("store", &Ok(()));
        a.record::<(), &str>("remove", &Err("127.0.0.1:5696: refused"));
        assert_eq!((a.operations(), a.failures()), (2, 1));
        assert_eq!(
            a.last_failure().unwrap().1,
            "remove: 127.0.0.1:5696: refused"
        );
    }
}
