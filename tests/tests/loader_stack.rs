//! The C ABI on small thread stacks, as mysqld calls it: mysqld's connection threads have
//! `thread_stack` bytes (1 MiB by default, 128 KiB at the least). A guest that recurses
//! without bound fails the call cleanly from any of them; a thread with too little stack
//! left is refused with a clear error; and the host code of every entry point stays well
//! inside the minimum the component demands (measured by painting the stack).

use anyhow::Result;
use kmip_keyring_tests::install::Install;
use kmip_keyring_tests::loader::stack::stack_used;
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::workspace_root;
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn hostile_wasm() -> std::path::PathBuf {
    workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_hostile_guest.wasm")
}

/// mysqld's startup: the manifest's component loaded on a thread with a main thread's
/// 8 MiB of stack.
fn start(install: &Install) -> Result<LoadedComponent> {
    let (mysqld, plugin, data) = (&install.mysqld, &install.plugin_dir, &install.data_dir);
    let (started, _) = stack_used(8 << 20, || LoadedComponent::start(mysqld, plugin, data));
    let (c, loaded) = started?;
    anyhow::ensure!(loaded, "load failed: {:?}", registry::log_lines());
    Ok(c)
}

/// `ALTER INSTANCE RELOAD KEYRING` on a connection thread of `stack` bytes.
fn reload_on(stack: usize, c: &LoadedComponent, install: &Install) -> (bool, usize) {
    let (plugin, data) = (
        format!("{}/", install.plugin_dir.display()),
        format!("{}/", install.data_dir.display()),
    );
    stack_used(stack, || c.keyring_load(&plugin, &data))
}

/// The last line logged that contains `text`.
fn logged(text: &str) -> Option<String> {
    registry::log_lines()
        .into_iter()
        .rev()
        .map(|(_, l)| l)
        .find(|l| l.contains(text))
}

/// The KiB a refusal says the keyring needs.
fn needed_kib(refusal: &str) -> usize {
    refusal
        .split("the keyring needs ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the refusal names what is needed: {refusal}"))
}

#[test]
fn a_recursing_guest_fails_the_call_from_every_thread_stack_mysqld_allows() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    // Startup with the hostile guest behaving: it is compiled once, on the main thread,
    // and kept for the RELOADs below, which only change its mode.
    let install = Install::new(&server, None)?;
    install.use_guest(&hostile_wasm(), Some("hostile=none;stack-start"))?;
    let c = start(&install)?;
    for stack in [1 << 20, 256 << 10, 128 << 10] {
        let kib = stack >> 10;
        // load-all recurses: RELOAD fails and the previous keyring stays in use.
        install.use_guest(&hostile_wasm(), Some(&format!("hostile=recurse;r{kib}")))?;
        let (loaded, _) = reload_on(stack, &c, &install);
        assert!(!loaded, "{kib} KiB: the load fails");
        let line =
            logged("The component is not initialized properly").expect("the failure is logged");
        assert!(line.contains("call stack exhausted"), "{kib} KiB: {line}");
        assert!(c.is_initialized(), "the previous keyring stays");

        // store and generate recurse: each fails; the cache and the next call are fine.
        install.use_guest(
            &hostile_wasm(),
            Some(&format!("hostile=recurse-write;w{kib}")),
        )?;
        let (loaded, _) = reload_on(stack, &c, &install);
        assert!(loaded, "{kib} KiB: {:?}", registry::log_lines());
        let (results, _) = stack_used(stack, || {
            (
                c.generate("INNODBKey-s-1", None, "AES", 32),
                c.store("udf", Some("alice@localhost"), b"x", "SECRET"),
                c.read_secret("INNODBKey-s-1", None),
            )
        });
        assert!(!results.0, "{kib} KiB: generate fails");
        assert!(!results.1, "{kib} KiB: store fails");
        assert_eq!(results.2, Ok(None), "{kib} KiB: nothing half-stored");
        let line = logged("Error generating data for Data ID: 'INNODBKey-s-1'")
            .expect("the failure is logged");
        assert!(line.contains("call stack exhausted"), "{kib} KiB: {line}");
        assert!(c.is_initialized());
    }
    c.shutdown()
}

#[test]
fn too_little_stack_is_refused_with_a_clear_error_and_entry_points_fit_the_minimum() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, Some("stack"))?;
    let mut measured = Vec::new();
    let (mysqld, plugin, data) = (&install.mysqld, &install.plugin_dir, &install.data_dir);
    let (started, used) = stack_used(1 << 20, || LoadedComponent::start(mysqld, plugin, data));
    let (c, loaded) = started?;
    assert!(loaded);
    measured.push(("dlopen, init and the first load (precompiled guest)", used));

    // A thread of 32 KiB, less than the component asks to have left: refused, not run.
    let (stored, _) = stack_used(32 << 10, || c.store("small", None, &[1; 32], "AES"));
    assert!(!stored);
    let refusal = logged("of stack are left on the calling thread").expect("refusal logged");
    assert!(refusal.contains("raise mysqld's thread_stack"), "{refusal}");
    let needed = needed_kib(&refusal) << 10;
    assert_eq!(c.read_secret("small", None), Ok(None));

    // What each entry point uses of the caller's stack, measured on a 1 MiB thread.
    let (ok, used) = stack_used(1 << 20, || c.generate("g", None, "AES", 32));
    assert!(ok);
    measured.push(("generate", used));
    let (ok, used) = stack_used(1 << 20, || c.store("s", Some("bob@%"), b"secret", "SECRET"));
    assert!(ok);
    measured.push(("store", used));
    let (found, used) = stack_used(1 << 20, || c.read_secret("s", Some("bob@%")));
    assert!(found.unwrap().is_some());
    measured.push(("fetch", used));
    let (ok, used) = stack_used(1 << 20, || c.remove("g", None));
    assert!(ok);
    measured.push(("remove", used));
    let (ok, used) = reload_on(1 << 20, &c, &install);
    assert!(ok);
    measured.push(("reload", used));
    for (name, used) in &measured {
        eprintln!("{name}: {} KiB of the caller's stack", used >> 10);
        assert!(
            used * 2 <= needed,
            "{name} used {} KiB of the caller's stack; the component demands {} KiB be \
             left, which must be at least twice that",
            used >> 10,
            needed >> 10
        );
    }

    // A RELOAD that compiles a new guest_module runs Cranelift on the caller's thread: on a
    // 256 KiB thread it is refused, on mysqld's default 1 MiB it fits, with room to spare.
    install.use_guest(&hostile_wasm(), Some("stack"))?;
    let (ok, _) = reload_on(256 << 10, &c, &install);
    assert!(!ok, "{:?}", registry::log_lines());
    let refusal = logged("compiling the keyring guest refused").expect("refusal logged");
    let needed_to_compile = needed_kib(&refusal) << 10;
    let (ok, used) = reload_on(1 << 20, &c, &install);
    assert!(ok, "{:?}", registry::log_lines());
    eprintln!(
        "reload compiling a guest_module: {} KiB of the caller's stack",
        used >> 10
    );
    assert!(
        used * 2 <= needed_to_compile,
        "compiling used {} KiB; the component demands {} KiB",
        used >> 10,
        needed_to_compile >> 10
    );
    c.shutdown()
}
