//! `transport`: connections to configured servers by index, through the TLS broker.

use crate::sandbox::bindings::transport::{Host, HostConnection, TransportError};
use crate::sandbox::budget::MAX_OPEN_CONNECTIONS;
use crate::sandbox::host_state::HostState;
use crate::sandbox::types::to_wit_transport;
use crate::sandbox::GuestConnection;
use std::sync::atomic::Ordering;
use wasmtime::component::Resource;

impl Host for HostState {
    fn server_count(&mut self) -> wasmtime::Result<u32> {
        self.charge(0)?;
        Ok(self.dialer.server_count())
    }

    fn open(
        &mut self,
        index: u32,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, TransportError>> {
        self.charge(0)?;
        if self.open_connections >= MAX_OPEN_CONNECTIONS {
            // The keyring needs one connection; a guest holding this many leaks them. It
            // traps, so the instance and every connection it holds are discarded.
            wasmtime::bail!(
                "the guest holds {MAX_OPEN_CONNECTIONS} open connections and asked for another"
            );
        }
        let conn = match self.dialer.open(index) {
            Ok(channel) => GuestConnection(channel),
            Err(e) => return Ok(Err(to_wit_transport(e))),
        };
        let handle = self.table.push(conn)?;
        self.open_connections += 1;
        Ok(Ok(handle))
    }
}

impl HostConnection for HostState {
    fn server_index(&mut self, conn: Resource<GuestConnection>) -> wasmtime::Result<u32> {
        self.charge(0)?;
        Ok(self.table.get(&conn)?.0.server_index())
    }

    fn send(
        &mut self,
        conn: Resource<GuestConnection>,
        message: Vec<u8>,
    ) -> wasmtime::Result<Result<(), TransportError>> {
        let message = zeroize::Zeroizing::new(message);
        self.charge(message.len())?;
        self.budget
            .message()
            .map_err(|e| wasmtime::format_err!("{e}"))?;
        Ok(self
            .table
            .get_mut(&conn)?
            .0
            .send(&message)
            .map_err(to_wit_transport))
    }

    fn receive(
        &mut self,
        conn: Resource<GuestConnection>,
    ) -> wasmtime::Result<Result<Vec<u8>, TransportError>> {
        self.charge(0)?;
        let response = self.table.get_mut(&conn)?.0.receive();
        if response.is_ok() {
            self.responses.fetch_add(1, Ordering::Relaxed);
        }
        Ok(response.map_err(to_wit_transport))
    }

    fn drop(&mut self, conn: Resource<GuestConnection>) -> wasmtime::Result<()> {
        self.charge(0)?;
        self.table.delete(conn)?;
        self.open_connections -= 1;
        Ok(())
    }
}
