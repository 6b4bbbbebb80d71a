//! A real PyKMIP server for one test: started on a free loopback port (crate::ports) in its
//! own temporary directory with a fresh PKI, ready once it completes a mutual-TLS
//! handshake, and stopped by PID when dropped, whatever the outcome of the test.

use crate::pki::Pki;
use crate::ports::{free_loopback_port, log_says_port_taken, start_on_free_ports};
use crate::workspace_root;
use anyhow::{bail, Context, Result};
use component_keyring_kmip::broker::Broker;
use component_keyring_kmip::Config;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The TLS 1.2 suites PyKMIP offers with an ECDSA certificate (rustls implements these).
const ECDSA_SUITES: &str = "ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384";
/// The same with an RSA certificate.
const RSA_SUITES: &str = "ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384";

/// How long PyKMIP may take to start accepting TLS.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The Python virtual environment with PyKMIP (made by scripts/setup.sh).
pub fn venv() -> PathBuf {
    std::env::var_os("PYKMIP_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"))
}

/// A running PyKMIP server.
pub struct PyKmip {
    child: Option<Child>,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// Its working directory (configuration, database, log, PKI).
    pub dir: tempfile::TempDir,
    /// The certificates of this run.
    pub pki: Pki,
}

impl PyKmip {
    /// Generates a PKI and starts a server; returns once it accepts mutual TLS.
    pub fn start() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("pykmip-").tempdir()?;
        let pki = Pki::generate(dir.path())?;
        Self::start_with(dir, pki)
    }

    /// Starts a server in `dir` with an existing PKI.
    pub fn start_with(dir: tempfile::TempDir, pki: Pki) -> Result<Self> {
        let database = dir.path().join("pykmip.db");
        Self::start_in(dir, pki, &database, ECDSA_SUITES)
    }

    /// Starts a server with a fresh PKI of `kind` (with RSA keys, it offers RSA suites).
    pub fn start_with_keys(kind: crate::pki::KeyKind) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("pykmip-").tempdir()?;
        let pki = Pki::generate_with(dir.path(), kind)?;
        let database = dir.path().join("pykmip.db");
        let suites = if kind.is_rsa() {
            RSA_SUITES
        } else {
            ECDSA_SUITES
        };
        Self::start_in(dir, pki, &database, suites)
    }

    /// Starts a server with a fresh PKI that offers only `suites` (OpenSSL names).
    pub fn start_with_suites(suites: &str) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("pykmip-").tempdir()?;
        let pki = Pki::generate(dir.path())?;
        let database = dir.path().join("pykmip.db");
        Self::start_in(dir, pki, &database, suites)
    }

    /// Starts another server of a cluster: its own port and process, the PKI and the
    /// database of `first` (SQLite shared between processes), as a KMS cluster shares
    /// its store.
    pub fn start_sharing(first: &PyKmip) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("pykmip-").tempdir()?;
        Self::start_in(
            dir,
            first.pki.clone(),
            &first.dir.path().join("pykmip.db"),
            ECDSA_SUITES,
        )
    }

    fn start_in(dir: tempfile::TempDir, pki: Pki, database: &Path, suites: &str) -> Result<Self> {
        let server = venv().join("bin").join("pykmip-server");
        if !server.is_file() {
            bail!(
                "{} is missing: run scripts/setup.sh to create the PyKMIP virtual environment",
                server.display()
            );
        }
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies)?;
        let mut this = Self {
            child: None,
            port: 0,
            dir,
            pki,
        };
        // A port taken between the draw and PyKMIP's bind: again on another.
        start_on_free_ports(
            &mut this,
            |this| {
                this.port = free_loopback_port()?;
                this.write_conf(&policies, database, suites)?;
                this.spawn()
            },
            Self::port_taken,
            Self::stop,
        )?;
        Ok(this)
    }

    fn write_conf(&self, policies: &Path, database: &Path, suites: &str) -> Result<()> {
        let pki = &self.pki;
        std::fs::write(
            self.dir.path().join("server.conf"),
            format!(
                "[server]\nhostname=127.0.0.1\nport={}\ncertificate_path={}\nkey_path={}\n\
                 ca_path={}\nauth_suite=TLS1.2\nenable_tls_client_auth=True\n\
                 tls_cipher_suites={suites}\n\
                 policy_path={}\ndatabase_path={}\nlogging_level=INFO\n",
                self.port,
                pki.server_cert.display(),
                pki.server_key.display(),
                pki.ca.display(),
                policies.display(),
                database.display(),
            ),
        )
        .context("writing PyKMIP's server.conf")
    }

    /// Whether the server, as last started, found its port taken (its stderr is new for
    /// each start).
    fn port_taken(&self) -> bool {
        log_says_port_taken(&self.dir.path().join("server.stderr"))
    }

    fn spawn(&mut self) -> Result<()> {
        let server = venv().join("bin").join("pykmip-server");
        let dir = self.dir.path();
        let child = crate::own_process_group(&mut Command::new(&server))
            .arg("-f")
            .arg(dir.join("server.conf"))
            .arg("-l")
            .arg(dir.join("server.log"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.stderr"))?)
            .spawn()
            .with_context(|| format!("starting {}", server.display()))?;
        self.child = Some(child);
        self.wait_until_ready()
    }

    /// Stops the server and starts it again on the same port with the same database:
    /// every open connection breaks, every object survives.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn()
    }

    /// How many client sessions (TLS connections) the server has accepted so far.
    pub fn sessions_started(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("server.log"))
            .map(|log| log.matches("Starting session").count())
            .unwrap_or(0)
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        // The probe checks the certificate chain but not the name, so servers whose
        // certificate leaves out 127.0.0.1 (hostname-verification tests) can be started.
        let mut probe = self.config_json(None);
        probe["tls_hostname_verification"] = false.into();
        let config = Config::from_json(&self.dir.path().join("probe.cnf"), &probe.to_string())?;
        let broker = Broker::from_config(&config)?;
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("pykmip-server exited with {status}: {}", self.log_tail());
            }
            // PyKMIP does not exit when it cannot bind (its policy monitor lives on).
            if self.port_taken() {
                bail!(
                    "pykmip-server could not bind 127.0.0.1:{}: {}",
                    self.port,
                    self.log_tail()
                );
            }
            match broker.open(0) {
                Ok(_) => return Ok(()),
                // The server is up and speaking TLS, only not our kind of it: what a test
                // of an incompatible setup wants to see.
                Err(component_keyring_kmip::broker::TransportError::TlsFailure(m))
                    if m.contains("ended the handshake") =>
                {
                    return Ok(())
                }
                Err(e) if started.elapsed() > START_TIMEOUT => {
                    bail!(
                        "pykmip-server did not accept TLS within {START_TIMEOUT:?}: {e:?}; {}",
                        self.log_tail()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The last lines of the server's log and stderr, for failure messages.
    pub fn log_tail(&self) -> String {
        ["server.log", "server.stderr"]
            .iter()
            .map(|name| crate::tail(&self.dir.path().join(name), 15))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Writes a `component_keyring_kmip.cnf` for this server and returns it parsed.
    pub fn config(&self, object_group: Option<&str>) -> Result<Config> {
        self.config_in(self.dir.path(), object_group)
    }

    /// As [`Self::config`], writing the file into `dir`.
    pub fn config_in(&self, dir: &Path, object_group: Option<&str>) -> Result<Config> {
        let path = dir.join(component_keyring_kmip::config::CONFIG_FILE_NAME);
        std::fs::write(&path, self.config_json(object_group).to_string())?;
        Ok(Config::from_file(&path)?)
    }

    /// The configuration as Percona's JSON keys.
    pub fn config_json(&self, object_group: Option<&str>) -> serde_json::Value {
        config_json_for(self.port, &self.pki, object_group)
    }

    /// Runs PyKMIP's own client (tests/pykmip/witness.py) against this server.
    pub fn witness(&self, args: &[&str]) -> Result<serde_json::Value> {
        witness(self.port, &self.pki, args)
    }

    /// Kills the server by PID with SIGKILL, as a crash or a power cut would: no goodbye
    /// to open connections. (After SIGTERM, PyKMIP keeps answering its open sessions for a
    /// while, with General Failure.)
    pub fn kill(&mut self) {
        if let Some(child) = self.child.take() {
            crate::terminate(child, Duration::ZERO);
        }
    }

    /// Stops the server by PID: SIGTERM, then SIGKILL after a grace period.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            crate::terminate(child, STOP_TIMEOUT);
        }
    }
}

/// A configuration (Percona's JSON keys) for a test server on 127.0.0.1 at `port`.
pub fn config_json_for(port: u16, pki: &Pki, object_group: Option<&str>) -> serde_json::Value {
    let mut json = serde_json::json!({
        "server_addr": "127.0.0.1",
        "server_port": port.to_string(),
        "client_ca": pki.client_cert,
        "client_key": pki.client_key,
        "server_ca": pki.ca,
        "kmip_timeout_ms": 10000,
    });
    if let Some(group) = object_group {
        json["object_group"] = group.into();
    }
    json
}

/// Runs PyKMIP's own client (tests/pykmip/witness.py), an implementation independent of
/// ours, against the KMIP server on 127.0.0.1 at `port`, with the client certificate of
/// `pki`.
pub fn witness(port: u16, pki: &Pki, args: &[&str]) -> Result<serde_json::Value> {
    let script = workspace_root().join("tests/pykmip/witness.py");
    let output = Command::new(venv().join("bin").join("python"))
        .arg(script)
        .args(["127.0.0.1", &port.to_string()])
        .arg(&pki.client_cert)
        .arg(&pki.client_key)
        .arg(&pki.ca)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running the PyKMIP witness client")?;
    if !output.status.success() {
        bail!(
            "witness {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

impl Drop for PyKmip {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("KMIP_TEST_KEEP_DIRS").is_some() {
            // For debugging: leave the server's directory (log, database) behind.
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
            eprintln!("kept PyKMIP directory {}", dir.keep().display());
        }
    }
}
