//! `keyring-kmip list`: the objects in the object group, as the component would find them,
//! with everything but their bytes.

use crate::native::Counters;
use crate::session;
use anyhow::{Context, Result};
use kmip_keyring_broker::Broker;
use kmip_keyring_config::Config;
use kmip_keyring_core::ObjectSummary;
use serde::Serialize;
use std::sync::Arc;

/// One listed object.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// MySQL's data_id (the first KMIP Name), if it has one.
    pub data_id: Option<String>,
    /// MySQL's auth_id, empty for the server's own keys.
    pub auth_id: String,
    /// AES or SECRET.
    pub key_type: &'static str,
    /// The key length in bytes, when the server hands the key out.
    pub length: Option<usize>,
    /// The KMIP State.
    pub state: Option<String>,
    /// The KMIP Unique Identifier.
    pub object_id: String,
    /// What an operator should know: a PreActive leftover, more than one Name, unreadable
    /// material.
    pub notes: Vec<String>,
}

impl From<ObjectSummary> for Listed {
    fn from(o: ObjectSummary) -> Self {
        let mut notes = Vec::new();
        if o.is_preactive_leftover() {
            notes.push(
                "PreActive leftover of a store that did not complete: never reported stored, \
                 skipped by the load, safe to destroy"
                    .to_owned(),
            );
        }
        if o.names.len() > 1 {
            notes.push(format!("{} Names: {}", o.names.len(), o.names.join(", ")));
        }
        if let Some(why) = o.unreadable {
            notes.push(format!("key material not readable: {why}"));
        }
        Self {
            data_id: o.names.first().cloned(),
            auth_id: o.auth_id.unwrap_or_default(),
            key_type: o.key_type.label(),
            length: o.length,
            state: o.state,
            object_id: o.object_id,
            notes,
        }
    }
}

/// Every object in `config`'s object group, from the first server that answers.
pub fn run(config: &Config) -> Result<Vec<Listed>> {
    let broker = Broker::from_config(config)
        .with_context(|| format!("TLS setup for {}", config.source.display()))?;
    let (mut logic, _) = session::logic(broker, config, Arc::new(Counters::default()));
    let objects = logic.inventory().with_context(|| {
        format!(
            "listing object group {} on {}",
            config.object_group.as_deref().unwrap_or("<none>"),
            config
                .servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let mut listed: Vec<Listed> = objects.into_iter().map(Listed::from).collect();
    listed.sort_by(|a, b| {
        (&a.data_id, &a.auth_id, &a.object_id).cmp(&(&b.data_id, &b.auth_id, &b.object_id))
    });
    Ok(listed)
}
