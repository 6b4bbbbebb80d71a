//! `keyring_load`: reads the configuration, builds a whole new keyring, swaps it in.

use super::super::abi::{Status, FAILED, OK};
use super::super::args::opt_path;
use super::super::catalogue;
use super::super::component;
use super::super::error_log::{self, ErrorLog};
use super::super::guard::guard;
use super::super::stack;
use super::refused;
use crate::log::LogLevel;
use std::ffi::c_char;
use std::sync::Arc;

/// `load(component_path, instance_path)`: the plugin dir and the data dir, with or without
/// a trailing `/` (mysqld passes one, mysql_migrate_keyring does not), in any encoding a
/// Unix path may have.
///
/// # Safety
/// Strings are NULL or NUL-terminated.
pub unsafe extern "C" fn load(plugin_dir: *const c_char, data_dir: *const c_char) -> Status {
    guard(FAILED, || {
        error_log::acquire();
        if let Err(e) = stack::check("keyring load") {
            return refused(&catalogue::load_failed(&e));
        }
        // SAFETY: caller's arguments, valid for the call.
        let (plugin_dir, data_dir) = unsafe { (opt_path(plugin_dir), opt_path(data_dir)) };
        let Some(plugin_dir) = plugin_dir else {
            return refused(&catalogue::load_failed(
                "mysqld passed no plugin directory (NULL component_path)",
            ));
        };
        let data_dir = data_dir.unwrap_or(std::path::Path::new(""));
        match component::load(plugin_dir, data_dir, Arc::new(ErrorLog)) {
            Ok(count) => {
                let session = component::keyring()
                    .map(|k| k.session())
                    .unwrap_or_default();
                // At System level, which every verbosity shows, where MySQL's components
                // write this text as a Note: which keys and which server a mysqld runs on
                // belongs in every error log.
                error_log::emit(
                    LogLevel::System,
                    &catalogue::with_detail(
                        catalogue::INITIALIZED,
                        format!(
                            "{count} keys loaded from KMIP server {} (KMIP {})",
                            session.server.as_deref().unwrap_or("-"),
                            session.protocol_version.as_deref().unwrap_or("-")
                        ),
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
                refused(&catalogue::load_failed(&format!("{e}{kept}")))
            }
        }
    })
}
