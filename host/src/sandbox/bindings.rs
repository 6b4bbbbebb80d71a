//! Host bindings generated from `wit/keyring.wit`: the only contract with the guest.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "keyring-guest",
    // Every import may trap: a host invariant broken by the guest (a handle that is not in
    // the table, an absurd entropy request) ends the call instead of panicking in mysqld.
    imports: { default: trappable },
    // Exports are called with `call_async`, which runs them on a fiber: the guest's own
    // stack of known size (see `run.rs`). The imports stay synchronous.
    exports: { default: async },
    with: {
        "mysql:keyring-kmip/transport.connection": crate::sandbox::GuestConnection,
    },
});

pub use exports::mysql::keyring_kmip::keyring;
pub use mysql::keyring_kmip::{entropy, logging, transport};
