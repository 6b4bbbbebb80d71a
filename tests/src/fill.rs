//! Another client that puts many keys on a KMIP server quickly: batched Register (100 per
//! message), then batched Activate, over one TLS connection of the host's broker. Used to
//! give a real server thousands of keys for load tests and benchmarks; it shares no code
//! with the keyring's load.

use anyhow::{ensure, Result};
use component_keyring_kmip::broker::{Broker, BrokeredConnection};
use component_keyring_kmip::Config;
use kmip_keyring_core::kmip::{request, ProtocolVersion};
use std::path::Path;

/// Objects per Register (and per Activate) message.
pub const BATCH: usize = 100;

/// One key to register: its Name and its AES key bytes (16, 24 or 32).
pub struct Key {
    /// The Name (MySQL's data_id).
    pub name: String,
    /// The key material.
    pub material: Vec<u8>,
}

/// One TLS connection of the host's broker to the server that `config` (Percona's JSON
/// keys, written to `dir`) names.
pub fn connect(config: &serde_json::Value, dir: &Path) -> Result<BrokeredConnection> {
    let path = dir.join("fill.cnf");
    std::fs::write(&path, config.to_string())?;
    let broker = Broker::from_config(&Config::from_file(&path)?)?;
    broker.open(0).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Registers and activates `keys` as AES Symmetric Keys in `group`; returns their Unique
/// Identifiers, in order.
pub fn fill(
    conn: &mut BrokeredConnection,
    group: Option<&str>,
    keys: &[Key],
) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH) {
        let uids = exchange(
            conn,
            chunk
                .iter()
                .map(|k| {
                    request::register_symmetric_key(
                        &k.name,
                        group,
                        "",
                        &k.material,
                        request::USAGE_ENCRYPT_DECRYPT,
                    )
                })
                .collect(),
        )?;
        exchange(conn, uids.iter().map(|u| request::activate(u)).collect())?;
        ids.extend(uids);
    }
    Ok(ids)
}

/// One batch; every item must succeed. Returns each item's Unique Identifier.
pub fn exchange(
    conn: &mut BrokeredConnection,
    payloads: Vec<request::RequestPayload<'_>>,
) -> Result<Vec<String>> {
    use crate::ttlv;
    let count = payloads.len();
    let message = request::encode(ProtocolVersion::V1_4, payloads)?;
    conn.send(&message).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let answer = ttlv::decode(&conn.receive().map_err(|e| anyhow::anyhow!("{e:?}"))?)?;
    let items = answer.all(ttlv::tag::BATCH_ITEM);
    ensure!(
        items.len() == count,
        "{} answers to {count} items",
        items.len()
    );
    items
        .into_iter()
        .map(|item| {
            let status = item
                .child(ttlv::tag::RESULT_STATUS)
                .and_then(ttlv::Item::enumeration);
            ensure!(
                status == Some(0),
                "the server refused a fill item: {item:?}"
            );
            Ok(item
                .path(&[ttlv::tag::RESPONSE_PAYLOAD, ttlv::tag::UNIQUE_IDENTIFIER])
                .and_then(ttlv::Item::text)
                .unwrap_or_default()
                .to_owned())
        })
        .collect()
}
