//! Hand-written keyring guests: a core module in WebAssembly text (tests/raw-guests/) made
//! into a component of the `keyring-guest` world with wit-component, for misbehaviour a
//! Rust guest cannot express (growing a table).

use crate::workspace_root;
use anyhow::{Context, Result};

/// The component built from `tests/raw-guests/<name>.wat`.
pub fn component(name: &str) -> Result<Vec<u8>> {
    let path = workspace_root()
        .join("tests/raw-guests")
        .join(format!("{name}.wat"));
    let mut module =
        wat::parse_file(&path).with_context(|| format!("assembling {}", path.display()))?;
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(workspace_root().join("wit"))
        .context("reading wit/")?;
    let world = resolve.select_world(&[package], Some("keyring-guest"))?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )?;
    wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
        .with_context(|| format!("making a component of {}", path.display()))
}
