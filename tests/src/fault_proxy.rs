//! A TCP proxy on 127.0.0.1 that injects faults and latency between a KMIP client and its server, reading only TLS record headers.
//!
//! The proxy never terminates TLS: it splits each direction's byte stream at the 5-byte
//! record headers (type, version, length), so a fault can hit the first application-data
//! record of a response — a KMIP message after the handshake — and leave the handshake
//! alone. Every connection gets four threads (a reader and a writer per direction); the
//! writer is a delay line, so added latency delays each chunk without limiting throughput.
//! Every wait polls the stop and close flags, so dropping the proxy never hangs.

use anyhow::{bail, Context, Result};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A named thread body of one proxied connection.
type Task<'a> = (&'static str, Box<dyn FnOnce() + Send + 'a>);

/// How often blocked reads, writes and waits look at the stop and close flags.
const POLL: Duration = Duration::from_millis(50);
/// Loopback connects either succeed or fail at once; this only bounds a full backlog.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Larger than the biggest TLS record (2^14 + 2048 + header), so a record usually comes in one read.
const CHUNK: usize = 32 * 1024;
/// Chunks in flight per direction: bounds memory when the receiving side is slow.
const QUEUE: usize = 256;
/// Size of a TLS record header.
const HEADER: usize = 5;
/// TLS content type of application data.
const APPLICATION_DATA: u8 = 23;
/// How many bytes of its record [`Fault::Truncate`] holds back.
const TRUNCATE_HOLD_BACK: usize = 8;

/// What the proxy does to traffic. Record-level faults act on server→client
/// application-data records only; handshake, alert and change-cipher-spec records pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Forwards everything unchanged.
    #[default]
    Pass,
    /// Accepts each new connection, then closes it at once before any byte (a FIN rather
    /// than a reset: std offers no way to set `SO_LINGER` to zero). Never dials upstream.
    Refuse,
    /// Holds each server→client application-data record this long before forwarding it,
    /// so the client's deadline passes first.
    Delay(Duration),
    /// Forwards the first half (rounded down, header included) of the next server→client
    /// application-data record, then closes both sockets.
    Cut,
    /// Forwards all but the last 8 bytes of the next server→client application-data
    /// record, then stalls: both sockets stay open and nothing more is forwarded either way
    /// until the client closes, so the client has to hit its deadline.
    Truncate,
    /// Flips one payload byte (never the header) of each server→client application-data
    /// record, which the client's TLS must reject.
    Corrupt,
    /// Connections alternate from the moment this is set: the 1st accepted passes, the 2nd
    /// is refused as by [`Fault::Refuse`], the 3rd passes, and so on.
    Flap,
    /// A server that carries out a request and dies before its answer is out: forwards
    /// this many more server→client application-data records, cuts the next one as by
    /// [`Fault::Cut`], and from then on the fault is [`Fault::Refuse`].
    CrashAfter(u32),
}

/// A snapshot of what the proxy has carried since it started or since [`FaultProxy::reset_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted, refused ones included.
    pub connections: u64,
    /// Bytes received from clients.
    pub client_to_server_bytes: u64,
    /// Bytes received from the server.
    pub server_to_client_bytes: u64,
    /// TLS application-data record headers seen from clients.
    pub client_app_records: u64,
    /// TLS application-data record headers seen from the server.
    pub server_app_records: u64,
}

/// A running proxy; dropping it stops the listener and closes every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards every connection to `upstream`,
    /// which must be a loopback address.
    pub fn start(upstream: SocketAddr) -> Result<Self> {
        if !upstream.ip().is_loopback() {
            bail!("the fault proxy only forwards to loopback, not {upstream}");
        }
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the fault proxy")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            control: Mutex::new(Control {
                fault: Fault::Pass,
                flapped: 0,
                forwarded: 0,
            }),
            latency_nanos: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            conns: Mutex::new(Vec::new()),
            workers: Mutex::new(Vec::new()),
            counters: Counters::default(),
        });
        let looping = shared.clone();
        let accept = thread::Builder::new()
            .name("fault-proxy-accept".into())
            .spawn(move || accept_loop(&looping, &listener))
            .context("starting the fault proxy's accept thread")?;
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address clients should dial (127.0.0.1 and [`Self::port`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Switches the fault. It applies to connections accepted from now on and to every
    /// record that starts from now on in live connections; [`Fault::Refuse`] and
    /// [`Fault::Flap`] act at accept time only. Setting it restarts the flap sequence.
    pub fn set_fault(&self, fault: Fault) {
        let mut control = lock(&self.shared.control);
        control.fault = fault;
        control.flapped = 0;
        control.forwarded = 0;
    }

    /// The fault in force now (CrashAfter turns into Refuse once it has cut).
    pub fn fault(&self) -> Fault {
        self.shared.fault()
    }

    /// Adds `each_way` to every chunk in both directions, as a delay line: a chunk read at
    /// `t` is written at `t + each_way`, in order, and delays do not add up across chunks.
    pub fn set_latency(&self, each_way: Duration) {
        let nanos = u64::try_from(each_way.as_nanos()).unwrap_or(u64::MAX);
        self.shared.latency_nanos.store(nanos, Ordering::Relaxed);
    }

    /// The counters as they stand now.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        ProxyStats {
            connections: c.connections.load(Ordering::Relaxed),
            client_to_server_bytes: c.client_to_server_bytes.load(Ordering::Relaxed),
            server_to_client_bytes: c.server_to_client_bytes.load(Ordering::Relaxed),
            client_app_records: c.client_app_records.load(Ordering::Relaxed),
            server_app_records: c.server_app_records.load(Ordering::Relaxed),
        }
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&self) {
        let c = &self.shared.counters;
        for counter in [
            &c.connections,
            &c.client_to_server_bytes,
            &c.server_to_client_bytes,
            &c.client_app_records,
            &c.server_app_records,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Closes every live connection now, as if the server had gone away; the listener
    /// keeps accepting.
    pub fn close_all(&self) {
        self.shared.close_all();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // accept() blocks; a connection of our own wakes it to see the stop flag.
        let woke = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT).is_ok();
        if let Some(accept) = self.accept.take() {
            // Without a wake-up the join could wait forever: leave the thread detached.
            if woke || accept.is_finished() {
                let _ = accept.join();
            }
        }
        self.shared.close_all();
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// State shared by the proxy handle, the accept thread and the connection threads.
struct Shared {
    upstream: SocketAddr,
    control: Mutex<Control>,
    latency_nanos: AtomicU64,
    stop: AtomicBool,
    /// Bumped by close_all, so a connection registered while it ran still gets closed.
    epoch: AtomicU64,
    conns: Mutex<Vec<Arc<Conn>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    counters: Counters,
}

struct Control {
    fault: Fault,
    /// Connections accepted since Flap was set, to alternate pass and refuse.
    flapped: u64,
    /// Records forwarded since CrashAfter was set.
    forwarded: u32,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    client_to_server_bytes: AtomicU64,
    server_to_client_bytes: AtomicU64,
    client_app_records: AtomicU64,
    server_app_records: AtomicU64,
}

impl Shared {
    fn fault(&self) -> Fault {
        lock(&self.control).fault
    }

    /// What happens to a server→client application-data record of `total` bytes that
    /// starts now.
    fn action_for_record(&self, total: usize, len: usize) -> Action {
        let mut control = lock(&self.control);
        match control.fault {
            Fault::Pass | Fault::Refuse | Fault::Flap => Action::Pass,
            Fault::Delay(hold) => Action::Delay(hold),
            Fault::Corrupt if len > 0 => Action::Corrupt(HEADER + len / 2),
            Fault::Corrupt => Action::Pass,
            Fault::Cut => Action::Cut(total / 2),
            Fault::Truncate => Action::Truncate(total.saturating_sub(TRUNCATE_HOLD_BACK)),
            Fault::CrashAfter(n) if control.forwarded < n => {
                control.forwarded += 1;
                Action::Pass
            }
            Fault::CrashAfter(_) => {
                control.fault = Fault::Refuse;
                Action::Cut(total / 2)
            }
        }
    }

    fn latency(&self) -> Duration {
        Duration::from_nanos(self.latency_nanos.load(Ordering::Relaxed))
    }

    /// Whether a newly accepted connection may go through (Refuse and Flap decide here).
    fn admit(&self) -> bool {
        let mut control = lock(&self.control);
        match control.fault {
            Fault::Refuse => false,
            Fault::Flap => {
                let nth = control.flapped;
                control.flapped += 1;
                nth % 2 == 0
            }
            _ => true,
        }
    }

    fn close_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        for conn in lock(&self.conns).iter() {
            conn.close();
        }
    }
}

/// A poisoned lock only means another thread panicked; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let client = match accepted {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of descriptors or an aborted handshake: back off instead of spinning.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        shared.counters.connections.fetch_add(1, Ordering::Relaxed);
        if !shared.admit() {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let epoch = shared.epoch.load(Ordering::SeqCst);
        let serving = shared.clone();
        let spawned = thread::Builder::new()
            .name("fault-proxy-conn".into())
            .spawn(move || serve(&serving, client, epoch));
        if let Ok(handle) = spawned {
            let mut workers = lock(&shared.workers);
            // Finished threads need no join; dropping their handles keeps the list short.
            workers.retain(|worker| !worker.is_finished());
            workers.push(handle);
        }
    }
}

/// One proxied connection: both sockets and the flags its four threads share.
struct Conn {
    client: TcpStream,
    server: TcpStream,
    closed: AtomicBool,
    /// Set by Truncate: from now on nothing is forwarded in either direction.
    stalled: AtomicBool,
}

impl Conn {
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }

    fn finished(&self, shared: &Shared) -> bool {
        self.closed.load(Ordering::SeqCst) || shared.stop.load(Ordering::SeqCst)
    }

    fn stalled(&self) -> bool {
        self.stalled.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ClientToServer,
    ServerToClient,
}

/// Timeouts let the threads poll their flags; Nagle would distort latency measurements.
fn configure(socket: &TcpStream) -> io::Result<()> {
    socket.set_nodelay(true)?;
    socket.set_read_timeout(Some(POLL))?;
    socket.set_write_timeout(Some(POLL))
}

fn serve(shared: &Shared, client: TcpStream, epoch: u64) {
    let server = match TcpStream::connect_timeout(&shared.upstream, CONNECT_TIMEOUT) {
        Ok(server) => server,
        Err(_) => {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    // Without timeouts a thread could block past the stop flag: refuse to run without them.
    if configure(&client)
        .and_then(|()| configure(&server))
        .is_err()
    {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        return;
    }
    let conn = Arc::new(Conn {
        client,
        server,
        closed: AtomicBool::new(false),
        stalled: AtomicBool::new(false),
    });
    lock(&shared.conns).push(conn.clone());
    if shared.epoch.load(Ordering::SeqCst) != epoch || shared.stop.load(Ordering::SeqCst) {
        conn.close();
    }
    let (up_tx, up_rx) = mpsc::sync_channel(QUEUE);
    let (down_tx, down_rx) = mpsc::sync_channel(QUEUE);
    let c = &*conn;
    thread::scope(|scope| {
        let tasks: [Task<'_>; 3] = [
            (
                "fault-proxy-c2s-read",
                Box::new(move || read_side(shared, c, Direction::ClientToServer, up_tx)),
            ),
            (
                "fault-proxy-c2s-write",
                Box::new(move || write_side(shared, c, Direction::ClientToServer, up_rx)),
            ),
            (
                "fault-proxy-s2c-write",
                Box::new(move || write_side(shared, c, Direction::ServerToClient, down_rx)),
            ),
        ];
        for (name, task) in tasks {
            // A task that fails to start is dropped with its channel end, which ends its
            // partner; closing makes the rest follow.
            if thread::Builder::new()
                .name(name.into())
                .spawn_scoped(scope, task)
                .is_err()
            {
                c.close();
            }
        }
        // Owned, so the writer sees the channel close when this reader ends.
        read_side(shared, c, Direction::ServerToClient, down_tx);
    });
    lock(&shared.conns).retain(|other| !Arc::ptr_eq(other, &conn));
}

/// What a reader hands its writer, with the instant it may be carried out.
enum Item {
    Bytes(Instant, Vec<u8>),
    /// The source closed: pass on the half-close.
    Eof(Instant),
    /// Cut fired: close both sockets once everything before has been written.
    Close(Instant),
}

impl Item {
    fn due(&self) -> Instant {
        match self {
            Item::Bytes(at, _) | Item::Eof(at) | Item::Close(at) => *at,
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

fn read_side(shared: &Shared, conn: &Conn, direction: Direction, tx: SyncSender<Item>) {
    let (source, bytes) = match direction {
        Direction::ClientToServer => (&conn.client, &shared.counters.client_to_server_bytes),
        Direction::ServerToClient => (&conn.server, &shared.counters.server_to_client_bytes),
    };
    let mut records = Records::new(direction);
    let mut buf = vec![0u8; CHUNK];
    let mut outs = Vec::new();
    while !conn.finished(shared) {
        let n = match (&*source).read(&mut buf) {
            Ok(0) => {
                on_eof(shared, conn, direction, &mut records, &tx);
                return;
            }
            Ok(n) => n,
            Err(error) if is_timeout(&error) => continue,
            Err(_) => {
                conn.close();
                return;
            }
        };
        let base = Instant::now() + shared.latency();
        bytes.fetch_add(n as u64, Ordering::Relaxed);
        outs.clear();
        // Parsed even while stalled, so the record counters stay true.
        records.feed(&buf[..n], shared, &mut outs);
        if conn.stalled() {
            continue;
        }
        for out in outs.drain(..) {
            let item = match out {
                Out::Bytes(extra, data) => Item::Bytes(base + extra, data),
                Out::Close => Item::Close(base),
                Out::Stall => {
                    conn.stalled.store(true, Ordering::SeqCst);
                    break;
                }
            };
            if tx.send(item).is_err() {
                return;
            }
        }
    }
}

fn on_eof(
    shared: &Shared,
    conn: &Conn,
    direction: Direction,
    records: &mut Records,
    tx: &SyncSender<Item>,
) {
    if conn.stalled() {
        // A stall lasts until the client leaves; the server leaving changes nothing.
        if direction == Direction::ClientToServer {
            conn.close();
        }
        return;
    }
    let at = Instant::now() + shared.latency();
    if let Some(tail) = records.flush() {
        if tx.send(Item::Bytes(at, tail)).is_err() {
            return;
        }
    }
    let _ = tx.send(Item::Eof(at));
}

fn write_side(shared: &Shared, conn: &Conn, direction: Direction, rx: Receiver<Item>) {
    let sink = match direction {
        Direction::ClientToServer => &conn.server,
        Direction::ServerToClient => &conn.client,
    };
    loop {
        let item = match rx.recv_timeout(POLL) {
            Ok(item) => item,
            Err(RecvTimeoutError::Timeout) => {
                if conn.finished(shared) {
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if !wait_until(item.due(), shared, conn) {
            return;
        }
        match item {
            Item::Bytes(_, data) => {
                if !write_all(sink, &data, shared, conn) {
                    conn.close();
                    return;
                }
            }
            Item::Eof(_) => {
                let _ = sink.shutdown(Shutdown::Write);
                return;
            }
            Item::Close(_) => {
                conn.close();
                return;
            }
        }
    }
}

/// Sleeps until `due` in slices, so a close or stop cuts the wait short (then false).
fn wait_until(due: Instant, shared: &Shared, conn: &Conn) -> bool {
    loop {
        if conn.finished(shared) {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        thread::sleep((due - now).min(POLL));
    }
}

/// write_all that survives write timeouts (which may split a write) and gives up on close.
fn write_all(mut sink: &TcpStream, mut data: &[u8], shared: &Shared, conn: &Conn) -> bool {
    while !data.is_empty() {
        match sink.write(data) {
            Ok(0) => return false,
            Ok(n) => data = &data[n..],
            Err(error) if is_timeout(&error) => {
                if conn.finished(shared) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}

/// What the record parser wants done with a chunk, in order.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    /// Forward these bytes after the extra delay.
    Bytes(Duration, Vec<u8>),
    /// Close both sockets.
    Close,
    /// Forward nothing more in either direction.
    Stall,
}

/// What happens to the record being parsed, fixed once its header is complete.
#[derive(Debug, Clone, Copy)]
enum Action {
    Pass,
    Delay(Duration),
    /// Flip the byte at this offset in the record.
    Corrupt(usize),
    /// Forward this many bytes of the record, then close.
    Cut(usize),
    /// Forward this many bytes of the record, then stall.
    Truncate(usize),
}

/// Splits one direction's stream at TLS record headers and applies the fault per record.
struct Records {
    direction: Direction,
    header: [u8; HEADER],
    /// Offset of the next byte within the current record.
    pos: usize,
    /// Payload length of the current record, valid once its header is complete.
    len: usize,
    action: Action,
    /// After Cut or Truncate nothing else leaves this direction.
    silent: bool,
}

impl Records {
    fn new(direction: Direction) -> Self {
        Self {
            direction,
            header: [0; HEADER],
            pos: 0,
            len: 0,
            action: Action::Pass,
            silent: false,
        }
    }

    fn feed(&mut self, chunk: &[u8], shared: &Shared, out: &mut Vec<Out>) {
        let mut rest = chunk;
        while let Some((&byte, tail)) = rest.split_first() {
            if self.pos < HEADER {
                // Header bytes are held until the header is whole: Cut and Truncate need
                // the length before they know which bytes may go.
                self.header[self.pos] = byte;
                self.pos += 1;
                rest = tail;
                if self.pos == HEADER {
                    self.begin(shared, out);
                    let header = self.header;
                    for (i, &b) in header.iter().enumerate() {
                        self.emit(i, b, out);
                    }
                }
            } else {
                let run = rest.len().min(HEADER + self.len - self.pos);
                let (payload, after) = rest.split_at(run);
                match (self.silent, self.action) {
                    // Untouched payload goes in one copy rather than byte by byte.
                    (false, Action::Pass) => extend(out, Duration::ZERO, payload),
                    (false, Action::Delay(hold)) => extend(out, hold, payload),
                    (true, _) => {}
                    _ => {
                        for (i, &b) in payload.iter().enumerate() {
                            self.emit(self.pos + i, b, out);
                        }
                    }
                }
                self.pos += run;
                rest = after;
            }
            if self.pos >= HEADER && self.pos == HEADER + self.len {
                self.pos = 0;
            }
        }
    }

    /// Header bytes still held when the stream ends, so a short stream is not swallowed.
    fn flush(&mut self) -> Option<Vec<u8>> {
        if self.silent || self.pos == 0 || self.pos >= HEADER {
            return None;
        }
        let tail = self.header[..self.pos].to_vec();
        self.pos = 0;
        Some(tail)
    }

    fn begin(&mut self, shared: &Shared, out: &mut Vec<Out>) {
        self.len = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
        self.action = Action::Pass;
        if self.header[0] != APPLICATION_DATA {
            return;
        }
        let total = HEADER + self.len;
        match self.direction {
            Direction::ClientToServer => {
                shared
                    .counters
                    .client_app_records
                    .fetch_add(1, Ordering::Relaxed);
            }
            Direction::ServerToClient => {
                shared
                    .counters
                    .server_app_records
                    .fetch_add(1, Ordering::Relaxed);
                self.action = shared.action_for_record(total, self.len);
            }
        }
        // A record too short to keep anything ends the stream before its first byte.
        match self.action {
            Action::Cut(0) => self.finish(Out::Close, out),
            Action::Truncate(0) => self.finish(Out::Stall, out),
            _ => {}
        }
    }

    fn emit(&mut self, i: usize, byte: u8, out: &mut Vec<Out>) {
        if self.silent {
            return;
        }
        match self.action {
            Action::Pass => push(out, Duration::ZERO, byte),
            Action::Delay(hold) => push(out, hold, byte),
            Action::Corrupt(at) => push(out, Duration::ZERO, if i == at { !byte } else { byte }),
            Action::Cut(keep) | Action::Truncate(keep) => {
                push(out, Duration::ZERO, byte);
                if i + 1 == keep {
                    let end = match self.action {
                        Action::Cut(_) => Out::Close,
                        _ => Out::Stall,
                    };
                    self.finish(end, out);
                }
            }
        }
    }

    fn finish(&mut self, end: Out, out: &mut Vec<Out>) {
        self.silent = true;
        out.push(end);
    }
}

/// Appends a byte, merging it into the previous run when the delay matches.
fn push(out: &mut Vec<Out>, extra: Duration, byte: u8) {
    extend(out, extra, &[byte]);
}

/// Appends bytes, merging them into the previous run when the delay matches.
fn extend(out: &mut Vec<Out>, extra: Duration, bytes: &[u8]) {
    if let Some(Out::Bytes(last_extra, data)) = out.last_mut() {
        if *last_extra == extra {
            data.extend_from_slice(bytes);
            return;
        }
    }
    out.push(Out::Bytes(extra, bytes.to_vec()));
}
