//! The rows of `performance_schema.keyring_component_status`: Percona's names in Percona's
//! order, then ours (guest, protocol version, server in use, then health: the last
//! exchange, the last error, operations and failures since the keyring loaded, objects
//! left on the server by failed stores).

use crate::keyring::{utc, Keyring};

/// Shown for configuration values before any successful load, as Percona does.
pub const NOT_APPLICABLE: &str = "<NOT APPLICABLE>";
/// The component's name, also its implementation name.
pub const COMPONENT_NAME: &str = "component_keyring_kmip";

/// How one row reads the loaded keyring.
type Row = (&'static str, fn(&Keyring) -> String);

/// The rows after the component's own, in order: each name with how it reads the loaded
/// keyring. With no keyring loaded every one shows [`NOT_APPLICABLE`], from this same list.
const KEYRING_ROWS: [Row; 21] = [
    ("Server_addr", |k| server_addr(k.config())),
    ("Server_port", |k| server_port(k.config())),
    ("Client_ca", |k| {
        k.config().client_cert.display().to_string()
    }),
    ("Client_key", |k| {
        k.config().client_key.display().to_string()
    }),
    ("Server_ca", |k| k.config().server_ca.display().to_string()),
    ("Object_group", |k| {
        k.config()
            .object_group
            .clone()
            .unwrap_or_else(|| "<NONE>".into())
    }),
    ("Max_objects", |k| k.config().max_objects.to_string()),
    ("Kmip_timeout_ms", |k| {
        k.config().timeout.as_millis().to_string()
    }),
    ("Tls_peer_verification", |k| {
        on_off(k.config().verification.peer)
    }),
    ("Tls_host_verification", |k| {
        on_off(k.config().verification.hostname)
    }),
    ("Sandbox_memory_mb", |k| {
        (k.config().limits.memory_bytes >> 20).to_string()
    }),
    ("Sandbox_fuel_per_call", |k| {
        k.config().limits.fuel_per_call.to_string()
    }),
    ("Guest_module", |k| k.guest_name().to_owned()),
    ("Guest_sha256", |k| k.guest_sha256().to_owned()),
    ("Kmip_protocol_version", |k| {
        k.session()
            .protocol_version
            .unwrap_or_else(|| NOT_APPLICABLE.into())
    }),
    ("Kmip_server_in_use", |k| {
        k.session().server.unwrap_or_else(|| NOT_APPLICABLE.into())
    }),
    // Health: what the component already saw, so reading the rows stays network-free.
    ("Kmip_last_exchange", |k| {
        k.last_exchange().map_or_else(
            || "<NONE>".into(),
            |(at, server)| format!("{} with {server}", utc(at)),
        )
    }),
    ("Kmip_last_error", |k| {
        k.activity()
            .last_failure()
            .map_or_else(|| "<NONE>".into(), |(at, why)| format!("{} {why}", utc(at)))
    }),
    ("Kmip_operations", |k| k.activity().operations().to_string()),
    ("Kmip_operation_failures", |k| {
        k.activity().failures().to_string()
    }),
    ("Kmip_objects_left_on_server", |k| {
        k.objects_left_on_server().to_string()
    }),
];

/// The status rows for the loaded keyring, or for none.
pub fn status_rows(keyring: Option<&Keyring>) -> Vec<(String, String)> {
    let status = if keyring.is_some() {
        "Active"
    } else {
        "Disabled"
    };
    let component = [
        ("Component_name", COMPONENT_NAME.to_owned()),
        ("Author", "component_keyring_kmip developers".into()),
        ("License", "GPL".into()),
        ("Implementation_name", COMPONENT_NAME.into()),
        ("Version", env!("CARGO_PKG_VERSION").into()),
        ("Component_status", status.into()),
    ];
    let rows = KEYRING_ROWS.iter().map(|(name, read)| {
        let value = keyring.map_or_else(|| NOT_APPLICABLE.to_owned(), read);
        (*name, value)
    });
    component
        .into_iter()
        .chain(rows)
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn on_off(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
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
