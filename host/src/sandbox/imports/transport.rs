//! `transport`: connections to configured servers by index, through the TLS broker.

use crate::broker::GuestConnection;
use crate::sandbox::bindings::transport::{Host, HostConnection, TransportError};
use crate::sandbox::host_state::HostState;
use wasmtime::component::Resource;

/// How many connections one guest may hold open at once.
const MAX_OPEN_CONNECTIONS: usize = 8;

impl Host for HostState {
    fn server_count(&mut self) -> wasmtime::Result<u32> {
        Ok(self.dialer.server_count())
    }

    fn open(
        &mut self,
        index: u32,
    ) -> wasmtime::Result<Result<Resource<GuestConnection>, TransportError>> {
        if self.open_connections >= MAX_OPEN_CONNECTIONS {
            return Ok(Err(TransportError::Io(format!(
                "the guest already holds {MAX_OPEN_CONNECTIONS} open connections"
            ))));
        }
        let conn = match self.dialer.open(index) {
            Ok(channel) => GuestConnection(channel),
            Err(e) => return Ok(Err(e)),
        };
        let handle = self.table.push(conn)?;
        self.open_connections += 1;
        Ok(Ok(handle))
    }
}

impl HostConnection for HostState {
    fn server_index(&mut self, conn: Resource<GuestConnection>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&conn)?.0.server_index())
    }

    fn send(
        &mut self,
        conn: Resource<GuestConnection>,
        message: Vec<u8>,
    ) -> wasmtime::Result<Result<(), TransportError>> {
        let message = zeroize::Zeroizing::new(message);
        Ok(self.table.get_mut(&conn)?.0.send(&message))
    }

    fn receive(
        &mut self,
        conn: Resource<GuestConnection>,
    ) -> wasmtime::Result<Result<Vec<u8>, TransportError>> {
        Ok(self.table.get_mut(&conn)?.0.receive())
    }

    fn drop(&mut self, conn: Resource<GuestConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        self.open_connections -= 1;
        Ok(())
    }
}
