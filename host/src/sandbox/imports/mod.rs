//! Host implementations of the guest's WIT imports, one file each.

mod entropy;
pub(super) mod insecure_seed;
mod logging;
mod transport;
