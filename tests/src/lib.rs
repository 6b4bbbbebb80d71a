//! Test harness for component_keyring_kmip: a PKI generated at test time, a real PyKMIP
//! server on loopback, a scripted KMIP peer for sandboxed unit tests, and a small TTLV
//! codec written independently of the guest for building and checking messages.

pub mod cosmian;
pub mod elf;
pub mod fast_peer;
pub mod fault_proxy;
pub mod fill;
pub mod hostile_server;
pub mod install;
pub mod keyring_model;
pub mod leak;
// The mysqld-style loader calls the component through its C ABI.
#[allow(unsafe_code)]
pub mod loader;
pub mod mtr;
pub mod mysqld;
pub mod native_platform;
pub mod peer;
pub mod pki;
pub mod ports;
pub mod pykmip;
pub mod raw_guest;
pub mod servers;
pub mod soak;
// The TTLV test codec lives with the guest core, whose native tests use it without
// building wasmtime; the harness's scripted peers share the same file.
#[path = "../../guest/core/tests/common/ttlv.rs"]
pub mod ttlv;

use component_keyring_kmip::Runtime;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Runs one of the tests' setup scripts (`relative` to the workspace), which builds a peer
/// or a root once per machine and prints its path; `Err` with the reason when it cannot.
pub fn setup_script(relative: &str) -> Result<PathBuf, String> {
    let script = workspace_root().join(relative);
    let out = std::process::Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed with {}", script.display(), out.status));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// The embedded guest, compiled once per test process.
pub fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::embedded().expect("the embedded guest compiles"))
        .clone()
}

/// Where skipped tests are recorded, one line each: `scripts/test.sh` empties the file
/// before a run and names every line of it in its closing line.
pub fn skips_file() -> PathBuf {
    std::env::var_os("KMIP_TEST_SKIPS_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/test-skips.txt"))
}

/// Records that `test` did not run, and why: loudly on stderr and in [`skips_file`]. A
/// skipped test still passes in cargo's count; the closing line of scripts/test.sh is
/// where it shows as a skip.
pub fn record_skip(test: &str, reason: &str) {
    use std::io::Write;
    eprintln!("\n*** SKIPPED {test}: {reason} ***\n");
    let path = skips_file();
    let _ = std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")));
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(file, "{test}: {reason}");
    }
}

/// A field of this process's `/proc/self/status` in KiB (`"VmRSS:"`, `"VmHWM:"`); 0 if
/// /proc says nothing.
pub fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// SHA-256 of `bytes`, lower-case hex (what `guest_sha256` expects).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The last `lines` lines of a text file, or nothing if it cannot be read.
pub fn tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Stops a process this harness started, with every process it started in turn: the
/// child must lead its own process group (see [`own_process_group`]). SIGTERM to the group,
/// SIGKILL once `grace` has passed (at once, without SIGTERM, for a zero grace: a crash), then SIGKILL to whatever is left of the group (PyKMIP's
/// policy monitor is a separate process that outlives its parent otherwise).
pub fn terminate(mut child: std::process::Child, grace: std::time::Duration) {
    let group = format!("-{}", child.id());
    let signal = |sig: &str| {
        let _ = std::process::Command::new("kill")
            .args([sig, "--", &group])
            .stderr(std::process::Stdio::null())
            .status();
    };
    if !grace.is_zero() {
        signal("-TERM");
    }
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    signal("-KILL");
    let _ = child.kill();
    let _ = child.wait();
}

/// Makes the command's process lead a new process group, so [`terminate`] reaches all of it.
pub fn own_process_group(command: &mut std::process::Command) -> &mut std::process::Command {
    std::os::unix::process::CommandExt::process_group(command, 0)
}
