//! The component descriptor: what `list_components` hands to mysqld's loader. Every
//! service is its own static struct (the registry indexes implementations by address).

use super::abi::*;
use super::error_log::{self, REGISTRY};
use super::guard::{guard, install_panic_hook};
use super::services::{
    aes, generator, keys_iterator, load, metadata_query, reader, status, writer,
};
use super::{component, guard};
use std::ffi::c_void;
use std::ptr::{null, null_mut};

static READER: ReaderService = ReaderService {
    init: reader::init,
    deinit: reader::deinit,
    fetch_length: reader::fetch_length,
    fetch: reader::fetch,
};
static WRITER: WriterService = WriterService {
    store: writer::store,
    remove: writer::remove,
};
static GENERATOR: GeneratorService = GeneratorService {
    generate: generator::generate,
};
static KEYS_ITERATOR: KeysIteratorService = KeysIteratorService {
    init: keys_iterator::init,
    deinit: keys_iterator::deinit,
    is_valid: keys_iterator::is_valid,
    next: keys_iterator::next,
    get_length: keys_iterator::get_length,
    get: keys_iterator::get,
};
static STATUS: StatusService = StatusService {
    is_initialized: status::is_initialized,
};
static METADATA_QUERY: MetadataQueryService = MetadataQueryService {
    init: metadata_query::init,
    deinit: metadata_query::deinit,
    is_valid: metadata_query::is_valid,
    next: metadata_query::next,
    get_length: metadata_query::get_length,
    get: metadata_query::get,
};
static LOAD: LoadService = LoadService { load: load::load };
static AES: AesService = AesService {
    get_size: aes::get_size,
    encrypt: aes::encrypt,
    decrypt: aes::decrypt,
};

const fn provide(name: &'static std::ffi::CStr, implementation: *const c_void) -> ServiceRef {
    ServiceRef {
        name: name.as_ptr(),
        implementation,
    }
}

static PROVIDES: [ServiceRef; 9] = [
    provide(
        c"keyring_reader_with_status.component_keyring_kmip",
        &READER as *const _ as *const c_void,
    ),
    provide(
        c"keyring_writer.component_keyring_kmip",
        &WRITER as *const _ as *const c_void,
    ),
    provide(
        c"keyring_generator.component_keyring_kmip",
        &GENERATOR as *const _ as *const c_void,
    ),
    provide(
        c"keyring_keys_metadata_iterator.component_keyring_kmip",
        &KEYS_ITERATOR as *const _ as *const c_void,
    ),
    provide(
        c"keyring_component_status.component_keyring_kmip",
        &STATUS as *const _ as *const c_void,
    ),
    provide(
        c"keyring_component_metadata_query.component_keyring_kmip",
        &METADATA_QUERY as *const _ as *const c_void,
    ),
    provide(
        c"keyring_load.component_keyring_kmip",
        &LOAD as *const _ as *const c_void,
    ),
    provide(
        c"keyring_aes.component_keyring_kmip",
        &AES as *const _ as *const c_void,
    ),
    ServiceRef {
        name: null(),
        implementation: null(),
    },
];

static REQUIRES: [PlaceholderRef; 2] = [
    PlaceholderRef {
        name: c"registry".as_ptr(),
        implementation: REGISTRY.as_ptr(),
    },
    PlaceholderRef {
        name: null(),
        implementation: null_mut(),
    },
];

static METADATA: [MetadataRef; 4] = [
    MetadataRef {
        key: c"mysql.author".as_ptr(),
        value: c"component_keyring_kmip developers".as_ptr(),
    },
    MetadataRef {
        key: c"mysql.license".as_ptr(),
        value: c"GPL".as_ptr(),
    },
    MetadataRef {
        key: c"component_keyring_kmip_service".as_ptr(),
        value: c"1".as_ptr(),
    },
    MetadataRef {
        key: null(),
        value: null(),
    },
];

/// `init()`: no I/O; only the panic hook. The keyring starts with `keyring_load.load`.
unsafe extern "C" fn init() -> Status {
    guard(FAILED, || {
        install_panic_hook();
        OK
    })
}

/// `deinit()`: drops the keyring and the engine (no thread of ours exists to stop), and
/// releases the error-log service, so the library can be unloaded.
unsafe extern "C" fn deinit() -> Status {
    guard::guard(FAILED, || {
        component::unload();
        error_log::release();
        let _ = std::panic::take_hook();
        OK
    })
}

static COMPONENT: Component = Component {
    name: c"component_keyring_kmip".as_ptr(),
    provides: PROVIDES.as_ptr(),
    requires: REQUIRES.as_ptr(),
    metadata: METADATA.as_ptr(),
    init: Some(init),
    deinit: Some(deinit),
};

/// The library's entry point, found by mysqld with `dlsym("list_components")`.
#[unsafe(no_mangle)]
pub extern "C" fn list_components() -> *const Component {
    &COMPONENT
}
