//! `keyring_load`: reads the configuration, builds a whole new keyring, swaps it in.

use super::super::abi::{Status, FAILED, OK};
use super::super::args::opt_str;
use super::super::component;
use super::super::error_log::{self, ErrorLog};
use super::super::guard::guard;
use super::failed;
use crate::log::LogLevel;
use std::ffi::c_char;
use std::path::Path;
use std::sync::Arc;

/// `load(component_path, instance_path)`: the plugin dir and the data dir, with or without
/// a trailing `/` (mysqld passes one, mysql_migrate_keyring does not).
///
/// # Safety
/// Strings are NULL or NUL-terminated.
pub unsafe extern "C" fn load(plugin_dir: *const c_char, data_dir: *const c_char) -> Status {
    guard(FAILED, || {
        error_log::acquire();
        // SAFETY: caller's arguments, valid for the call.
        let (Ok(Some(plugin_dir)), Ok(data_dir)) =
            (unsafe { opt_str(plugin_dir) }, unsafe { opt_str(data_dir) })
        else {
            return failed(
                "keyring load",
                "the plugin directory is missing or not UTF-8",
            );
        };
        let data_dir = data_dir.unwrap_or("");
        match component::load(
            Path::new(plugin_dir),
            Path::new(data_dir),
            Arc::new(ErrorLog),
        ) {
            Ok(count) => {
                let session = component::keyring()
                    .map(|k| k.session())
                    .unwrap_or_default();
                error_log::emit(
                    LogLevel::System,
                    &format!(
                        "keyring initialized with {count} keys from KMIP server {} (KMIP {})",
                        session.server.as_deref().unwrap_or("-"),
                        session.protocol_version.as_deref().unwrap_or("-")
                    ),
                );
                OK
            }
            Err(e) => {
                let kept = if component::keyring().is_some() {
                    "; the previous keyring stays in use"
                } else {
                    ""
                };
                failed("keyring load", format!("{e}{kept}"))
            }
        }
    })
}
