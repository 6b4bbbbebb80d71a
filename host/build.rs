//! Embeds the default guest: the wasm32-wasip2 component built from `guest/adapter`.

use std::path::PathBuf;

const GUEST_FILE: &str = "kmip_keyring_guest.wasm";

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
    println!("cargo:rustc-env=KMIP_KEYRING_GUEST_WASM={}", path.display());

    // The same guest, compiled ahead of time by kmip-keyring-engine's `precompile` with the
    // host's engine settings (scripts/build-guest.sh writes it next to the .wasm).
    let artifact = path.with_extension("cwasm");
    println!("cargo:rerun-if-changed={}", artifact.display());
    if !artifact.is_file() {
        panic!(
            "the precompiled guest {} is missing: run scripts/build-guest.sh",
            artifact.display()
        );
    }
    println!(
        "cargo:rustc-env=KMIP_KEYRING_GUEST_CWASM={}",
        artifact.display()
    );
}
