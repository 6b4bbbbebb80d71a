//! A mysqld-style component loader for tests, written from the reference independently of
//! the component's Rust types: manifest, dlopen(RTLD_NOW|RTLD_LOCAL), `list_components`,
//! registry with the server's own implementations first, requirements, `init`, the
//! server's keyring binding (reader not named mysql_server, then `acquire_related`),
//! `load(plugin_dir, datadir)`, and the callers' real calling patterns. All of the test
//! tree's `unsafe` lives in this module.

mod abi;
pub mod abi_lines;
pub mod c_reader;
pub mod manifest;
mod probes;
pub mod registry;
pub mod stack;

pub use probes::Probes;

use abi::*;
use anyhow::{anyhow, bail, Context, Result};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::ptr::{null, null_mut};

/// A reader call the component refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadFailed;

impl std::fmt::Display for ReadFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the keyring reader reported a failure")
    }
}

impl std::error::Error for ReadFailed {}

/// The keyring services mysqld binds to.
pub const KEYRING_SERVICES: [&str; 7] = [
    "keyring_aes",
    "keyring_generator",
    "keyring_keys_metadata_iterator",
    "keyring_component_status",
    "keyring_component_metadata_query",
    "keyring_load",
    "keyring_writer",
];

struct Bound {
    reader: *const Reader,
    aes: *const Aes,
    generator: *const Generator,
    keys: *const Iterator6,
    status: *const ComponentStatus,
    metadata: *const Iterator6,
    load: *const Load,
    writer: *const Writer,
    acquired: Vec<*const c_void>,
}

/// A component loaded and bound as mysqld does it.
pub struct LoadedComponent {
    library: Option<Library>,
    descriptor: *const ComponentDescriptor,
    provided: Vec<String>,
    required: Vec<*const c_void>,
    bound: Bound,
    /// The descriptor's name.
    pub name: String,
    /// Its metadata (key, value).
    pub metadata: Vec<(String, String)>,
}

// SAFETY: the component's services are called from many threads by mysqld too; the
// pointers refer to immutable service structs of the loaded library, and `shutdown` takes
// the component by value, so no thread can use it afterwards.
unsafe impl Send for LoadedComponent {}
// SAFETY: as above.
unsafe impl Sync for LoadedComponent {}

fn cstring(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

unsafe fn text(p: *const c_char) -> String {
    // SAFETY: NUL-terminated strings from the component's static descriptor.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Which server the loader plays: MySQL 8.1 and later offer the minimal chassis's
/// lock-free registry, earlier releases do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryForm {
    /// `registry.mysql_minimal_chassis_no_lock` is registered (MySQL 9.7, as mysqld).
    WithNoLock,
    /// Only the locking registry exists.
    LockingOnly,
}

/// Makes the registry offer (or withdraw) the lock-free implementation; loads after this
/// see the given form. The default is mysqld 9.7's, with it.
pub fn set_registry_form(form: RegistryForm) {
    register_server_services();
    match form {
        RegistryForm::WithNoLock => {
            registry::register(
                registry::NO_LOCK_REGISTRY,
                &registry::REGISTRY_NO_LOCK as *const _ as *const c_void,
            );
        }
        RegistryForm::LockingOnly => {
            assert!(
                registry::unregister(registry::NO_LOCK_REGISTRY)
                    || !registry::names()
                        .iter()
                        .any(|n| n == registry::NO_LOCK_REGISTRY),
                "the lock-free registry is still referenced"
            );
        }
    }
}

/// Registers what mysqld registers before any component: the registry itself (the
/// default, registered first), its lock-free twin, the simple error log, and the server's
/// own `.mysql_server` keyring wrappers (so they are the defaults).
pub fn register_server_services() {
    if registry::register(
        "registry.mysql_server",
        &registry::REGISTRY as *const _ as *const c_void,
    ) {
        registry::register(
            registry::NO_LOCK_REGISTRY,
            &registry::REGISTRY_NO_LOCK as *const _ as *const c_void,
        );
    }
    registry::register(
        "mysql_simple_error_log.mysql_server",
        &registry::SIMPLE_ERROR_LOG as *const _ as *const c_void,
    );
    for (i, service) in ["keyring_reader_with_status"]
        .iter()
        .chain(KEYRING_SERVICES.iter())
        .enumerate()
    {
        registry::register(
            &format!("{service}.mysql_server"),
            &registry::SERVER_PLACEHOLDER[i] as *const _ as *const c_void,
        );
    }
}

impl LoadedComponent {
    /// Loads the components named by the manifest beside `mysqld` (or in `data_dir`),
    /// binds the keyring, and calls `load(plugin_dir/, data_dir/)` as mysqld does.
    /// Returns the loaded component and `load`'s status.
    pub fn start(mysqld: &Path, plugin_dir: &Path, data_dir: &Path) -> Result<(Self, bool)> {
        let (urns, _) = manifest::components(mysqld, data_dir)?;
        let [urn] = urns.as_slice() else {
            bail!("expected one component in the manifest, got {urns:?}")
        };
        let component = Self::load_library(&manifest::library_path(urn, plugin_dir)?)?;
        let loaded = component.keyring_load(
            &format!("{}/", plugin_dir.display()),
            &format!("{}/", data_dir.display()),
        );
        Ok((component, loaded))
    }

    /// The loader steps for one library, up to and including `init` and keyring binding.
    pub fn load_library(path: &Path) -> Result<Self> {
        register_server_services();
        // SAFETY: loading the component under test; its initialisers are Rust statics.
        let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
            .with_context(|| format!("dlopen {}", path.display()))?;
        // SAFETY: the documented entry point's signature.
        let list: libloading::os::unix::Symbol<
            unsafe extern "C" fn() -> *const ComponentDescriptor,
        > = unsafe { library.get(b"list_components\0") }.context("dlsym list_components")?;
        // SAFETY: calling the entry point.
        let descriptor = unsafe { list() };
        if descriptor.is_null() {
            bail!("list_components returned NULL");
        }
        // SAFETY: the descriptor and its arrays are statics of the library, terminated as
        // the ABI requires (checked by walking to the terminators).
        let d = unsafe { &*descriptor };
        // SAFETY: the descriptor's name is a NUL-terminated static string of the library.
        let name = unsafe { text(d.name) };
        let mut provides = Vec::new();
        let mut i = 0;
        loop {
            // SAFETY: walking the provides array to its NULL-implementation terminator.
            let entry = unsafe { &*d.provides.add(i) };
            if entry.implementation.is_null() {
                break;
            }
            // SAFETY: the entry's name is a static NUL-terminated string of the library.
            provides.push((unsafe { text(entry.name) }, entry.implementation));
            i += 1;
        }
        let mut requires = Vec::new();
        let mut i = 0;
        loop {
            // SAFETY: walking the requires array to its NULL-name terminator.
            let entry = unsafe { &*d.requires.add(i) };
            if entry.name.is_null() {
                break;
            }
            // SAFETY: as above.
            requires.push((unsafe { text(entry.name) }, entry.implementation));
            i += 1;
        }
        let mut metadata = Vec::new();
        let mut i = 0;
        loop {
            // SAFETY: walking the metadata array to its NULL-key terminator.
            let entry = unsafe { &*d.metadata.add(i) };
            if entry.key.is_null() {
                break;
            }
            // SAFETY: as above, for key and value.
            metadata.push(unsafe { (text(entry.key), text(entry.value)) });
            i += 1;
        }
        // Every requirement must be satisfiable by the batch or the registry.
        let known = registry::names();
        for (req, _) in &requires {
            let satisfiable = provides
                .iter()
                .any(|(p, _)| p == req || p.split('.').next() == Some(req))
                || known
                    .iter()
                    .any(|k| k == req || k.split('.').next() == Some(req.as_str()));
            if !satisfiable {
                bail!("requirement {req} cannot be satisfied");
            }
        }
        for (p, implementation) in &provides {
            if !registry::register(p, *implementation) {
                bail!("duplicate implementation {p}");
            }
        }
        let mut required = Vec::new();
        for (req, slot) in &requires {
            let service = registry::acquire(req).ok_or_else(|| anyhow!("cannot acquire {req}"))?;
            // SAFETY: the placeholder slot is a static of the library.
            unsafe { slot.write(service) };
            required.push(service);
        }
        if let Some(init) = d.init {
            // SAFETY: the component's init.
            if unsafe { init() } != 0 {
                bail!("init failed");
            }
        }
        let bound = Self::bind()?;
        Ok(Self {
            library: Some(library),
            descriptor,
            provided: provides.into_iter().map(|(n, _)| n).collect(),
            required,
            bound,
            name,
            metadata,
        })
    }

    /// mysqld's binding: the first reader implementation not named mysql_server, then the
    /// other seven services related to it.
    fn bind() -> Result<Bound> {
        let reader_name = registry::names()
            .into_iter()
            .find(|n| n.contains("keyring_reader_with_status") && !n.contains("mysql_server"))
            .ok_or_else(|| anyhow!("no keyring reader besides the server's"))?;
        let reader =
            registry::acquire(&reader_name).ok_or_else(|| anyhow!("acquire {reader_name}"))?;
        let mut acquired = vec![reader];
        let mut related = |service: &str| -> Result<*const c_void> {
            let p = registry::acquire_related(service, reader)
                .ok_or_else(|| anyhow!("acquire_related {service}"))?;
            if registry::SERVER_PLACEHOLDER
                .iter()
                .any(|s| s as *const usize as *const c_void == p)
            {
                bail!("{service} resolved to the server's own wrapper: the component does not provide it");
            }
            acquired.push(p);
            Ok(p)
        };
        Ok(Bound {
            aes: related("keyring_aes")?.cast(),
            generator: related("keyring_generator")?.cast(),
            keys: related("keyring_keys_metadata_iterator")?.cast(),
            status: related("keyring_component_status")?.cast(),
            metadata: related("keyring_component_metadata_query")?.cast(),
            load: related("keyring_load")?.cast(),
            writer: related("keyring_writer")?.cast(),
            reader: reader.cast(),
            acquired,
        })
    }

    /// Every implementation name the component provides.
    pub fn provided(&self) -> &[String] {
        &self.provided
    }

    /// `keyring_load.load(plugin_dir, data_dir)`.
    pub fn keyring_load(&self, plugin_dir: &str, data_dir: &str) -> bool {
        let (p, d) = (cstring(plugin_dir), cstring(data_dir));
        // SAFETY: bound service; NUL-terminated arguments.
        unsafe { ((*self.bound.load).load)(p.as_ptr(), d.as_ptr()) == 0 }
    }

    /// `keyring_component_status.is_initialized`.
    pub fn is_initialized(&self) -> bool {
        // SAFETY: bound service.
        unsafe { ((*self.bound.status).is_initialized)() != 0 }
    }

    /// MySQL's `read_secret` helper: init, fetch_length, buffers of exactly the lengths
    /// (type buffer = type length), fetch, deinit. `Ok(None)` for an absent key.
    pub fn read_secret(
        &self,
        data_id: &str,
        auth_id: Option<&str>,
    ) -> Result<Option<(Vec<u8>, String)>, ReadFailed> {
        self.fetch_with(data_id, auth_id, 0, 0)
    }

    /// As `read_secret`, with buffers `extra_data` / `extra_type` bytes larger (negative:
    /// smaller) than the lengths reported.
    pub fn fetch_with(
        &self,
        data_id: &str,
        auth_id: Option<&str>,
        extra_data: isize,
        extra_type: isize,
    ) -> Result<Option<(Vec<u8>, String)>, ReadFailed> {
        let id = cstring(data_id);
        let auth = auth_id.map(cstring);
        let r = self.bound.reader;
        let mut object: Handle = null_mut();
        // SAFETY: bound reader service; valid arguments and out pointers throughout.
        unsafe {
            if ((*r).init)(
                id.as_ptr(),
                auth.as_ref().map_or(null(), |a| a.as_ptr()),
                &mut object,
            ) != 0
            {
                return Err(ReadFailed);
            }
            if object.is_null() {
                return Ok(None);
            }
            let (mut data_len, mut type_len) = (0usize, 0usize);
            let status = ((*r).fetch_length)(object, &mut data_len, &mut type_len);
            if status != 0 || data_len == 0 || type_len == 0 {
                ((*r).deinit)(object);
                return if status == 0 {
                    Ok(None)
                } else {
                    Err(ReadFailed)
                };
            }
            let data_cap = (data_len as isize + extra_data).max(0) as usize;
            let type_cap = (type_len as isize + extra_type).max(0) as usize;
            let mut data = vec![0u8; data_cap.max(1)];
            let mut ty = vec![0u8; type_cap.max(1) + 1];
            let (mut got_data, mut got_type) = (0usize, 0usize);
            let status = ((*r).fetch)(
                object,
                data.as_mut_ptr(),
                data_cap,
                &mut got_data,
                ty.as_mut_ptr().cast(),
                type_cap,
                &mut got_type,
            );
            ((*r).deinit)(object);
            if status != 0 {
                return Err(ReadFailed);
            }
            data.truncate(got_data);
            ty.truncate(got_type);
            Ok(Some((data, String::from_utf8(ty).map_err(|_| ReadFailed)?)))
        }
    }

    /// `keyring_writer.store`.
    pub fn store(
        &self,
        data_id: &str,
        auth_id: Option<&str>,
        data: &[u8],
        data_type: &str,
    ) -> bool {
        let (id, ty) = (cstring(data_id), cstring(data_type));
        let auth = auth_id.map(cstring);
        // SAFETY: bound service; valid arguments.
        unsafe {
            ((*self.bound.writer).store)(
                id.as_ptr(),
                auth.as_ref().map_or(null(), |a| a.as_ptr()),
                data.as_ptr(),
                data.len(),
                ty.as_ptr(),
            ) == 0
        }
    }

    /// `keyring_writer.remove`.
    pub fn remove(&self, data_id: &str, auth_id: Option<&str>) -> bool {
        let id = cstring(data_id);
        let auth = auth_id.map(cstring);
        // SAFETY: bound service; valid arguments.
        unsafe {
            ((*self.bound.writer).remove)(id.as_ptr(), auth.as_ref().map_or(null(), |a| a.as_ptr()))
                == 0
        }
    }

    /// `keyring_generator.generate`.
    pub fn generate(
        &self,
        data_id: &str,
        auth_id: Option<&str>,
        data_type: &str,
        size: usize,
    ) -> bool {
        let (id, ty) = (cstring(data_id), cstring(data_type));
        let auth = auth_id.map(cstring);
        // SAFETY: bound service; valid arguments.
        unsafe {
            ((*self.bound.generator).generate)(
                id.as_ptr(),
                auth.as_ref().map_or(null(), |a| a.as_ptr()),
                ty.as_ptr(),
                size,
            ) == 0
        }
    }

    /// The keys iterator with mysql_migrate_keyring's pattern: lengths without the NUL,
    /// buffers of length + 1.
    pub fn keys(&self) -> Result<Vec<(String, String)>> {
        // SAFETY: bound iterator service.
        unsafe { iterate(self.bound.keys, 1) }
    }

    /// The status rows, as performance_schema reads them (lengths include the NUL).
    pub fn status_rows(&self) -> Result<Vec<(String, String)>> {
        // SAFETY: bound iterator service.
        unsafe { iterate(self.bound.metadata, 0) }
    }

    /// Raw keys-iterator checks: returns (is_valid after init, next at end status,
    /// get with an exact-length buffer status) for the first key.
    pub fn keys_edge_cases(&self) -> (bool, i32, i32) {
        let it = self.bound.keys;
        let mut h: Handle = null_mut();
        // SAFETY: bound iterator service; valid buffers.
        unsafe {
            if ((*it).init)(&mut h) != 0 {
                return (false, -1, -1);
            }
            let valid = ((*it).is_valid)(h) != 0;
            let (mut a, mut b) = (0usize, 0usize);
            ((*it).get_length)(h, &mut a, &mut b);
            let mut da = vec![0 as c_char; a.max(1)];
            let mut db = vec![0 as c_char; b + 1];
            let exact = ((*it).get)(h, da.as_mut_ptr(), a, db.as_mut_ptr(), b + 1);
            while ((*it).is_valid)(h) != 0 {
                ((*it).next)(h);
            }
            let past_end = ((*it).next)(h);
            ((*it).deinit)(h);
            (valid, past_end, exact)
        }
    }

    /// `keyring_aes.get_size`.
    pub fn aes_size(&self, input_len: usize, mode: &str, block_size: usize) -> Option<usize> {
        let m = cstring(mode);
        let mut out = 0usize;
        // SAFETY: bound service; valid arguments.
        let status =
            unsafe { ((*self.bound.aes).get_size)(input_len, m.as_ptr(), block_size, &mut out) };
        (status == 0).then_some(out)
    }

    /// `keyring_aes.encrypt` / `decrypt` with an output buffer of `capacity` bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn aes(
        &self,
        encrypt: bool,
        data_id: &str,
        auth_id: Option<&str>,
        mode: &str,
        block_size: usize,
        iv: &[u8; 16],
        padding: bool,
        input: &[u8],
        capacity: usize,
    ) -> Option<Vec<u8>> {
        let (id, m) = (cstring(data_id), cstring(mode));
        let auth = auth_id.map(cstring);
        let mut out = vec![0u8; capacity.max(1)];
        let mut written = 0usize;
        let f = if encrypt {
            self.bound_aes().encrypt
        } else {
            self.bound_aes().decrypt
        };
        // SAFETY: bound service; valid buffers of the stated sizes.
        let status = unsafe {
            f(
                id.as_ptr(),
                auth.as_ref().map_or(null(), |a| a.as_ptr()),
                m.as_ptr(),
                block_size,
                iv.as_ptr(),
                padding as i32,
                input.as_ptr(),
                input.len(),
                out.as_mut_ptr(),
                capacity,
                &mut written,
            )
        };
        (status == 0).then(|| {
            out.truncate(written);
            out
        })
    }

    fn bound_aes(&self) -> &Aes {
        // SAFETY: bound service struct, a static of the loaded library.
        unsafe { &*self.bound.aes }
    }

    /// Unloads as mysqld does at shutdown: release the bound services, `deinit`, release
    /// requirements, unregister, `dlclose`.
    pub fn shutdown(mut self) -> Result<()> {
        self.unload()
    }

    fn unload(&mut self) -> Result<()> {
        if self.library.is_none() {
            return Ok(());
        }
        for p in self.bound.acquired.drain(..) {
            registry::release(p);
        }
        // SAFETY: the descriptor is still mapped (the library is open).
        let d = unsafe { &*self.descriptor };
        if let Some(deinit) = d.deinit {
            // mysqld holds the registry's write lock while a component deinitialises.
            registry::set_write_locked(true);
            // SAFETY: the component's deinit.
            let status = unsafe { deinit() };
            registry::set_write_locked(false);
            if status != 0 {
                bail!("deinit failed");
            }
        }
        for p in self.required.drain(..) {
            registry::release(p);
        }
        for name in &self.provided {
            if !registry::unregister(name) {
                bail!("cannot unregister {name}: still referenced");
            }
        }
        if let Some(library) = self.library.take() {
            library.close().context("dlclose")?;
        }
        Ok(())
    }
}

impl Drop for LoadedComponent {
    fn drop(&mut self) {
        // A test that failed half-way still unloads, so the next one can load again.
        let _ = self.unload();
    }
}

/// Walks a 6-method iterator. `extra` = 1 for the keys iterator (lengths exclude the NUL),
/// 0 for the metadata query (lengths include it).
unsafe fn iterate(service: *const Iterator6, extra: usize) -> Result<Vec<(String, String)>> {
    let mut h: Handle = null_mut();
    let mut rows = Vec::new();
    // SAFETY: bound iterator service; every buffer is as long as the length passed.
    unsafe {
        if ((*service).init)(&mut h) != 0 {
            bail!("iterator init failed");
        }
        let mut guard = 0;
        while ((*service).is_valid)(h) != 0 {
            guard += 1;
            if guard > 100_000 {
                bail!("iterator does not end");
            }
            let (mut a, mut b) = (0usize, 0usize);
            if ((*service).get_length)(h, &mut a, &mut b) != 0 {
                bail!("get_length failed");
            }
            let mut ka = vec![0u8; a + extra];
            let mut kb = vec![0u8; b + extra];
            if ((*service).get)(
                h,
                ka.as_mut_ptr().cast(),
                a + extra,
                kb.as_mut_ptr().cast(),
                b + extra,
            ) != 0
            {
                bail!("get failed");
            }
            let s = |v: Vec<u8>| {
                String::from_utf8_lossy(v.split(|c| *c == 0).next().unwrap_or(&[])).into_owned()
            };
            rows.push((s(ka), s(kb)));
            if ((*service).next)(h) != 0 {
                break;
            }
        }
        ((*service).deinit)(h);
    }
    Ok(rows)
}

/// One key as the loader probe (`src/bin/loader_probe.rs`) prints it:
/// (data_id, auth_id, type, hex bytes).
pub type ProbedKey = (String, String, String, String);

/// Every key in the probe's JSON output, sorted.
pub fn probed_keys(stdout: &[u8]) -> Result<Vec<ProbedKey>> {
    let keys: Vec<serde_json::Value> =
        serde_json::from_slice(stdout).context("the loader probe's output is not its JSON")?;
    let mut found: Vec<ProbedKey> = keys
        .iter()
        .map(|k| {
            let s = |f: &str| k[f].as_str().unwrap_or_default().to_owned();
            (s("data_id"), s("auth_id"), s("type"), s("hex"))
        })
        .collect();
    found.sort();
    Ok(found)
}
