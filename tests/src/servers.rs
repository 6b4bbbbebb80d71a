//! The two real KMIP servers of the tests, PyKMIP and Cosmian KMS, behind one interface,
//! so that a test written once runs against both (a server matrix, not copies of tests).

use crate::cosmian::Cosmian;
use crate::pki::Pki;
use crate::pykmip::PyKmip;
use anyhow::{bail, Result};
use component_keyring_kmip::Config;
use std::path::Path;

/// Which real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// PyKMIP 0.11 (Python, lenient, TLS 1.2).
    PyKmip,
    /// Cosmian KMS 5.28 (Rust, strict, TLS 1.2 and 1.3).
    Cosmian,
}

/// Both, PyKMIP first.
pub const ALL: [ServerKind; 2] = [ServerKind::PyKmip, ServerKind::Cosmian];

/// A running real KMIP server.
pub trait TestServer {
    /// Which one.
    fn kind(&self) -> ServerKind;
    /// Its port on 127.0.0.1.
    fn port(&self) -> u16;
    /// The certificates of this run.
    fn pki(&self) -> &Pki;
    /// Its working directory.
    fn dir(&self) -> &Path;
    /// Stops it and starts it again with the same objects.
    fn restart(&mut self) -> Result<()>;
    /// Kills it with SIGKILL.
    fn kill(&mut self);
    /// Stops it by PID (SIGTERM, then SIGKILL), keeping its objects for a restart.
    fn stop(&mut self);
    /// The last lines of its log, for failure messages.
    fn log_tail(&self) -> String;

    /// A configuration for it, as Percona's JSON keys.
    fn config_json(&self, object_group: Option<&str>) -> serde_json::Value {
        crate::pykmip::config_json_for(self.port(), self.pki(), object_group)
    }

    /// Writes a `component_keyring_kmip.cnf` for it into its directory and returns it
    /// parsed.
    fn config(&self, object_group: Option<&str>) -> Result<Config> {
        let path = self
            .dir()
            .join(component_keyring_kmip::config::CONFIG_FILE_NAME);
        std::fs::write(&path, self.config_json(object_group).to_string())?;
        Ok(Config::from_file(&path)?)
    }

    /// Runs PyKMIP's own client, an independent implementation, against it.
    fn witness(&self, args: &[&str]) -> Result<serde_json::Value> {
        crate::pykmip::witness(self.port(), self.pki(), args)
    }
}

impl TestServer for PyKmip {
    fn kind(&self) -> ServerKind {
        ServerKind::PyKmip
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn pki(&self) -> &Pki {
        &self.pki
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
    fn restart(&mut self) -> Result<()> {
        PyKmip::restart(self)
    }
    fn kill(&mut self) {
        PyKmip::kill(self)
    }
    fn stop(&mut self) {
        PyKmip::stop(self)
    }
    fn log_tail(&self) -> String {
        PyKmip::log_tail(self)
    }
}

impl TestServer for Cosmian {
    fn kind(&self) -> ServerKind {
        ServerKind::Cosmian
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn pki(&self) -> &Pki {
        &self.pki
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
    fn restart(&mut self) -> Result<()> {
        Cosmian::restart(self)
    }
    fn kill(&mut self) {
        Cosmian::kill(self)
    }
    fn stop(&mut self) {
        Cosmian::stop(self)
    }
    fn log_tail(&self) -> String {
        Cosmian::log_tail(self)
    }
}

/// Starts a server of `kind` with a fresh PKI.
pub fn start(kind: ServerKind) -> Result<Box<dyn TestServer>> {
    Ok(match kind {
        ServerKind::PyKmip => Box::new(PyKmip::start()?),
        ServerKind::Cosmian => Box::new(Cosmian::start()?),
    })
}

/// Whether Cosmian KMS can run here. Without its binary, `test` (a test's path, or a part
/// of one) is recorded as skipped (see [`crate::record_skip`]) and `false` returned, or,
/// where `KMIP_REQUIRE_COSMIAN` is set, as CI sets it, this fails.
pub fn cosmian_available(test: &str) -> Result<bool> {
    match crate::cosmian::binary() {
        Ok(_) => Ok(true),
        Err(reason) if std::env::var_os("KMIP_REQUIRE_COSMIAN").is_some() => {
            bail!("KMIP_REQUIRE_COSMIAN is set but Cosmian KMS is unavailable: {reason}")
        }
        Err(reason) => {
            crate::record_skip(test, &reason);
            Ok(false)
        }
    }
}

/// Runs `scenario` against a fresh server of every kind (Cosmian's run as
/// [`cosmian_available`] allows).
pub fn each(test: &str, scenario: impl Fn(&mut dyn TestServer) -> Result<()>) -> Result<()> {
    for kind in ALL {
        if kind == ServerKind::Cosmian && !cosmian_available(&format!("{test} [Cosmian KMS]"))? {
            continue;
        }
        let mut server = start(kind)?;
        scenario(server.as_mut())
            .map_err(|e| e.context(format!("against {kind:?}: {}", server.log_tail())))?;
    }
    Ok(())
}
