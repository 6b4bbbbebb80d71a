//! The keyring logic over the broker, configured as the component configures its guest.

use crate::native::{Counters, Log, NativePlatform};
use kmip_keyring_broker::Broker;
use kmip_keyring_config::Config;
use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_core::{KeyringLogic, LogLevel, Settings};
use std::sync::{Arc, Mutex};

/// What the keyring logic logged, in order.
pub type Lines = Arc<Mutex<Vec<(LogLevel, String)>>>;

/// The keyring logic the component runs, natively, over `broker`, with `config`'s object
/// group and page size; its log lines are kept.
pub fn logic(
    broker: Broker,
    config: &Config,
    counters: Arc<Counters>,
) -> (KeyringLogic<NativePlatform>, Lines) {
    let lines: Lines = Arc::default();
    let kept = lines.clone();
    let log: Log = Arc::new(move |level, message: &str| {
        if let Ok(mut lines) = kept.lock() {
            lines.push((level, message.to_owned()));
        }
    });
    let mut logic = KeyringLogic::new(NativePlatform::new(broker, counters, log));
    logic
        .configure(Settings {
            object_group: config.object_group.clone(),
            locate_page_size: config.locate_page_size,
            fetch_batch_size: kmip_keyring_rules::FETCH_BATCH_SIZE,
            strategy: LoadStrategy::Batched,
        })
        .expect("the configuration's page and batch sizes are in range");
    (logic, lines)
}
