//! The wit-bindgen adapter: exports `kmip-keyring-core` as the `keyring-guest` world and
//! implements its `Platform` with the host's WIT imports. No keyring logic lives here.

// wit-bindgen's generated glue (`generate!`, `export!`) is `unsafe` and undocumented, and
// lints reach into macro expansions: allowed here, for this crate alone. The code written
// here holds no `unsafe` (the guest's logic is guest/core, which forbids it).
#![allow(unsafe_code, missing_docs, clippy::undocumented_unsafe_blocks)]

mod convert;
mod platform;

use convert::{to_wit_entry, to_wit_error};
use kmip_keyring_core::{KeyringLogic, Settings};
use platform::WitPlatform;
use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "keyring-guest",
});

use exports::mysql::keyring_kmip::keyring as wit;

/// Every heap block is wiped when freed, so copies of key material made inside
/// kmip-ttlv, serde or the bindings never outlive their use in guest memory.
#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

/// The server profile this build of the guest is for.
const PROFILE: kmip_keyring_core::VendorProfile = if cfg!(feature = "vendor-vault") {
    kmip_keyring_core::vendor::VAULT
} else if cfg!(feature = "vendor-ciphertrust") {
    kmip_keyring_core::vendor::CIPHERTRUST
} else if cfg!(feature = "vendor-fortanix") {
    kmip_keyring_core::vendor::FORTANIX
} else {
    kmip_keyring_core::vendor::GENERIC
};

thread_local! {
    // The guest is single-threaded; the state lives as long as the instance.
    static KEYRING: RefCell<KeyringLogic<WitPlatform>> =
        RefCell::new(KeyringLogic::with_profile(WitPlatform, PROFILE));
}

fn with_keyring<T>(f: impl FnOnce(&mut KeyringLogic<WitPlatform>) -> T) -> T {
    KEYRING.with(|k| f(&mut k.borrow_mut()))
}

struct Guest;

impl wit::Guest for Guest {
    fn configure(settings: wit::Settings) -> Result<(), wit::KeyringError> {
        install_panic_hook();
        let settings = Settings {
            object_group: settings.object_group,
            locate_page_size: settings.locate_page_size,
            fetch_batch_size: settings.fetch_batch_size,
            // The WIT settings carry no strategy: the sandboxed guest always batches.
            strategy: kmip_keyring_core::keyring::LoadStrategy::Batched,
        };
        with_keyring(|k| k.configure(settings)).map_err(to_wit_error)
    }

    fn load_all() -> Result<Vec<wit::KeyEntry>, wit::KeyringError> {
        let entries = with_keyring(KeyringLogic::load_all).map_err(to_wit_error)?;
        Ok(entries.into_iter().map(to_wit_entry).collect())
    }

    fn store_key(
        data_id: String,
        auth_id: String,
        key_type: String,
        data: Vec<u8>,
    ) -> Result<String, wit::KeyringError> {
        let data = zeroize::Zeroizing::new(data);
        with_keyring(|k| k.store(&data_id, &auth_id, &key_type, &data)).map_err(to_wit_error)
    }

    fn generate_key(
        data_id: String,
        auth_id: String,
        key_type: String,
        length: u32,
    ) -> Result<wit::KeyEntry, wit::KeyringError> {
        with_keyring(|k| k.generate(&data_id, &auth_id, &key_type, length))
            .map(to_wit_entry)
            .map_err(to_wit_error)
    }

    fn remove_key(object_id: String) -> Result<(), wit::KeyringError> {
        with_keyring(|k| k.remove(&object_id)).map_err(to_wit_error)
    }

    fn take_left_on_server() -> Vec<String> {
        with_keyring(KeyringLogic::take_left_on_server)
    }

    fn status() -> wit::SessionStatus {
        let status = with_keyring(|k| k.status());
        wit::SessionStatus {
            server_index: status.server_index,
            protocol_version: status.protocol_version,
        }
    }
}

/// A panic is a broken invariant: its message goes to the host's log (there is no stderr
/// in the sandbox), then the guest aborts with a trap and the host discards the instance.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        mysql::keyring_kmip::logging::log(
            mysql::keyring_kmip::logging::Level::Error,
            &format!("keyring guest panicked: {info}"),
        );
    }));
}

export!(Guest);
