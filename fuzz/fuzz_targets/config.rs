// Fuzz target: Config::from_json on arbitrary text; errors must name the file, accepted configs must hold their invariants.
#![no_main]

use kmip_keyring_config::{Config, MAX_SERVERS};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 becomes U+FFFD, as a lossy reader would see it.
    let text = String::from_utf8_lossy(data);
    match Config::from_json(Path::new("fuzz.cnf"), &text) {
        Ok(config) => {
            assert_eq!(config.source, Path::new("fuzz.cnf"));
            assert!(!config.servers.is_empty(), "accepted without servers");
            assert!(
                config.servers.len() <= MAX_SERVERS,
                "accepted too many servers"
            );
            for (i, server) in config.servers.iter().enumerate() {
                assert_ne!(server.port, 0, "accepted port 0");
                assert!(!server.host.is_empty(), "accepted an empty host");
                assert!(
                    !config.servers[..i].contains(server),
                    "accepted {server} twice"
                );
                let _ = server.to_string();
            }
            assert!(config.timeout.as_millis() >= 1, "accepted a zero timeout");
            assert_ne!(config.object_group.as_deref(), Some(""));
            assert!(
                config.verification.peer || !config.verification.hostname,
                "hostname verification without peer verification"
            );
            let _ = config.verification.warning();
            if let Some(guest) = &config.guest {
                assert_eq!(guest.sha256.len(), 64, "accepted a short SHA-256");
            }
            let memory_mb = config.limits.memory_bytes >> 20;
            assert!((16..=4096).contains(&memory_mb), "memory {memory_mb} MB");
            assert!(config.limits.fuel_per_call >= 1_000_000);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("fuzz.cnf"),
                "the error does not name the file: {message}"
            );
        }
    }
});
