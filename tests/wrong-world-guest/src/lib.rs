//! A guest for another, incompatible contract (`@0.9.0`, one export renamed): the host must
//! refuse it at load with an error naming what is missing.

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
