//! The servers of a run (the fast peer, directly and behind the latency proxy, PyKMIP, and Cosmian KMS when installed), with a target for each.

use crate::target::Target;
use anyhow::Result;
use kmip_keyring_tests::cosmian::Cosmian;
use kmip_keyring_tests::fast_peer::FastPeer;
use kmip_keyring_tests::fault_proxy::FaultProxy;
use kmip_keyring_tests::pykmip::PyKmip;
use std::path::Path;

/// Prefix of the keys the load sections put on the servers.
pub const KEY_PREFIX: &str = "bench-key-";
/// The second real server's label in the tables.
pub const COSMIAN: &str = "Cosmian KMS";
/// Cosmian KMS's Object Group for the load section's keys.
pub const COSMIAN_GROUP: &str = "bench-cosmian";

/// Every server of a run. The targets come first, so they are dropped before the servers,
/// and the fast peer last, after the proxy in front of it.
pub struct Servers {
    pub fast: Target,
    pub proxied: Target,
    pub py: Target,
    /// Cosmian KMS's target, when it is installed.
    pub cos: Option<Target>,
    pub proxy: FaultProxy,
    pub pykmip: PyKmip,
    pub cosmian: Option<Cosmian>,
    pub peer: FastPeer,
}

impl Servers {
    /// Starts the fast peer, the proxy in front of it, PyKMIP and Cosmian KMS if it is
    /// installed (saying so on stderr if not); the targets' configurations go in `dir`.
    pub fn start(dir: &Path) -> Result<Self> {
        let peer = FastPeer::start()?;
        let proxy = FaultProxy::start(([127, 0, 0, 1], peer.port).into())?;
        let pykmip = PyKmip::start()?;
        let fast = Target::new("fast peer", &peer.config_json(), dir, None)?;
        let proxied = Target::new(
            "fast peer via proxy",
            &peer.config_json_for(proxy.port()),
            dir,
            None,
        )?;
        let py = Target::new("PyKMIP", &pykmip.config_json(None), dir, None)?;
        let cosmian = match kmip_keyring_tests::cosmian::binary() {
            Ok(_) => Some(Cosmian::start()?),
            Err(reason) => {
                eprintln!("bench: no Cosmian KMS rows: {reason}");
                None
            }
        };
        let cos = cosmian
            .as_ref()
            .map(|c| Target::new(COSMIAN, &c.config_json(None), dir, Some(COSMIAN_GROUP)))
            .transpose()?;
        Ok(Self {
            fast,
            proxied,
            py,
            cos,
            proxy,
            pykmip,
            cosmian,
            peer,
        })
    }
}
