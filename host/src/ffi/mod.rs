//! The C ABI mysqld sees: the component descriptor and the eight keyring services. This is
//! the only module of the crate with `unsafe`; every entry point catches panics.
//!
//! Layouts follow MySQL's `component_implementation.h`, `service.h` and the keyring service
//! headers (see the README's ABI notes): the order of function pointers is the ABI.

mod abi;
mod args;
mod catalogue;
mod component;
mod descriptor;
mod error_log;
mod guard;
mod handles;
mod services;
mod stack;

// `list_components` is exported by its #[unsafe(no_mangle)] attribute.
