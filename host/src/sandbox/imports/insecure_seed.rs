//! `wasi:random/insecure-seed`: the one WASI function a guest is given. Rust's standard
//! library seeds `HashMap` with it (kmip-ttlv uses one while decoding); it grants no
//! access to anything. Every other WASI import a toolchain leaves in a guest traps.

use crate::sandbox::HostState;
use wasmtime::component::{Component, Linker};
use wasmtime::StoreContextMut;

const INTERFACE_PREFIX: &str = "wasi:random/insecure-seed@0.2.";

/// Defines `insecure-seed` for whichever 0.2.x version the guest imports.
pub fn define(linker: &mut Linker<HostState>, component: &Component) -> wasmtime::Result<()> {
    let engine = component.engine().clone();
    let names: Vec<String> = component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .filter(|name| name.starts_with(INTERFACE_PREFIX))
        .collect();
    for name in names {
        linker.instance(&name)?.func_wrap(
            "insecure-seed",
            |mut store: StoreContextMut<'_, HostState>, (): ()| {
                HostState::charge(store.data_mut(), 0)?;
                let mut seed = [0u8; 16];
                getrandom::fill(&mut seed).map_err(|e| {
                    wasmtime::format_err!("operating-system randomness failed: {e}")
                })?;
                let (a, b) = seed.split_at(8);
                Ok(((
                    u64::from_le_bytes(a.try_into().expect("8 bytes")),
                    u64::from_le_bytes(b.try_into().expect("8 bytes")),
                ),))
            },
        )?;
    }
    Ok(())
}
