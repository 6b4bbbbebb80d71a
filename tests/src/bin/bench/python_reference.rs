//! Section 6's figures: PyKMIP's own Python client (python_reference.py) against the same PyKMIP.

use anyhow::{bail, Context, Result};
use kmip_keyring_tests::pykmip::{venv, PyKmip};
use std::process::{Command, Stdio};
use std::time::Duration;

/// PyKMIP's own Python client: the same operations against the same server.
const PYTHON_REFERENCE: &str = include_str!("python_reference.py");

/// What the Python client measured.
pub struct PythonTimes {
    pub store: Vec<Duration>,
    pub generate: Vec<Duration>,
    pub remove: Vec<Duration>,
    /// The keys a load found, and how long it took.
    pub load: Option<(usize, Duration)>,
}

/// Runs the script with `iterations` rounds after 5 warm-up rounds, and a load of every
/// symmetric key on `server` if `with_load`.
pub fn run(server: &PyKmip, iterations: usize, with_load: bool) -> Result<PythonTimes> {
    let output = Command::new(venv().join("bin").join("python"))
        .arg("-c")
        .arg(PYTHON_REFERENCE)
        .args(["127.0.0.1", &server.port.to_string()])
        .arg(&server.pki.client_cert)
        .arg(&server.pki.client_key)
        .arg(&server.pki.ca)
        .arg(iterations.to_string())
        .arg(if with_load { "load" } else { "" })
        .stdin(Stdio::null())
        .output()
        .context("running PyKMIP's client")?;
    if !output.status.success() {
        bail!(
            "PyKMIP's client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let durations = |name: &str| -> Vec<Duration> {
        json[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_f64())
                    .map(Duration::from_secs_f64)
                    .collect()
            })
            .unwrap_or_default()
    };
    let load = json["load"].as_object().and_then(|m| {
        m.iter()
            .next()
            .and_then(|(n, t)| Some((n.parse().ok()?, Duration::from_secs_f64(t.as_f64()?))))
    });
    Ok(PythonTimes {
        store: durations("store"),
        generate: durations("generate"),
        remove: durations("remove"),
        load,
    })
}
