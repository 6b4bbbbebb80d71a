//! `component_keyring_kmip.cnf`: Percona's JSON keys, read with serde_json, every error
//! naming the file and the field.

#![forbid(unsafe_code)]

mod error;
mod fields;
mod servers;

pub use error::ConfigError;
pub use fields::json_type;

use fields::Fields;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The configuration file's name, in the plugin dir (global) or the data dir (local).
pub const CONFIG_FILE_NAME: &str = "component_keyring_kmip.cnf";

pub use kmip_keyring_rules::{
    DEFAULT_LOCATE_PAGE_SIZE, DEFAULT_MAX_OBJECTS, FETCH_BATCH_SIZE, MAX_KEYS,
};

/// Default for `kmip_timeout_ms`, as in Percona's component.
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// The most servers `server_addr` may list: a call from mysqld can wait for the deadline
/// once per server, so the list bounds the worst case.
pub const MAX_SERVERS: usize = 16;

/// One KMIP server endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEndpoint {
    /// Host name or IP address (`server_addr`).
    pub host: String,
    /// TCP port (`server_port`).
    pub port: u16,
}

impl std::fmt::Display for ServerEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    /// The KMIP servers, in the order they are tried.
    pub servers: Vec<ServerEndpoint>,
    /// `client_ca`: the client CERTIFICATE (PEM) — Percona's name is misleading.
    pub client_cert: PathBuf,
    /// `client_key`: the client private key (PEM).
    pub client_key: PathBuf,
    /// `server_ca`: the CA certificate(s) that signed the server certificate (PEM).
    pub server_ca: PathBuf,
    /// `object_group`: KMIP Object Group, `None` when absent or empty.
    pub object_group: Option<String>,
    /// `max_objects` (Percona's key and type): the most keys of one type a load accepts;
    /// a load that finds more fails, naming the key, instead of missing some.
    pub max_objects: u64,
    /// `kmip_timeout_ms`: deadline for connect, handshake, and each request/response.
    pub timeout: Duration,
    /// How the server's certificate is checked (`tls_peer_verification`,
    /// `tls_hostname_verification`).
    pub verification: TlsVerification,
    /// `locate_page_size`: identifiers one Locate asks for at most.
    pub locate_page_size: u32,
    /// `guest_module` and `guest_sha256`: a guest component to run instead of the
    /// embedded one, pinned by its SHA-256.
    pub guest: Option<GuestModule>,
    /// Limits on the guest instance.
    pub limits: Limits,
}

/// Hard limits on one guest instance (`sandbox_memory_mb`, `sandbox_fuel_per_call`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    /// Largest table, in elements.
    pub table_elements: usize,
    /// Fuel (roughly, wasm instructions) one call into the guest may burn; about 2 s of
    /// CPU at the default.
    pub fuel_per_call: u64,
}

/// Default for `sandbox_memory_mb`.
pub const DEFAULT_SANDBOX_MEMORY_MB: u64 = 64;
/// Default for `sandbox_fuel_per_call`.
pub const DEFAULT_SANDBOX_FUEL: u64 = 20_000_000_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: (DEFAULT_SANDBOX_MEMORY_MB << 20) as usize,
            table_elements: 100_000,
            fuel_per_call: DEFAULT_SANDBOX_FUEL,
        }
    }
}

/// How much of the server's certificate is checked. Both checks are on unless the
/// configuration turns them off (Percona's component ships them off; we do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsVerification {
    /// `tls_peer_verification`: the certificate chain must lead to `server_ca` and be valid
    /// now. Off, any certificate is accepted (the handshake signature is still checked).
    pub peer: bool,
    /// `tls_hostname_verification`: the certificate must name the host dialled. Only
    /// meaningful with peer verification on.
    pub hostname: bool,
}

impl Default for TlsVerification {
    fn default() -> Self {
        Self {
            peer: true,
            hostname: true,
        }
    }
}

impl TlsVerification {
    /// The warning to log when a check is off, if any.
    pub fn warning(&self) -> Option<&'static str> {
        match (self.peer, self.hostname) {
            (true, true) => None,
            (true, false) => Some(
                "tls_hostname_verification is off: any certificate signed by server_ca is \
                 accepted for every configured server",
            ),
            (false, _) => Some(
                "tls_peer_verification is off: the KMIP server's certificate is not checked, \
                 so anyone on the network path can pose as the key server",
            ),
        }
    }
}

/// A guest component chosen by configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestModule {
    /// `guest_module`: path of the `.wasm` component.
    pub path: PathBuf,
    /// `guest_sha256`: its SHA-256, lower-case hex.
    pub sha256: String,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::from_json(path, &text)
    }

    /// Validates configuration text; `source` names it in errors.
    pub fn from_json(source: &Path, text: &str) -> Result<Self, ConfigError> {
        let fields = Fields::parse(source, text)?;
        let servers = servers::parse(&fields)?;
        let timeout_ms = fields
            .optional_u64("kmip_timeout_ms")?
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(fields.invalid("kmip_timeout_ms", "must be at least 1"));
        }
        Ok(Self {
            source: source.to_owned(),
            servers,
            client_cert: fields.required_string("client_ca")?.into(),
            client_key: fields.required_string("client_key")?.into(),
            server_ca: fields.required_string("server_ca")?.into(),
            object_group: fields
                .optional_string("object_group")?
                .filter(|g| !g.is_empty()),
            max_objects: fields
                .bounded_u64("max_objects", 1, MAX_KEYS as u64)?
                .unwrap_or(DEFAULT_MAX_OBJECTS),
            timeout: Duration::from_millis(timeout_ms),
            verification: {
                let peer = fields
                    .optional_bool("tls_peer_verification")?
                    .unwrap_or(true);
                TlsVerification {
                    peer,
                    hostname: peer
                        && fields
                            .optional_bool("tls_hostname_verification")?
                            .unwrap_or(true),
                }
            },
            locate_page_size: fields
                .bounded_u64("locate_page_size", 16, 100_000)?
                .map_or(DEFAULT_LOCATE_PAGE_SIZE, |n| n as u32),
            guest: fields.guest_module()?,
            limits: Limits {
                memory_bytes: (fields
                    .bounded_u64("sandbox_memory_mb", 16, 4096)?
                    .unwrap_or(DEFAULT_SANDBOX_MEMORY_MB)
                    << 20) as usize,
                table_elements: Limits::default().table_elements,
                fuel_per_call: fields
                    .bounded_u64("sandbox_fuel_per_call", 1_000_000, u64::MAX)?
                    .unwrap_or(DEFAULT_SANDBOX_FUEL),
            },
        })
    }

    /// Finds the configuration as mysqld's `keyring_load` does: the global file in the
    /// plugin dir, replaced by the data dir's file when it says `"read_local_config": true`.
    /// Both directory forms (with and without a trailing `/`) are accepted.
    pub fn locate_and_load(plugin_dir: &Path, data_dir: &Path) -> Result<Self, ConfigError> {
        let global = plugin_dir.join(CONFIG_FILE_NAME);
        let text = std::fs::read_to_string(&global).map_err(|e| ConfigError::Read {
            file: global.clone(),
            reason: e.to_string(),
        })?;
        let fields = Fields::parse(&global, &text)?;
        if fields.optional_bool("read_local_config")?.unwrap_or(false) {
            Self::from_file(&data_dir.join(CONFIG_FILE_NAME))
        } else {
            Self::from_json(&global, &text)
        }
    }
}

#[cfg(test)]
mod tests;
