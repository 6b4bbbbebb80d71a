//! `Keyring`: a loaded state — configuration, the in-memory key cache, and the sandbox
//! that talks KMIP. Reads come from the cache under a read lock and never touch the
//! network; writes go through the guest to the server first, then into the cache.

mod activity;
mod cache;
mod error;
mod leftovers;

pub use activity::{utc, Activity};
pub use cache::{CachedKey, KeyId};
pub use error::KeyringError;
use leftovers::left_on_server_for;
pub use leftovers::{LeftObject, LeftOnServer, MAX_LEFT_ON_SERVER};

use crate::aes_modes::{self, Mode};
use crate::broker::{key_file_warning, Broker, CallKind};
use crate::config::{Config, ConfigError};
use crate::log::{LogLevel, LogSink};
use crate::sandbox::{GuestKey, GuestSettings, Runtime, Sandbox, SandboxError};
use cache::Cache;
use kmip_keyring_rules::KeyType;
use std::sync::{Arc, Mutex, RwLock};
use zeroize::Zeroizing;

pub use kmip_keyring_rules::MAX_KEYS;

/// Checks that a key the guest returned is one MySQL could have stored, by the rules the
/// guest applies to requests.
fn check_guest_key(entry: &GuestKey) -> Result<(), KeyringError> {
    KeyType::parse(&entry.key_type)
        .and_then(|t| t.check_length(entry.data.len()))
        .map_err(|e| {
            KeyringError::GuestOutput(format!(
                "key '{}' of type {} with {} bytes ({e})",
                entry.data_id,
                entry.key_type,
                entry.data.len()
            ))
        })
}

/// `max_objects`: a load with more keys of one type than it allows fails, naming the key
/// and the file, rather than serving some of them (Percona's component keeps the first
/// `max_objects` the server lists, silently).
fn check_max_objects(config: &Config, entries: &[GuestKey]) -> Result<(), KeyringError> {
    for label in ["AES", "SECRET"] {
        let found = entries
            .iter()
            .filter(|e| e.key_type.eq_ignore_ascii_case(label))
            .count() as u64;
        if found > config.max_objects {
            return Err(KeyringError::Config(ConfigError::Invalid {
                file: config.source.clone(),
                field: "max_objects",
                reason: format!(
                    "is {}, but the KMIP server holds {found} {label} keys{}; raise it (at \
                     most {MAX_KEYS}) so that no key is left unloaded",
                    config.max_objects,
                    config
                        .object_group
                        .as_deref()
                        .map(|g| format!(" in object group {g}"))
                        .unwrap_or_default(),
                ),
            }));
        }
    }
    Ok(())
}

/// What the status rows report about the live session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionInfo {
    /// "host:port" of the server in use, if connected.
    pub server: Option<String>,
    /// The negotiated KMIP version, e.g. "1.4".
    pub protocol_version: Option<String>,
}

/// A loaded keyring.
pub struct Keyring {
    config: Config,
    guest_name: String,
    guest_sha256: String,
    cache: RwLock<Cache>,
    sandbox: Mutex<Sandbox>,
    broker: Arc<Broker>,
    log: Arc<dyn LogSink>,
    activity: Activity,
    /// Shared with the keyring this one replaced when both are on the same servers.
    left_on_server: Arc<LeftOnServer>,
}

/// Runs one call into the guest within its time budget (`kmip_timeout_ms` times the
/// number of servers) and, when it fails for want of a server, names every server tried.
fn within_budget<T>(
    broker: &Broker,
    activity: &Activity,
    kind: CallKind,
    operation: &'static str,
    call: impl FnOnce() -> Result<T, SandboxError>,
) -> Result<T, KeyringError> {
    let health = broker.health();
    let servers = broker.servers().len().max(1) as u32;
    health.begin_call(kind, broker.timeout().saturating_mul(servers));
    let result = call();
    let failed = health.failures_in_call();
    health.end_call();
    let result = result.map_err(|e| match e {
        e if e.is_transport() && !failed.is_empty() => KeyringError::Unavailable {
            operation,
            servers: failed,
        },
        other => other.into(),
    });
    // What the error log says of this operation, for the status rows.
    activity.record(operation, &result);
    result
}

impl Keyring {
    /// Builds a complete keyring from `config`: TLS setup, a sandboxed guest, and the
    /// cache filled from the server. Nothing is kept on failure.
    pub fn load(
        config: Config,
        runtime: Arc<Runtime>,
        log: Arc<dyn LogSink>,
    ) -> Result<Self, KeyringError> {
        Self::load_after(config, runtime, log, None)
    }

    /// As [`Self::load`], to replace `previous` (RELOAD): objects left on the server by
    /// its failed stores stay out of the new cache and are taken back by the new keyring,
    /// when both are on the same servers.
    pub fn reload(
        config: Config,
        runtime: Arc<Runtime>,
        log: Arc<dyn LogSink>,
        previous: &Keyring,
    ) -> Result<Self, KeyringError> {
        Self::load_after(config, runtime, log, Some(previous))
    }

    fn load_after(
        config: Config,
        runtime: Arc<Runtime>,
        log: Arc<dyn LogSink>,
        previous: Option<&Keyring>,
    ) -> Result<Self, KeyringError> {
        let left_on_server = left_on_server_for(&config, previous, log.as_ref());
        let guest_sha256 = runtime.guest_sha256().to_owned();
        let guest_name = runtime.guest_name().to_owned();
        let broker = Arc::new(Broker::from_config(&config)?);
        for warning in [
            config.verification.warning().map(str::to_owned),
            key_file_warning(&config.client_key),
        ]
        .into_iter()
        .flatten()
        {
            log.log(LogLevel::Warning, &warning);
        }
        let settings = GuestSettings {
            object_group: config.object_group.clone(),
            locate_page_size: config.locate_page_size,
            fetch_batch_size: crate::config::FETCH_BATCH_SIZE,
        };
        let mut sandbox = Sandbox::new(
            runtime,
            broker.clone(),
            log.clone(),
            settings,
            config.limits,
        );
        let activity = Activity::default();
        let entries = within_budget(&broker, &activity, CallKind::Load, "load", || {
            sandbox.load_all()
        })?;
        if entries.len() > MAX_KEYS {
            return Err(KeyringError::GuestOutput(format!(
                "{} keys, more keys than the limit of {MAX_KEYS}",
                entries.len()
            )));
        }
        check_max_objects(&config, &entries)?;
        let mut cache = Cache::default();
        for entry in entries {
            if !entry.data_id.is_empty() && !entry.data.is_empty() {
                check_guest_key(&entry)?;
            }
            let GuestKey {
                object_id,
                data_id,
                auth_id,
                key_type,
                data,
            } = entry;
            if left_on_server.contains(&object_id) {
                log.log(
                    LogLevel::Warning,
                    &format!(
                        "skipping KMIP object {object_id}: it was left on the server by a \
                         store of {} reported failed, and is taken back once a server answers",
                        KeyId::new(&data_id, &auth_id)
                    ),
                );
                continue;
            }
            if data_id.is_empty() || data.is_empty() {
                log.log(
                    LogLevel::Warning,
                    &format!("skipping KMIP object {object_id}: no name or no key material"),
                );
                continue;
            }
            let id = KeyId { data_id, auth_id };
            if cache.contains(&id) {
                log.log(
                    LogLevel::Warning,
                    &format!("skipping KMIP object {object_id}: another object already holds {id}"),
                );
                continue;
            }
            cache.insert(
                id,
                CachedKey {
                    object_id,
                    key_type,
                    data,
                },
            );
        }
        log.log(
            LogLevel::Info,
            &format!(
                "keyring loaded {} keys using {}",
                cache.len(),
                config.source.display()
            ),
        );
        let keyring = Self {
            config,
            guest_name,
            guest_sha256,
            cache: RwLock::new(cache),
            sandbox: Mutex::new(sandbox),
            broker,
            log,
            activity,
            left_on_server,
        };
        // The load just reached a server: a good moment to settle what is left.
        keyring.take_back(&mut keyring.lock_sandbox(), None)?;
        Ok(keyring)
    }

    /// The configuration this keyring was loaded from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Which guest serves this keyring: `embedded` or the `guest_module` path.
    pub fn guest_name(&self) -> &str {
        &self.guest_name
    }

    /// SHA-256 of the guest component serving this keyring, in hex.
    pub fn guest_sha256(&self) -> &str {
        &self.guest_sha256
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_sandbox(&self) -> std::sync::MutexGuard<'_, Sandbox> {
        self.sandbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached key (shared, not copied: no allocation on mysqld's read path), from the
    /// cache only; `None` when absent.
    pub fn fetch(&self, data_id: &str, auth_id: &str) -> Option<Arc<CachedKey>> {
        self.read_cache().get(data_id, auth_id).cloned()
    }

    /// Every key's identity, in a stable order.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.read_cache().ids()
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.read_cache().len()
    }

    /// Whether the keyring holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_new(&self, data_id: &str, auth_id: &str) -> Result<(), KeyringError> {
        if data_id.is_empty() {
            return Err(KeyringError::InvalidArgument(
                "data_id must not be empty".into(),
            ));
        }
        if self.read_cache().get(data_id, auth_id).is_some() {
            return Err(KeyringError::AlreadyExists(KeyId::new(data_id, auth_id)));
        }
        Ok(())
    }

    /// Stores a key on the server, then in the cache. Fails if (data_id, auth_id) exists.
    pub fn store(
        &self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        data: &[u8],
    ) -> Result<(), KeyringError> {
        // Writers are serialised by the sandbox lock, held across the check and the insert.
        let mut sandbox = self.lock_sandbox();
        self.check_new(data_id, auth_id)?;
        let id = KeyId::new(data_id, auth_id);
        self.take_back(&mut sandbox, Some(&id))?;
        let stored = within_budget(
            &self.broker,
            &self.activity,
            CallKind::Write,
            "store",
            || sandbox.store(data_id, auth_id, key_type, data),
        );
        let object_id = self.after_write(&mut sandbox, &id, stored)?;
        let key_type = key_type.to_ascii_uppercase();
        self.write_cache().insert(
            id,
            CachedKey {
                object_id,
                key_type,
                data: Zeroizing::new(data.to_vec()),
            },
        );
        Ok(())
    }

    /// Generates `length` random bytes in the guest and stores them as a new key.
    pub fn generate(
        &self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        length: usize,
    ) -> Result<(), KeyringError> {
        let length = u32::try_from(length).map_err(|_| {
            KeyringError::InvalidArgument(format!("key length {length} is too large"))
        })?;
        let mut sandbox = self.lock_sandbox();
        self.check_new(data_id, auth_id)?;
        let id = KeyId::new(data_id, auth_id);
        self.take_back(&mut sandbox, Some(&id))?;
        let generated = within_budget(
            &self.broker,
            &self.activity,
            CallKind::Write,
            "generate",
            || sandbox.generate(data_id, auth_id, key_type, length),
        );
        let entry = self.after_write(&mut sandbox, &id, generated)?;
        let data = entry.data;
        if data.len() != length as usize || entry.data_id != data_id || entry.auth_id != auth_id {
            self.log.log(
                LogLevel::Error,
                &format!("the guest returned a key that does not match the request for {data_id}"),
            );
            return Err(KeyringError::GuestOutput(format!(
                "a different key than the one requested for '{data_id}'"
            )));
        }
        self.write_cache().insert(
            id,
            CachedKey {
                object_id: entry.object_id,
                key_type: entry.key_type,
                data,
            },
        );
        Ok(())
    }

    /// Removes a key from the server, then from the cache. Fails if it is absent.
    pub fn remove(&self, data_id: &str, auth_id: &str) -> Result<(), KeyringError> {
        let mut sandbox = self.lock_sandbox();
        let object_id = self
            .read_cache()
            .get(data_id, auth_id)
            .map(|k| k.object_id.clone())
            .ok_or_else(|| KeyringError::NotFound(KeyId::new(data_id, auth_id)))?;
        within_budget(
            &self.broker,
            &self.activity,
            CallKind::Write,
            "remove",
            || sandbox.remove(&object_id),
        )?;
        self.write_cache().remove(data_id, auth_id);
        let _ = self.take_back(&mut sandbox, None);
        Ok(())
    }

    /// What the keyring has done with the servers since it loaded.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// When a KMIP server last answered a request, and which ("host:port").
    pub fn last_exchange(&self) -> Option<(std::time::SystemTime, String)> {
        self.broker.health().last_answer()
    }

    /// The server in use and the negotiated protocol version.
    pub fn session(&self) -> SessionInfo {
        let status = self.lock_sandbox().status();
        SessionInfo {
            server: status
                .server_index
                .and_then(|i| self.config.servers.get(i as usize))
                .map(ToString::to_string),
            protocol_version: status.protocol_version,
        }
    }
}

/// Which way `Keyring::aes` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AesDirection {
    /// Encrypt.
    Encrypt,
    /// Decrypt.
    Decrypt,
}

impl Keyring {
    /// `keyring_aes`: AES-256 with the key SHA-256(stored bytes) of an AES key.
    #[allow(clippy::too_many_arguments)]
    pub fn aes(
        &self,
        direction: AesDirection,
        data_id: &str,
        auth_id: &str,
        mode: &str,
        block_size: usize,
        iv: &[u8],
        padding: bool,
        input: &[u8],
    ) -> Result<Vec<u8>, KeyringError> {
        let mode = Mode::parse(mode, block_size)?;
        let key = self
            .fetch(data_id, auth_id)
            .ok_or_else(|| KeyringError::NotFound(KeyId::new(data_id, auth_id)))?;
        if !key.key_type.eq_ignore_ascii_case("aes") {
            return Err(aes_modes::AesError::NotAesKey(key.key_type.clone()).into());
        }
        let derived = aes_modes::derive_key(&key.data);
        Ok(match direction {
            AesDirection::Encrypt => aes_modes::encrypt(mode, &derived, iv, padding, input)?,
            AesDirection::Decrypt => aes_modes::decrypt(mode, &derived, iv, padding, input)?,
        })
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material: only where it came from and how much there is.
        f.debug_struct("Keyring")
            .field("config", &self.config.source)
            .field("guest", &self.guest_name)
            .field("keys", &self.len())
            .finish()
    }
}
