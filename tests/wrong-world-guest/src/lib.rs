//! A guest for another, incompatible contract (`@0.9.0`, one export renamed): the host must
//! refuse it at load with an error naming what is missing.

// wit-bindgen's generated glue (`generate!`, `export!`) is `unsafe` and undocumented, and
// lints reach into macro expansions: allowed here, for this crate alone. The code written
// here holds no `unsafe` (the guest's logic is guest/core, which forbids it).
#![allow(unsafe_code, missing_docs, clippy::undocumented_unsafe_blocks)]

wit_bindgen::generate!({
    inline: "
        package mysql:keyring-kmip@0.9.0;
        interface keyring {
            load-everything: func() -> u32;
        }
        world keyring-guest {
            export keyring;
        }
    ",
});

struct Guest;

impl exports::mysql::keyring_kmip::keyring::Guest for Guest {
    fn load_everything() -> u32 {
        0
    }
}

export!(Guest);
