// Fuzz target: Manifest::parse on arbitrary text; errors must name the file, accepted component lists must be split cleanly.
#![no_main]

use kmip_keyring_config::Manifest;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 becomes U+FFFD, as a lossy reader would see it.
    let text = String::from_utf8_lossy(data);
    match Manifest::parse(Path::new("mysqld.my"), &text) {
        Ok(manifest) => {
            for component in manifest.components.iter().flatten() {
                assert!(!component.is_empty(), "an empty component URN");
                assert!(!component.contains(','), "an unsplit component list");
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("mysqld.my"),
                "the error does not name the file: {message}"
            );
        }
    }
});
