//! The rows of `performance_schema.keyring_component_status`: Percona's names in Percona's
//! order, then ours (guest, protocol version, server in use).

use crate::keyring::Keyring;

/// Shown for configuration values before any successful load, as Percona does.
pub const NOT_APPLICABLE: &str = "<NOT APPLICABLE>";
/// The component's name, also its implementation name.
pub const COMPONENT_NAME: &str = "component_keyring_kmip";

/// The status rows for the loaded keyring, or for none.
pub fn status_rows(keyring: Option<&Keyring>) -> Vec<(String, String)> {
    let mut rows: Vec<(&str, String)> = vec![
        ("Component_name", COMPONENT_NAME.into()),
        ("Author", "component_keyring_kmip developers".into()),
        ("License", "GPL".into()),
        ("Implementation_name", COMPONENT_NAME.into()),
        ("Version", env!("CARGO_PKG_VERSION").into()),
        (
            "Component_status",
            if keyring.is_some() {
                "Active"
            } else {
                "Disabled"
            }
            .into(),
        ),
    ];
    let na = || NOT_APPLICABLE.to_owned();
    match keyring {
        Some(k) => {
            let c = k.config();
            let session = k.session();
            let on_off = |b: bool| if b { "true" } else { "false" }.to_owned();
            rows.extend([
                ("Server_addr", server_addr(c)),
                ("Server_port", server_port(c)),
                ("Client_ca", c.client_cert.display().to_string()),
                ("Client_key", c.client_key.display().to_string()),
                ("Server_ca", c.server_ca.display().to_string()),
                (
                    "Object_group",
                    c.object_group.clone().unwrap_or_else(|| "<NONE>".into()),
                ),
                ("Kmip_timeout_ms", c.timeout.as_millis().to_string()),
                ("Tls_peer_verification", on_off(c.verification.peer)),
                ("Tls_host_verification", on_off(c.verification.hostname)),
                (
                    "Sandbox_memory_mb",
                    (c.limits.memory_bytes >> 20).to_string(),
                ),
                ("Sandbox_fuel_per_call", c.limits.fuel_per_call.to_string()),
                ("Guest_module", k.guest_name().to_owned()),
                ("Guest_sha256", k.guest_sha256().to_owned()),
                (
                    "Kmip_protocol_version",
                    session.protocol_version.unwrap_or_else(na),
                ),
                ("Kmip_server_in_use", session.server.unwrap_or_else(na)),
            ]);
        }
        None => rows.extend(
            [
                "Server_addr",
                "Server_port",
                "Client_ca",
                "Client_key",
                "Server_ca",
                "Object_group",
                "Kmip_timeout_ms",
                "Tls_peer_verification",
                "Tls_host_verification",
                "Sandbox_memory_mb",
                "Sandbox_fuel_per_call",
                "Guest_module",
                "Guest_sha256",
                "Kmip_protocol_version",
                "Kmip_server_in_use",
            ]
            .map(|name| (name, na())),
        ),
    }
    rows.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Percona's `Server_addr`: the host, or every host of a list in order.
fn server_addr(config: &crate::Config) -> String {
    config
        .servers
        .iter()
        .map(|s| s.host.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Percona's `Server_port`: the port, or each server's port in order when they differ.
fn server_port(config: &crate::Config) -> String {
    let ports: Vec<String> = config.servers.iter().map(|s| s.port.to_string()).collect();
    if ports.iter().all(|p| *p == ports[0]) {
        ports[0].clone()
    } else {
        ports.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MySQL's keyring tests find the component's rows with
    /// `STATUS_KEY LIKE '%name%' OR STATUS_KEY LIKE '%status%'` and expect exactly
    /// Component_name, Implementation_name and Component_status: a row of ours whose name
    /// holds either word would show up in their results.
    #[test]
    fn only_percona_rows_match_the_suites_name_and_status_filter() {
        let matching: Vec<String> = status_rows(None)
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| {
                let lower = name.to_lowercase();
                lower.contains("name") || lower.contains("status")
            })
            .collect();
        assert_eq!(
            matching,
            ["Component_name", "Implementation_name", "Component_status"]
        );
    }
}
