//! A fresh process that loads the component like mysqld and prints every key it finds
//! (data_id, auth_id, type, hex bytes) as JSON: the "restart" witness of the loader tests.

use anyhow::{bail, Result};
use kmip_keyring_tests::loader::LoadedComponent;
use std::path::PathBuf;

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [mysqld, plugin_dir, data_dir] = args.as_slice() else {
        bail!("usage: loader_probe MYSQLD PLUGIN_DIR DATA_DIR");
    };
    let (component, loaded) = LoadedComponent::start(mysqld, plugin_dir, data_dir)?;
    if !loaded {
        bail!("load failed");
    }
    let mut keys = Vec::new();
    for (data_id, auth_id) in component.keys()? {
        let owner = (!auth_id.is_empty()).then_some(auth_id.as_str());
        let Ok(Some((data, ty))) = component.read_secret(&data_id, owner) else {
            bail!("listed key {data_id}/{auth_id} cannot be read");
        };
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        keys.push(
            serde_json::json!({"data_id": data_id, "auth_id": auth_id, "type": ty, "hex": hex}),
        );
    }
    component.shutdown()?;
    println!("{}", serde_json::Value::Array(keys));
    Ok(())
}
