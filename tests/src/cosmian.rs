//! A real Cosmian KMS for one test: a second, strict KMIP server (KMIP 1.0-2.1, TLS 1.2 and
//! 1.3, lifecycle rules PyKMIP does not enforce), built once per machine by
//! `tests/cosmian/build-cosmian.sh`, started on free loopback ports (crate::ports) in its
//! own temporary directory with a fresh PKI, and stopped by PID when dropped. A test peer
//! only: never linked or shipped (BUSL-1.1).

use crate::pki::{KeyKind, Pki};
use crate::ports::{free_loopback_port, log_says_port_taken, start_on_free_ports};
use anyhow::{anyhow, bail, Context, Result};
use component_keyring_kmip::broker::Broker;
use component_keyring_kmip::Config;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The Cosmian KMS binary, built on first use; `Err` with the reason when it cannot be.
pub fn binary() -> Result<PathBuf, String> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| crate::setup_script("tests/cosmian/build-cosmian.sh"))
        .clone()
}

/// A running Cosmian KMS.
pub struct Cosmian {
    child: Option<Child>,
    /// Its KMIP (binary TTLV over TLS) port on 127.0.0.1.
    pub port: u16,
    /// Its HTTPS port (unused by the tests, but it always listens).
    pub http_port: u16,
    /// Its working directory (database, log, PKI).
    pub dir: tempfile::TempDir,
    /// The certificates of this run.
    pub pki: Pki,
}

impl Cosmian {
    /// Generates an ECDSA P-256 PKI and starts a server; returns once it accepts mutual TLS.
    pub fn start() -> Result<Self> {
        Self::start_with_keys(KeyKind::P256)
    }

    /// As [`Self::start`], with every key of `kind`.
    pub fn start_with_keys(kind: KeyKind) -> Result<Self> {
        let binary = binary().map_err(|e| anyhow!(e))?;
        let dir = tempfile::Builder::new().prefix("cosmian-").tempdir()?;
        let pki = Pki::generate_with(dir.path(), kind)?;
        let mut this = Self {
            child: None,
            port: 0,
            http_port: 0,
            dir,
            pki,
        };
        // A port taken between the draw and the server's bind: again on others.
        start_on_free_ports(
            &mut this,
            |this| {
                this.port = free_loopback_port()?;
                this.http_port = free_loopback_port()?;
                this.spawn(&binary)
            },
            Self::port_taken,
            Self::stop,
        )?;
        Ok(this)
    }

    /// Whether the server, as last started, found a port taken (its log is new for each
    /// start).
    fn port_taken(&self) -> bool {
        log_says_port_taken(&self.dir.path().join("server.log"))
    }

    fn spawn(&mut self, binary: &std::path::Path) -> Result<()> {
        let dir = self.dir.path();
        std::fs::create_dir_all(dir.join("sqlite"))?;
        let log = std::fs::File::create(dir.join("server.log"))?;
        let child = crate::own_process_group(&mut Command::new(binary))
            .args(["--database-type", "sqlite", "--sqlite-path"])
            .arg(dir.join("sqlite"))
            .args(["--socket-server-start", "--socket-server-port"])
            .arg(self.port.to_string())
            .args([
                "--socket-server-hostname",
                "127.0.0.1",
                "--hostname",
                "127.0.0.1",
                "--port",
            ])
            .arg(self.http_port.to_string())
            .arg("--tls-cert-file")
            .arg(&self.pki.server_cert)
            .arg("--tls-key-file")
            .arg(&self.pki.server_key)
            .arg("--clients-ca-cert-file")
            .arg(&self.pki.ca)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        self.child = Some(child);
        self.wait_until_ready()
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let config = Config::from_json(
            &self.dir.path().join("probe.cnf"),
            &self.config_json(None).to_string(),
        )?;
        let broker = Broker::from_config(&config)?;
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("cosmian_kms exited with {status}: {}", self.log_tail());
            }
            if self.port_taken() {
                bail!(
                    "cosmian_kms could not bind 127.0.0.1:{} or :{}: {}",
                    self.port,
                    self.http_port,
                    self.log_tail()
                );
            }
            match broker.open(0) {
                Ok(_) => return Ok(()),
                Err(e) if started.elapsed() > START_TIMEOUT => bail!(
                    "Cosmian KMS did not accept TLS within {START_TIMEOUT:?}: {e:?}; {}",
                    self.log_tail()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        crate::tail(&self.dir.path().join("server.log"), 20)
    }

    /// The configuration as Percona's JSON keys.
    pub fn config_json(&self, object_group: Option<&str>) -> serde_json::Value {
        crate::pykmip::config_json_for(self.port, &self.pki, object_group)
    }

    /// Stops the server and starts it again on the same ports with the same database.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        let binary = binary().map_err(|e| anyhow!(e))?;
        self.spawn(&binary)
    }

    /// Kills the server by PID with SIGKILL.
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

impl Drop for Cosmian {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("KMIP_TEST_KEEP_DIRS").is_some() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
            eprintln!("kept Cosmian KMS directory {}", dir.keep().display());
        }
    }
}
