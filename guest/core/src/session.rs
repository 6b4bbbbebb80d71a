//! One KMIP session: the open connection, the negotiated protocol version, and the
//! request/response exchange with batch-item matching and a single retry for idempotent
//! requests when a reused connection turns out to be broken.

use crate::error::KeyringError;
use crate::kmip::request::{self, RequestPayload};
use crate::kmip::response::{self, BatchItem, ResponsePayload};
use crate::kmip::{ProtocolVersion, ResultReason};
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

/// The request header versions Discover Versions is tried with, in order: a server that
/// refuses one as an Invalid Message (it does not speak it) is asked again with the next.
const DISCOVERY_HEADERS: [ProtocolVersion; 2] = [ProtocolVersion::V1_4, ProtocolVersion::V1_1];

/// The items of one response, each in the position of the request item it answers; `None`
/// for an item the server left unanswered (it stopped the batch early).
pub(crate) type Answers = Vec<Option<BatchItem>>;

pub(crate) struct Session<C> {
    conn: Option<C>,
    version: Option<ProtocolVersion>,
    /// Whether multi-item batches ask the server to Continue after a failed item; turned
    /// off for a server that rejects the option (support for it is optional in KMIP).
    continue_on_error: bool,
}

impl<C: Connection> Session<C> {
    pub(crate) fn new() -> Self {
        Self {
            conn: None,
            version: None,
            continue_on_error: true,
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
                    match self.negotiate(platform, index) {
                        Ok(v) => return Ok(v),
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

    /// Discover Versions on the fresh connection: the highest version both sides speak.
    /// Only a server that does not know the operation (Operation Not Supported) is spoken
    /// to in KMIP 1.0; one that refuses the header's version (Invalid Message) is asked
    /// again with another header; an empty answer means no version in common.
    fn negotiate<P: Platform<Conn = C>>(
        &mut self,
        platform: &mut P,
        index: u32,
    ) -> Result<ProtocolVersion, KeyringError> {
        let mut refused = None;
        let mut chosen = None;
        for header in DISCOVERY_HEADERS {
            let item = self.round_trip_one(header, request::discover_versions())?;
            match response::payload_of(item, Operation::DiscoverVersions) {
                Ok(Some(ResponsePayload::DiscoverVersions(p))) => {
                    let offered = p.versions();
                    chosen = Some(
                        ProtocolVersion::choose(&offered)
                            .ok_or_else(|| no_common_version(&offered))?,
                    );
                    break;
                }
                Ok(Some(_)) => {
                    return Err(KeyringError::MalformedResponse(
                        "Discover Versions answered with another payload".into(),
                    ))
                }
                Ok(None) => return Err(no_common_version(&[])),
                Err(KeyringError::ServerFailure(f))
                    if f.is(ResultReason::OPERATION_NOT_SUPPORTED) =>
                {
                    platform.log(
                        LogLevel::Warning,
                        &format!(
                            "KMIP server {index} does not support Discover Versions \
                             ({}); speaking KMIP 1.0 to it, which has no Locate paging",
                            f.reason_text()
                        ),
                    );
                    chosen = Some(ProtocolVersion::V1_0);
                    break;
                }
                Err(KeyringError::ServerFailure(f)) if f.is(ResultReason::INVALID_MESSAGE) => {
                    refused = Some(KeyringError::ServerFailure(f));
                }
                Err(e) => return Err(e),
            }
        }
        let Some(version) = chosen else {
            return Err(refused.expect("every header was tried"));
        };
        let preferred = ProtocolVersion::SUPPORTED[0];
        if version != ProtocolVersion::V1_0 && version < preferred {
            platform.log(
                LogLevel::Warning,
                &format!(
                    "KMIP server {index} speaks KMIP {version} at most (this keyring prefers \
                     {preferred}){}",
                    if version.has_offset_items() {
                        ""
                    } else {
                        "; before 1.3 Locate cannot page"
                    }
                ),
            );
        }
        platform.log(
            LogLevel::Info,
            &format!("connected to KMIP server {index}, protocol {version}"),
        );
        self.version = Some(version);
        Ok(version)
    }

    /// Sends one batch and returns its answers, in request order. `payloads` builds the
    /// batch (again, for a retry); it may borrow key material.
    pub(crate) fn exchange<'k, P: Platform<Conn = C>>(
        &mut self,
        platform: &mut P,
        payloads: impl Fn() -> Vec<RequestPayload<'k>>,
        idempotence: Idempotence,
    ) -> Result<Answers, KeyringError> {
        let reused = self.conn.is_some();
        let version = self.ensure_open(platform)?;
        let answers = match self.round_trip(version, payloads()) {
            Err(KeyringError::Transport(e)) if reused && idempotence == Idempotence::Retry => {
                platform.log(
                    LogLevel::Info,
                    &format!("reconnecting after a failure on a reused connection: {e}"),
                );
                let version = self.ensure_open(platform)?;
                self.round_trip(version, payloads())?
            }
            other => other?,
        };
        if self.continue_on_error && refuses_batch_options(&answers) {
            platform.log(
                LogLevel::Info,
                "the KMIP server refuses Batch Error Continuation Option; batches now \
                 stop at a failed item and the items after it are sent again",
            );
            self.continue_on_error = false;
            return self.round_trip(version, payloads());
        }
        Ok(answers)
    }

    /// Sends one request item and returns the answer to it.
    pub(crate) fn exchange_one<'k, P: Platform<Conn = C>>(
        &mut self,
        platform: &mut P,
        payload: impl Fn() -> RequestPayload<'k>,
        idempotence: Idempotence,
    ) -> Result<BatchItem, KeyringError> {
        let operation = payload().operation();
        self.exchange(platform, || vec![payload()], idempotence)?
            .pop()
            .flatten()
            .ok_or_else(|| unanswered(operation))
    }

    fn round_trip_one(
        &mut self,
        version: ProtocolVersion,
        payload: RequestPayload<'_>,
    ) -> Result<BatchItem, KeyringError> {
        let operation = payload.operation();
        self.round_trip(version, vec![payload])?
            .pop()
            .flatten()
            .ok_or_else(|| unanswered(operation))
    }

    fn round_trip(
        &mut self,
        version: ProtocolVersion,
        payloads: Vec<RequestPayload<'_>>,
    ) -> Result<Answers, KeyringError> {
        let expected: Vec<Operation> = payloads.iter().map(RequestPayload::operation).collect();
        let message = request::encode_with(version, payloads, self.continue_on_error)?;
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

fn no_common_version(offered: &[ProtocolVersion]) -> KeyringError {
    KeyringError::MalformedResponse(format!(
        "the server speaks none of the KMIP versions 1.0-1.4 (it offered {})",
        if offered.is_empty() {
            "none in common with us".to_owned()
        } else {
            offered
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    ))
}

fn unanswered(operation: Operation) -> KeyringError {
    KeyringError::MalformedResponse(format!("the server did not answer the {operation:?}"))
}

/// Whether the server rejected a whole multi-item request (one answer, for no item in
/// particular) in the way a server that does not support the batch options must.
fn refuses_batch_options(answers: &Answers) -> bool {
    if answers.len() < 2 || answers.iter().skip(1).any(Option::is_some) {
        return false;
    }
    matches!(
        answers.first(),
        Some(Some(item)) if item.operation.is_none()
            && item.unique_batch_item_id.is_none()
            && matches!(
                item.result_reason,
                Some(ResultReason::INVALID_MESSAGE
                    | ResultReason::INVALID_FIELD
                    | ResultReason::FEATURE_NOT_SUPPORTED)
            )
    )
}

/// Puts each response item in the position of the request item it answers: by its Unique
/// Batch Item ID in a multi-item batch (a server may answer in any order), by position
/// otherwise. A server that stops a batch at a failed item answers fewer items than were
/// sent; the missing ones were not executed and stay `None`.
fn match_items(items: Vec<BatchItem>, expected: &[Operation]) -> Result<Answers, KeyringError> {
    if items.is_empty() || items.len() > expected.len() {
        return Err(KeyringError::MalformedResponse(format!(
            "{} batch items answer a request of {}",
            items.len(),
            expected.len()
        )));
    }
    let mut answers: Answers = (0..expected.len()).map(|_| None).collect();
    for (position, item) in items.into_iter().enumerate() {
        let index = match (&item.unique_batch_item_id, expected.len() > 1) {
            (Some(id), true) => request::batch_item_index(&id.0)
                .filter(|i| *i < expected.len())
                .ok_or_else(|| {
                    KeyringError::MalformedResponse(format!(
                        "batch item {position} carries an id no request item has"
                    ))
                })?,
            _ => position,
        };
        if answers[index].is_some() {
            return Err(KeyringError::MalformedResponse(format!(
                "two answers to batch item {index}"
            )));
        }
        if let Some(op) = item.operation {
            if op != expected[index] {
                return Err(KeyringError::MalformedResponse(format!(
                    "batch item {index} answers {op:?}, expected {:?}",
                    expected[index]
                )));
            }
        }
        answers[index] = Some(item);
    }
    Ok(answers)
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
