//! One KMIP session: the open connection, the negotiated protocol version, and the
//! request/response exchange with batch-item matching and a single retry for idempotent
//! requests when a reused connection turns out to be broken.

use crate::error::KeyringError;
use crate::kmip::request::{self, RequestPayload};
use crate::kmip::response::{self, BatchItem, ResponsePayload};
use crate::kmip::ProtocolVersion;
use crate::platform::{Connection, LogLevel, Platform, TransportError};
use kmip_protocol::types::common::Operation;
use zeroize::Zeroizing;

/// Whether a request may be sent twice without changing the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotence {
    /// Reads (Locate, Get, Get Attributes, Discover Versions): retried once on a fresh
    /// connection if the reused one fails.
    Retry,
    /// Writes (Register, Activate, Revoke, Destroy): never resent automatically.
    Once,
}

pub(crate) struct Session<C> {
    conn: Option<C>,
    version: Option<ProtocolVersion>,
}

impl<C: Connection> Session<C> {
    pub(crate) fn new() -> Self {
        Self {
            conn: None,
            version: None,
        }
    }

    /// The server index of the open connection, if any.
    pub(crate) fn server_index(&self) -> Option<u32> {
        self.conn.as_ref().map(Connection::server_index)
    }

    /// The protocol version negotiated on the open connection, if any.
    pub(crate) fn version(&self) -> Option<ProtocolVersion> {
        self.conn.as_ref().and(self.version)
    }

    /// Makes sure a connection is open and its version negotiated; returns the version.
    pub(crate) fn ensure_open<P: Platform<Conn = C>>(
        &mut self,
        platform: &mut P,
    ) -> Result<ProtocolVersion, KeyringError> {
        if let (Some(_), Some(v)) = (&self.conn, self.version) {
            return Ok(v);
        }
        self.conn = None;
        let count = platform.server_count();
        if count == 0 {
            return Err(TransportError::NoSuchServer(0).into());
        }
        let mut failures = Vec::new();
        for index in 0..count {
            match platform.open(index) {
                Ok(conn) => {
                    self.conn = Some(conn);
                    match self.negotiate(platform) {
                        Ok(v) => {
                            platform.log(
                                LogLevel::Info,
                                &format!("connected to KMIP server {index}, protocol {v}"),
                            );
                            return Ok(v);
                        }
                        Err(e) => {
                            self.conn = None;
                            failures.push((index, e));
                        }
                    }
                }
                Err(e) => failures.push((index, e.into())),
            }
        }
        Err(combine(failures))
    }

    /// Discover Versions on the fresh connection. A server that refuses the operation
    /// speaks KMIP 1.0.
    fn negotiate<P: Platform<Conn = C>>(
        &mut self,
        platform: &mut P,
    ) -> Result<ProtocolVersion, KeyringError> {
        let payload = request::discover_versions();
        let mut items = self.round_trip(ProtocolVersion::V1_1, vec![payload])?;
        let item = items.remove(0);
        let version = match response::payload_of(item, Operation::DiscoverVersions) {
            Ok(Some(ResponsePayload::DiscoverVersions(p))) => {
                let offered = p.versions();
                ProtocolVersion::choose(&offered).ok_or_else(|| {
                    KeyringError::MalformedResponse(format!(
                        "the server speaks none of the KMIP versions 1.0-1.4 (it offered {})",
                        offered
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?
            }
            Ok(Some(_)) => {
                return Err(KeyringError::MalformedResponse(
                    "Discover Versions answered with another payload".into(),
                ))
            }
            // An empty list means "only the version of the request header".
            Ok(None) => ProtocolVersion::V1_1,
            Err(KeyringError::ServerFailure(f)) => {
                platform.log(
                    LogLevel::Info,
                    &format!(
                        "server refused Discover Versions ({}); using KMIP 1.0",
                        f.reason
                    ),
                );
                ProtocolVersion::V1_0
            }
            Err(e) => return Err(e),
        };
        self.version = Some(version);
        Ok(version)
    }

    /// Sends one batch and returns its items, in request order. `payloads` builds the
    /// batch (twice at most, for a retry); it may borrow key material.
    pub(crate) fn exchange<'k, P: Platform<Conn = C>>(
        &mut self,
        platform: &mut P,
        payloads: impl Fn() -> Vec<RequestPayload<'k>>,
        idempotence: Idempotence,
    ) -> Result<Vec<BatchItem>, KeyringError> {
        let reused = self.conn.is_some();
        let version = self.ensure_open(platform)?;
        match self.round_trip(version, payloads()) {
            Err(KeyringError::Transport(e)) if reused && idempotence == Idempotence::Retry => {
                platform.log(
                    LogLevel::Info,
                    &format!("reconnecting after a failure on a reused connection: {e}"),
                );
                let version = self.ensure_open(platform)?;
                self.round_trip(version, payloads())
            }
            other => other,
        }
    }

    fn round_trip(
        &mut self,
        version: ProtocolVersion,
        payloads: Vec<RequestPayload<'_>>,
    ) -> Result<Vec<BatchItem>, KeyringError> {
        let expected: Vec<Operation> = payloads.iter().map(RequestPayload::operation).collect();
        let message = request::encode(version, payloads)?;
        let conn = self.conn.as_mut().ok_or(TransportError::Closed)?;
        let received = conn.send(&message).and_then(|()| conn.receive());
        let bytes = match received {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) => {
                if e.breaks_connection() {
                    self.conn = None;
                }
                return Err(e.into());
            }
        };
        let decoded = response::decode(&bytes);
        let matched = decoded.and_then(|m| match_items(m.batch_items, &expected));
        if matched.is_err() {
            // A peer that answers garbage or out of turn cannot be trusted to be in step
            // with us: start afresh on the next request.
            self.conn = None;
        }
        matched
    }
}

/// Checks that the response items answer the request items, in order. A server that stops
/// a batch at a failed item may return fewer items than were sent; the missing ones were not
/// executed, which callers see as a shorter list.
fn match_items(
    items: Vec<BatchItem>,
    expected: &[Operation],
) -> Result<Vec<BatchItem>, KeyringError> {
    if items.is_empty() || items.len() > expected.len() {
        return Err(KeyringError::MalformedResponse(format!(
            "{} batch items answer a request of {}",
            items.len(),
            expected.len()
        )));
    }
    for (index, item) in items.iter().enumerate() {
        if expected.len() > 1 {
            if let Some(id) = &item.unique_batch_item_id {
                if id.0 != request::batch_item_id(index) {
                    return Err(KeyringError::MalformedResponse(format!(
                        "batch item {index} carries the id of another item"
                    )));
                }
            }
        }
        if let Some(op) = item.operation {
            if op != expected[index] {
                return Err(KeyringError::MalformedResponse(format!(
                    "batch item {index} answers {op:?}, expected {:?}",
                    expected[index]
                )));
            }
        }
    }
    Ok(items)
}

/// One error for all servers that failed: the only one as it is, several listed.
fn combine(mut failures: Vec<(u32, KeyringError)>) -> KeyringError {
    if failures.len() == 1 {
        return failures.remove(0).1;
    }
    let listed = failures
        .iter()
        .map(|(i, e)| format!("server {i}: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    KeyringError::Transport(TransportError::Refused(format!(
        "no KMIP server could be used ({listed})"
    )))
}
