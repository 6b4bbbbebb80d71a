//! Measures what the sandbox costs at load, through the built component as mysqld uses it:
//! `keyring_load` with the embedded precompiled guest against the same guest given as a
//! `.wasm` (`guest_module`, compiled at load), each against a fresh PyKMIP, with the
//! process's resident memory before and after. Prints figures; asserts nothing.

use anyhow::Result;
use kmip_keyring_tests::install::Install;
use kmip_keyring_tests::loader::LoadedComponent;
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::workspace_root;
use std::time::Instant;

fn rss_kib() -> u64 {
    kmip_keyring_tests::proc_status_kib("VmRSS:")
}

fn measure(label: &str, server: &PyKmip, guest: Option<(&str, &str)>) -> Result<()> {
    let install = Install::new(server, None)?;
    if let Some((path, sha)) = guest {
        let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
            install.data_dir.join("component_keyring_kmip.cnf"),
        )?)?;
        config["guest_module"] = path.into();
        config["guest_sha256"] = sha.into();
        install.write_config(&config.to_string())?;
    }
    let component =
        LoadedComponent::load_library(&install.plugin_dir.join("component_keyring_kmip.so"))?;
    let before = rss_kib();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        anyhow::ensure!(component.keyring_load(
            &format!("{}/", install.plugin_dir.display()),
            &format!("{}/", install.data_dir.display())
        ));
        times.push(started.elapsed());
    }
    let after = rss_kib();
    println!(
        "{label:<34} first load {:>8.1} ms   reloads {:>6.1} ms (median of 4)   RSS +{:>6} KiB",
        times[0].as_secs_f64() * 1e3,
        {
            let mut r = times[1..].to_vec();
            r.sort();
            r[2].as_secs_f64() * 1e3
        },
        after.saturating_sub(before)
    );
    component.shutdown()
}

fn main() -> Result<()> {
    let server = PyKmip::start()?;
    let wasm = workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_guest.wasm");
    let bytes = std::fs::read(&wasm)?;
    let sha = kmip_keyring_tests::sha256_hex(&bytes);
    println!("keyring_load through the component, empty keyring on PyKMIP over TLS on loopback:");
    measure("embedded precompiled guest", &server, None)?;
    measure(
        "guest_module .wasm compiled at load",
        &server,
        Some((wasm.to_str().unwrap(), &sha)),
    )?;
    let started = Instant::now();
    let _ = component_keyring_kmip::Runtime::from_wasm(&bytes)?;
    println!(
        "Cranelift compile of the guest alone: {:.1} ms ({} KiB .wasm)",
        started.elapsed().as_secs_f64() * 1e3,
        bytes.len() / 1024
    );
    Ok(())
}
