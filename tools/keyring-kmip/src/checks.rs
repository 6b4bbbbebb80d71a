//! `keyring-kmip check`: every check a DBA would otherwise do by hand with openssl and
//! guesswork, in order, each with what it found and, when it did not pass, how to fix it.

use crate::native::Counters;
use crate::session;
use kmip_keyring_broker::{client_config, key_file_warning, Broker, CertificateInfo};
use kmip_keyring_config::{Config, ServerEndpoint};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A certificate expiring within this many days is a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// As it should be.
    Passed,
    /// Works now, but will not for long or is unsafe.
    Warning,
    /// The component would fail here.
    Failed,
}

/// One check: what was checked, what was found, and the fix when it did not pass.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked, e.g. "certificate client_ca".
    pub name: String,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
    /// How to fix it, when it did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// This file.
    File(PathBuf),
    /// The global file in the plugin dir, or the data dir's when it says
    /// `"read_local_config": true`, exactly as the component resolves it.
    Dirs {
        /// mysqld's `plugin_dir`.
        plugin_dir: PathBuf,
        /// mysqld's `datadir`.
        data_dir: PathBuf,
    },
}

impl Source {
    /// Reads the configuration as the component would.
    pub fn load(&self) -> Result<Config, kmip_keyring_config::ConfigError> {
        match self {
            Self::File(path) => Config::from_file(path),
            Self::Dirs {
                plugin_dir,
                data_dir,
            } => Config::locate_and_load(plugin_dir, data_dir),
        }
    }
}

/// The checks, in order; later ones need earlier ones to pass.
#[derive(Debug, Default)]
pub struct Report {
    /// Each check made.
    pub checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            outcome,
            detail: detail.into(),
            fix: None,
        });
    }

    fn fail(&mut self, name: impl Into<String>, detail: impl Into<String>, fix: &str) {
        self.problem(name, Outcome::Failed, detail, fix);
    }

    fn problem(
        &mut self,
        name: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
        fix: &str,
    ) {
        self.checks.push(Check {
            name: name.into(),
            outcome,
            detail: detail.into(),
            fix: Some(fix.to_owned()),
        });
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::Failed)
    }
}

/// Runs every check of `source`; `write_test` also stores, reads back and removes a probe
/// key.
pub fn run(source: &Source, write_test: bool) -> Report {
    let mut report = Report::default();
    let config = match source.load() {
        Ok(config) => config,
        Err(e) => {
            report.fail(
                "configuration",
                e.to_string(),
                "correct the field or file named; the keys and types are Percona's \
                 (README, Configuration)",
            );
            return report;
        }
    };
    report.push(
        "configuration",
        Outcome::Passed,
        format!(
            "{}: {} server(s) ({}), object group {}",
            config.source.display(),
            config.servers.len(),
            config
                .servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            config.object_group.as_deref().unwrap_or("<none>")
        ),
    );
    match config.verification.warning() {
        Some(warning) => report.problem(
            "TLS verification",
            Outcome::Warning,
            warning,
            "set tls_peer_verification and tls_hostname_verification to true (the defaults), \
             with a server certificate that names the host in server_addr",
        ),
        None => report.push(
            "TLS verification",
            Outcome::Passed,
            "the server's certificate chain and host name are checked",
        ),
    }
    let files_ok = [
        ("client_ca", &config.client_cert),
        ("client_key", &config.client_key),
        ("server_ca", &config.server_ca),
    ]
    .into_iter()
    // Each file is checked, so every unreadable one is reported at once.
    .map(|(field, path)| readable(&mut report, field, path))
    .collect::<Vec<bool>>();
    if files_ok.contains(&false) {
        return report;
    }
    let certs_ok = certificates(&mut report, "client_ca", &config.client_cert, true)
        & certificates(&mut report, "server_ca", &config.server_ca, false);
    if let Some(warning) = key_file_warning(&config.client_key) {
        report.problem(
            "client_key permissions",
            Outcome::Warning,
            warning,
            "chmod 600 the key file and chown it to the mysqld user",
        );
    } else {
        report.push(
            "client_key permissions",
            Outcome::Passed,
            format!(
                "{}: readable by its owner only",
                config.client_key.display()
            ),
        );
    }
    if !certs_ok {
        return report;
    }
    match client_config(&config) {
        Ok(_) => report.push(
            "client key and certificate",
            Outcome::Passed,
            "client_key belongs to client_ca's certificate; the TLS client is set up",
        ),
        Err(e) => {
            report.fail(
                "client key and certificate",
                e.to_string(),
                "point client_key at the private key of client_ca's certificate",
            );
            return report;
        }
    }
    for (index, server) in config.servers.iter().enumerate() {
        check_server(&mut report, &config, index, server);
    }
    if write_test {
        probe(&mut report, &config);
    }
    report
}

fn readable(report: &mut Report, field: &str, path: &Path) -> bool {
    // Opened, not read: the key is not copied into memory for this, and a FIFO does not
    // block the check.
    match std::fs::File::open(path) {
        Ok(_) => {
            report.push(
                format!("file {field}"),
                Outcome::Passed,
                format!("{} is readable", path.display()),
            );
            true
        }
        Err(e) => {
            report.fail(
                format!("file {field}"),
                format!("{field} ({}): {e}", path.display()),
                "check the path, and that the mysqld user can read the file",
            );
            false
        }
    }
}

/// The certificates of a PEM file: each valid now, none expiring within 30 days; the
/// client's first one must allow TLS client authentication.
fn certificates(report: &mut Report, field: &str, path: &Path, client: bool) -> bool {
    let name = format!("certificate {field}");
    let parsed: Result<Vec<CertificateDer<'static>>, _> =
        CertificateDer::pem_file_iter(path).and_then(|certs| certs.collect());
    let certs = match parsed {
        Ok(certs) if !certs.is_empty() => certs,
        Ok(_) => {
            report.fail(
                name,
                format!(
                    "{field} ({}): no PEM certificate in the file",
                    path.display()
                ),
                "the file must hold a PEM certificate (-----BEGIN CERTIFICATE-----)",
            );
            return false;
        }
        Err(e) => {
            report.fail(
                name,
                format!("{field} ({}): {e}", path.display()),
                "the file must hold PEM certificates",
            );
            return false;
        }
    };
    let mut ok = true;
    for (i, der) in certs.iter().enumerate() {
        let Some(info) = CertificateInfo::from_der(der) else {
            report.fail(
                name.clone(),
                format!(
                    "{field} ({}): certificate {} is not readable X.509",
                    path.display(),
                    i + 1
                ),
                "replace the file with a valid PEM certificate",
            );
            ok = false;
            continue;
        };
        let what = format!("{field} ({}): {}", path.display(), info.summary());
        if info.not_yet_valid {
            report.fail(
                name.clone(),
                format!("{what}: not valid yet"),
                "check the clock, or issue a certificate valid now",
            );
            ok = false;
        } else if info.days_left < 0 {
            report.fail(
                name.clone(),
                format!("{what}: expired {} days ago", -info.days_left),
                "issue a new certificate and point the configuration at it; the component refuses an expired one at load",
            );
            ok = false;
        } else if info.days_left < EXPIRY_WARNING_DAYS {
            report.problem(
                name.clone(),
                Outcome::Warning,
                format!("{what}: expires in {} days", info.days_left),
                "renew the certificate before it expires; a load after that fails",
            );
        } else {
            report.push(
                name.clone(),
                Outcome::Passed,
                format!("{what}: {} days left", info.days_left),
            );
        }
        if client && i == 0 {
            match info.client_auth {
                Some(false) => {
                    report.fail(
                        "client certificate use",
                        format!(
                            "{field} ({}): its Extended Key Usage does not allow TLS client \
                             authentication; KMIP servers refuse it",
                            path.display()
                        ),
                        "issue the client certificate with extendedKeyUsage = clientAuth",
                    );
                    ok = false;
                }
                Some(true) => report.push(
                    "client certificate use",
                    Outcome::Passed,
                    "its Extended Key Usage allows TLS client authentication",
                ),
                None => report.push(
                    "client certificate use",
                    Outcome::Passed,
                    "no Extended Key Usage: any use, TLS client authentication included",
                ),
            }
        }
    }
    ok
}

/// One server, step by step: name, TCP, TLS, then KMIP (the version used and what the
/// object group holds).
fn check_server(report: &mut Report, config: &Config, index: usize, server: &ServerEndpoint) {
    let name = |step: &str| format!("server {} {server}: {step}", index + 1);
    let addrs: Vec<SocketAddr> = match (server.host.as_str(), server.port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            report.fail(
                name("name resolution"),
                format!("{}: {e}", server.host),
                "check server_addr, and the host's DNS or /etc/hosts",
            );
            return;
        }
    };
    report.push(
        name("name resolution"),
        Outcome::Passed,
        format!(
            "{} resolves to {}",
            server.host,
            addrs
                .iter()
                .map(|a| a.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let mut last_error = None;
    let connected =
        addrs.iter().find_map(
            |addr| match TcpStream::connect_timeout(addr, config.timeout) {
                Ok(_) => Some(*addr),
                Err(e) => {
                    last_error = Some(format!("{addr}: {e}"));
                    None
                }
            },
        );
    let Some(addr) = connected else {
        report.fail(
            name("TCP connect"),
            format!(
                "no connection on port {} of {} within kmip_timeout_ms ({} ms): {}",
                server.port,
                server.host,
                config.timeout.as_millis(),
                last_error.unwrap_or_else(|| "no address".into())
            ),
            "is the KMIP server running and listening on this port, and does a firewall let \
             this host through?",
        );
        return;
    };
    report.push(
        name("TCP connect"),
        Outcome::Passed,
        format!("connected to {addr}"),
    );
    let mut single = config.clone();
    single.servers = vec![server.clone()];
    let broker = match Broker::from_config(&single) {
        Ok(broker) => broker,
        Err(e) => {
            report.fail(
                name("TLS handshake"),
                e.to_string(),
                "see the certificate checks above",
            );
            return;
        }
    };
    if let Err(e) = broker.open(0) {
        report.fail(
            name("TLS handshake"),
            e.to_string(),
            "check that server_ca signed the server's certificate, that it names the host in \
             server_addr (or set tls_hostname_verification false, which warns), and that the \
             server trusts client_ca's certificate",
        );
        return;
    }
    report.push(
        name("TLS handshake"),
        Outcome::Passed,
        format!(
            "mutual TLS established (peer verification {}, hostname verification {})",
            on_off(config.verification.peer),
            on_off(config.verification.hostname)
        ),
    );
    let (mut logic, _) = session::logic(broker, &single, Arc::new(Counters::default()));
    match logic.inventory() {
        Ok(objects) => {
            let version = logic
                .status()
                .protocol_version
                .unwrap_or_else(|| "unknown".into());
            let count = |state: &str| {
                objects
                    .iter()
                    .filter(|o| o.state.as_deref() == Some(state))
                    .count()
            };
            let (active, preactive) = (count("Active"), count("PreActive"));
            let others = objects.len() - active - preactive;
            let detail = format!(
                "KMIP {version}; object group {}: {active} Active, {preactive} PreActive{}",
                single.object_group.as_deref().unwrap_or("<none>"),
                if others > 0 {
                    format!(", {others} in other states")
                } else {
                    String::new()
                }
            );
            let over: Vec<String> = ["AES", "SECRET"]
                .into_iter()
                .filter_map(|label| {
                    let n = objects
                        .iter()
                        .filter(|o| o.key_type.label() == label && o.would_load())
                        .count() as u64;
                    (n > single.max_objects).then(|| format!("{n} {label} keys"))
                })
                .collect();
            if !over.is_empty() {
                report.fail(
                    name("KMIP"),
                    format!(
                        "{detail}; {} is more than max_objects ({}) allows: a load fails",
                        over.join(" and "),
                        single.max_objects
                    ),
                    &format!(
                        "raise max_objects in the configuration (at most {})",
                        kmip_keyring_rules::MAX_KEYS
                    ),
                );
            } else if preactive > 0 {
                report.problem(
                    name("KMIP"),
                    Outcome::Warning,
                    format!("{detail}; PreActive objects are left by stores that did not complete"),
                    "they were never reported stored and hold no key MySQL uses: `keyring-kmip \
                     list` shows them; destroy them with the server's own tools",
                );
            } else {
                report.push(name("KMIP"), Outcome::Passed, detail);
            }
        }
        Err(e) => report.fail(
            name("KMIP"),
            e.to_string(),
            "the server refused a Locate, Get Attributes or Get: check the client \
             certificate's permissions on the server (Vault roles, CipherTrust profiles)",
        ),
    }
}

/// Stores, reads back and removes a uniquely named probe key: the permissions a mysqld
/// needs (Register, Activate, Locate, Get, Revoke, Destroy).
fn probe(report: &mut Report, config: &Config) {
    let name = "write test";
    let broker = match Broker::from_config(config) {
        Ok(broker) => broker,
        Err(e) => return report.fail(name, e.to_string(), "see the checks above"),
    };
    let (mut logic, _) = session::logic(broker, config, Arc::new(Counters::default()));
    let data_id = format!(
        "keyring-kmip-probe-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let fix = "grant the client certificate Register, Activate, Locate, Get, Get Attributes, \
               Revoke and Destroy on the object group (Vault roles and CipherTrust profiles \
               often lack Destroy)";
    let entry = match logic.generate(&data_id, "", "AES", 32) {
        Ok(entry) => entry,
        Err(e) => return report.fail(name, format!("storing probe key {data_id}: {e}"), fix),
    };
    let found = match logic.load_all() {
        Ok(keys) => keys
            .iter()
            .any(|k| k.object_id == entry.object_id && k.data.as_slice() == entry.data.as_slice()),
        Err(e) => {
            let _ = logic.remove(&entry.object_id);
            return report.fail(name, format!("reading probe key {data_id} back: {e}"), fix);
        }
    };
    if let Err(e) = logic.remove(&entry.object_id) {
        return report.fail(
            name,
            format!(
                "removing probe key {data_id} (object {}): {e}; it is left on the server",
                entry.object_id
            ),
            fix,
        );
    }
    let via = logic
        .status()
        .server_index
        .and_then(|i| config.servers.get(i as usize))
        .map_or_else(String::new, |s| format!(" on {s}"));
    if found {
        report.push(
            name,
            Outcome::Passed,
            format!(
                "stored, read back and removed probe key {data_id} (object {}){via}",
                entry.object_id
            ),
        );
    } else {
        report.fail(
            name,
            format!("probe key {data_id} was stored but a load did not find it"),
            "check object_group, and that the server lists what it stores",
        );
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}
