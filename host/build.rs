//! Embeds the default guest: the wasm32-wasip2 component built from `guest/adapter`, and
//! the same guest precompiled, after checking that the artifact was made from this `.wasm`.

use sha2::Digest;
use std::path::{Path, PathBuf};

const GUEST_FILE: &str = "kmip_keyring_guest.wasm";

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn main() {
    println!("cargo:rerun-if-env-changed=KMIP_KEYRING_GUEST_WASM");
    let path = match std::env::var_os("KMIP_KEYRING_GUEST_WASM") {
        Some(p) => PathBuf::from(p),
        None => {
            // OUT_DIR is <target>/<profile>/build/<crate>/out; the guest lives in
            // <target>/wasm32-wasip2/release/.
            let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
            let target = out
                .ancestors()
                .nth(4)
                .expect("OUT_DIR is inside the target dir");
            target
                .join("wasm32-wasip2")
                .join("release")
                .join(GUEST_FILE)
        }
    };
    println!("cargo:rerun-if-changed={}", path.display());
    if !path.is_file() {
        panic!(
            "the keyring guest {} is not built yet: run scripts/build-guest.sh \
             (cargo build --release -p kmip-keyring-guest --target wasm32-wasip2) first, \
             or set KMIP_KEYRING_GUEST_WASM to a guest component",
            path.display()
        );
    }
    let guest_sha256 = sha256_hex(&read(&path));
    println!("cargo:rustc-env=KMIP_KEYRING_GUEST_WASM={}", path.display());
    println!("cargo:rustc-env=KMIP_KEYRING_GUEST_SHA256={guest_sha256}");

    // The same guest, compiled ahead of time by kmip-keyring-engine's `precompile` with the
    // host's engine settings (scripts/build-guest.sh writes it next to the .wasm), and the
    // SHA-256 of the .wasm it was compiled from (kmip_keyring_engine::source_hash_path).
    let artifact = path.with_extension("cwasm");
    let mut source = artifact.as_os_str().to_owned();
    source.push(".source-sha256");
    let source = PathBuf::from(source);
    for file in [&artifact, &source] {
        println!("cargo:rerun-if-changed={}", file.display());
        if !file.is_file() {
            panic!(
                "the precompiled guest {} is missing: run scripts/build-guest.sh",
                file.display()
            );
        }
    }
    let made_from = String::from_utf8_lossy(&read(&source)).trim().to_owned();
    if made_from != guest_sha256 {
        // A stale artifact would run the old guest while the status rows show the new
        // guest's hash: refuse to build rather than embed it.
        panic!(
            "the precompiled guest {} was made from a .wasm with SHA-256 {made_from}, but {} \
             has SHA-256 {guest_sha256}: run scripts/build-guest.sh to precompile it again",
            artifact.display(),
            path.display()
        );
    }
    println!(
        "cargo:rustc-env=KMIP_KEYRING_GUEST_CWASM={}",
        artifact.display()
    );
    println!("cargo:rustc-env=KMIP_KEYRING_GUEST_CWASM_SOURCE_SHA256={made_from}");
}
