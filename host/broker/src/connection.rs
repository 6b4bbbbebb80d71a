//! One TLS connection to a KMIP server, with deadlines on every step and TTLV framing at
//! the outermost level only (the host never parses what the message carries).

use super::health::Health;
use crate::TransportError;
use kmip_keyring_config::ServerEndpoint;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// TTLV header: 3-byte tag, 1-byte type, 4-byte length.
const TTLV_HEADER: usize = 8;
/// Tag of a KMIP Response Message.
const RESPONSE_MESSAGE_TAG: [u8; 3] = [0x42, 0x00, 0x7B];
/// TTLV type Structure.
const STRUCTURE: u8 = 0x01;

/// What every connection of one broker shares.
pub(super) struct Shared {
    /// The rustls client configuration.
    pub(super) tls: Arc<rustls::ClientConfig>,
    /// Its server-certificate verifier, which remembers what each server presented.
    pub(super) verifier: Arc<super::verifier::RelaxedVerifier>,
    /// `kmip_timeout_ms`: one deadline for connect plus handshake, one for each request
    /// and its response.
    pub(super) timeout: Duration,
    /// Cap on one message, in bytes.
    pub(super) max_message_bytes: u32,
    /// Server health and the current call's budget.
    pub(super) health: Arc<Health>,
    /// The `server_ca` file, named when a server's certificate is rejected.
    pub(super) server_ca: String,
}

/// A mutually authenticated TLS connection to one configured server.
pub struct BrokeredConnection {
    server_index: u32,
    server: ServerEndpoint,
    endpoint: String,
    shared: Arc<Shared>,
    stream: StreamOwned<ClientConnection, TcpStream>,
    /// The deadline of the request in flight: set by `send`, also bounding `receive`.
    request_deadline: Option<Instant>,
    /// Whether the server has answered a request on this connection. A server that takes
    /// connections but never answers is as unusable as one that refuses them.
    answered: bool,
}

fn io_error(step: &str, endpoint: &str, e: std::io::Error) -> TransportError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            TransportError::Timeout(format!("{step} with {endpoint}"))
        }
        ErrorKind::ConnectionRefused => TransportError::Refused(format!("{endpoint}: {e}")),
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => {
            TransportError::Closed
        }
        ErrorKind::InvalidData => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => TransportError::TlsFailure(format!("{endpoint}: {tls}")),
            None => TransportError::Io(format!("{step} with {endpoint}: {e}")),
        },
        _ => TransportError::Io(format!("{step} with {endpoint}: {e}")),
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

impl BrokeredConnection {
    /// Connects and completes the TLS handshake within one deadline; a failure is
    /// recorded in the server's health (and starts its backoff).
    pub(super) fn open(
        server_index: u32,
        endpoint: &ServerEndpoint,
        shared: Arc<Shared>,
    ) -> Result<Self, TransportError> {
        let health = shared.health.clone();
        Self::dial(server_index, endpoint, shared).inspect_err(|e| {
            health.open_failed(server_index as usize, e);
        })
    }

    fn dial(
        server_index: u32,
        endpoint: &ServerEndpoint,
        shared: Arc<Shared>,
    ) -> Result<Self, TransportError> {
        let name = endpoint.to_string();
        let deadline = shared.health.clamp(Instant::now() + shared.timeout);
        let addrs: Vec<SocketAddr> = (endpoint.host.as_str(), endpoint.port)
            .to_socket_addrs()
            .map_err(|e| TransportError::Refused(format!("{name}: cannot resolve: {e}")))?
            .collect();
        let mut last = TransportError::Refused(format!("{name}: no address"));
        let mut socket = None;
        for addr in addrs {
            let Some(left) = remaining(deadline) else {
                last = TransportError::Timeout(format!("connecting to {name}"));
                break;
            };
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    socket = Some(s);
                    break;
                }
                Err(e) => last = io_error("connecting", &name, e),
            }
        }
        let socket = socket.ok_or(last)?;
        let _ = socket.set_nodelay(true);
        let server_name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| TransportError::TlsFailure(format!("{name}: invalid server name: {e}")))?;
        let conn = ClientConnection::new(shared.tls.clone(), server_name)
            .map_err(|e| TransportError::TlsFailure(format!("{name}: {e}")))?;
        let mut this = Self {
            server_index,
            server: endpoint.clone(),
            endpoint: name,
            shared,
            stream: StreamOwned::new(conn, socket),
            request_deadline: None,
            answered: false,
        };
        this.shared.verifier.forget(&this.server.host);
        this.handshake(deadline)?;
        Ok(this)
    }

    /// Completes the TLS handshake now, so certificate problems surface at open. Written
    /// out instead of `complete_io`, which can go on reading after a TLS 1.3 handshake has
    /// finished and wait for data a KMIP server only sends after our first request.
    fn handshake(&mut self, deadline: Instant) -> Result<(), TransportError> {
        let step = "TLS handshake";
        while self.stream.conn.is_handshaking() {
            self.arm(deadline, step)?;
            self.flush_tls(step)?;
            if !self.stream.conn.is_handshaking() {
                break;
            }
            let read = self
                .stream
                .conn
                .read_tls(&mut self.stream.sock)
                .map_err(|e| io_error(step, &self.endpoint, e))?;
            if read == 0 {
                return Err(TransportError::TlsFailure(format!(
                    "{}: the server closed the connection during the TLS handshake",
                    self.endpoint
                )));
            }
            if let Err(e) = self.stream.conn.process_new_packets() {
                // Tell the server why (a TLS alert), best effort.
                let _ = self.flush_tls(step);
                return Err(TransportError::TlsFailure(format!(
                    "{}: {}",
                    self.endpoint,
                    super::handshake_failure::describe(
                        &e,
                        &self.stream.conn,
                        &self.shared.server_ca,
                        self.shared.verifier.presented(&self.server.host),
                    )
                )));
            }
        }
        self.flush_tls(step)
    }

    /// Writes every pending TLS record.
    fn flush_tls(&mut self, step: &str) -> Result<(), TransportError> {
        while self.stream.conn.wants_write() {
            self.stream
                .conn
                .write_tls(&mut self.stream.sock)
                .map_err(|e| io_error(step, &self.endpoint, e))?;
        }
        Ok(())
    }

    /// Sets the socket timeouts to what is left before `deadline`.
    fn arm(&self, deadline: Instant, step: &str) -> Result<(), TransportError> {
        let left = remaining(deadline)
            .ok_or_else(|| TransportError::Timeout(format!("{step} with {}", self.endpoint)))?;
        self.stream
            .sock
            .set_read_timeout(Some(left))
            .and_then(|()| self.stream.sock.set_write_timeout(Some(left)))
            .map_err(|e| io_error(step, &self.endpoint, e))
    }

    /// The configured server index.
    pub fn server_index(&self) -> u32 {
        self.server_index
    }

    /// "host:port" of the server.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the server has closed (or sent application data unasked) while we were
    /// idle. Such a connection cannot carry a request; nothing has been sent on it yet, so
    /// reopening is safe even for a Register. TLS records that are not application data —
    /// TLS 1.3 session tickets and key updates — are consumed and do not count.
    fn is_stale(&mut self) -> bool {
        if self.stream.sock.set_nonblocking(true).is_err() {
            return true;
        }
        let stale = loop {
            match self.stream.conn.read_tls(&mut self.stream.sock) {
                Ok(0) => break true,
                Ok(_) => match self.stream.conn.process_new_packets() {
                    Ok(state) if state.peer_has_closed() || state.plaintext_bytes_to_read() > 0 => {
                        break true
                    }
                    Ok(_) => continue,
                    Err(_) => break true,
                },
                Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        self.stream.sock.set_nonblocking(false).is_err() || stale
    }

    /// Reopens the same server if the idle connection went stale.
    fn refresh_if_stale(&mut self) -> Result<(), TransportError> {
        if self.is_stale() {
            let server = self.server.clone();
            *self = Self::open(self.server_index, &server, self.shared.clone())?;
        }
        Ok(())
    }

    /// Sends one request message; the deadline it starts also bounds the response.
    pub fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let result = self.try_send(message);
        self.note(result)
    }

    fn try_send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let cap = self.shared.max_message_bytes;
        if message.len() > cap as usize {
            return Err(TransportError::MessageTooLarge(cap));
        }
        self.refresh_if_stale()?;
        let deadline = self
            .shared
            .health
            .clamp(Instant::now() + self.shared.timeout);
        self.request_deadline = Some(deadline);
        self.arm(deadline, "sending")?;
        self.stream
            .write_all(message)
            .and_then(|()| self.stream.flush())
            .map_err(|e| io_error("sending", &self.endpoint, e))
    }

    /// Receives one response message before the deadline `send` started.
    pub fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        let result = self.try_receive();
        if result.is_ok() {
            self.answered = true;
            self.shared.health.answered(self.server_index as usize);
        }
        self.note(result)
    }

    /// Records a failure in the server's health; passes the result on. A server that
    /// never answered on this connection, stalls, or breaks TLS is put in backoff so the
    /// next attempt prefers another; a connection the server closed is simply reopened
    /// (servers drop idle sessions and restart).
    fn note<T>(&self, result: Result<T, TransportError>) -> Result<T, TransportError> {
        if let Err(e) = &result {
            let index = self.server_index as usize;
            if self.answered && matches!(e, TransportError::Closed) {
                self.shared.health.connection_failed(index, e);
            } else {
                self.shared.health.open_failed(index, e);
            }
        }
        result
    }

    fn try_receive(&mut self) -> Result<Vec<u8>, TransportError> {
        let deadline = match self.request_deadline.take() {
            Some(d) => d,
            None => self
                .shared
                .health
                .clamp(Instant::now() + self.shared.timeout),
        };
        let mut header = [0u8; TTLV_HEADER];
        self.read_exact(&mut header, deadline)?;
        if header[..3] != RESPONSE_MESSAGE_TAG || header[3] != STRUCTURE {
            return Err(TransportError::BadFraming(format!(
                "{} sent {:02X?} where a KMIP Response Message header belongs",
                self.endpoint, header
            )));
        }
        let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let cap = self.shared.max_message_bytes;
        if length > cap - TTLV_HEADER as u32 {
            return Err(TransportError::MessageTooLarge(cap));
        }
        let mut message = vec![0u8; TTLV_HEADER + length as usize];
        message[..TTLV_HEADER].copy_from_slice(&header);
        self.read_exact(&mut message[TTLV_HEADER..], deadline)?;
        Ok(message)
    }

    fn read_exact(&mut self, mut buf: &mut [u8], deadline: Instant) -> Result<(), TransportError> {
        while !buf.is_empty() {
            self.arm(deadline, "receiving")?;
            match self.stream.read(buf) {
                Ok(0) => return Err(TransportError::Closed),
                Ok(n) => buf = &mut buf[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error("receiving", &self.endpoint, e)),
            }
        }
        Ok(())
    }
}

impl super::Channel for BrokeredConnection {
    fn server_index(&self) -> u32 {
        self.server_index
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        BrokeredConnection::send(self, message)
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        BrokeredConnection::receive(self)
    }
}

impl Drop for BrokeredConnection {
    fn drop(&mut self) {
        // A polite close_notify, written only: never wait for a server that may be gone.
        self.stream.conn.send_close_notify();
        let _ = self
            .stream
            .sock
            .set_write_timeout(Some(Duration::from_millis(100)));
        let _ = self.flush_tls("closing");
    }
}
