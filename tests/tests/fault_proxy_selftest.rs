//! Self-test of the fault proxy against a plain-TCP upstream that speaks fake TLS records, so each fault is checked byte for byte without any TLS library.

use kmip_keyring_tests::fault_proxy::{Fault, FaultProxy, ProxyStats};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
/// Long enough that a slow CI machine never trips it; only a hang does.
const PATIENCE: Duration = Duration::from_secs(10);
/// Upstream gives up on its own after this, whatever the test does.
const UPSTREAM_LIFETIME: Duration = Duration::from_secs(120);
const GREETING: &[u8] = b"fake ServerHello";

/// A TLS-looking record: header then payload.
fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).expect("payload fits a record");
    let mut out = vec![kind, 3, 3];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A payload whose bytes differ from their neighbours, so a shifted or flipped byte shows.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
        .collect()
}

/// Upstream: per connection, optionally a handshake record first, then each application
/// record received is echoed back as an application record, whole or in pieces.
struct Upstream {
    addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    records: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    fn start(greet: bool) -> Self {
        Self::start_with(greet, false)
    }

    /// With `split`, each reply goes out in pieces that cut through its header, so the
    /// proxy sees a record over several reads.
    fn start_with(greet: bool, split: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("upstream address");
        let accepted = Arc::new(AtomicU64::new(0));
        let records = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, r, s) = (accepted.clone(), records.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut conns = Vec::new();
            while !s.load(Ordering::SeqCst) && started.elapsed() < UPSTREAM_LIFETIME {
                match listener.accept() {
                    Ok((socket, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let (r, s) = (r.clone(), s.clone());
                        conns.push(std::thread::spawn(move || {
                            echo(socket, greet, split, &r, &s)
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            s.store(true, Ordering::SeqCst);
            for conn in conns {
                let _ = conn.join();
            }
        });
        Self {
            addr,
            accepted,
            records,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Fills `buf` unless the peer closes, an error occurs or the upstream stops.
fn read_full(socket: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> bool {
    let mut filled = 0;
    while filled < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        match socket.read(&mut buf[filled..]) {
            Ok(0) => return false,
            Ok(n) => filled += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return false,
        }
    }
    true
}

fn echo(mut socket: TcpStream, greet: bool, split: bool, records: &AtomicU64, stop: &AtomicBool) {
    let _ = socket.set_nonblocking(false);
    let _ = socket.set_nodelay(true);
    let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
    if greet && socket.write_all(&record(HANDSHAKE, GREETING)).is_err() {
        return;
    }
    loop {
        let mut header = [0u8; 5];
        if !read_full(&mut socket, &mut header, stop) {
            return;
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let mut body = vec![0u8; len];
        if !read_full(&mut socket, &mut body, stop) {
            return;
        }
        records.fetch_add(1, Ordering::SeqCst);
        let reply = record(APPLICATION_DATA, &body);
        let pieces: Vec<&[u8]> = if split && reply.len() > 9 {
            vec![&reply[..2], &reply[2..4], &reply[4..9], &reply[9..]]
        } else {
            vec![&reply[..]]
        };
        for piece in pieces {
            if socket.write_all(piece).is_err() {
                return;
            }
            if split {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn connect(proxy: &FaultProxy) -> TcpStream {
    let stream = TcpStream::connect(proxy.addr()).expect("connect to the proxy");
    stream.set_nodelay(true).expect("nodelay");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    stream
        .read_exact(&mut buf)
        .expect("read the expected bytes");
    buf
}

/// Sends an application record and reads the echoed record back.
fn round_trip(stream: &mut TcpStream, body: &[u8]) -> Vec<u8> {
    stream
        .write_all(&record(APPLICATION_DATA, body))
        .expect("send a record");
    read_n(stream, 5 + body.len())
}

/// Reads until the peer closes (EOF or reset) and returns what came before; a read that
/// times out means the connection was left open, which fails the test.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("connection still open after {got:?}")
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return got,
        }
    }
    panic!("peer kept sending")
}

/// Nothing arrives within `wait`, yet the connection has not closed.
fn assert_silent(stream: &mut TcpStream, wait: Duration) {
    stream.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected silence, got {other:?}"),
    }
}

#[test]
fn pass_forwards_bytes_unchanged_and_counts_records() {
    let upstream = Upstream::start(true);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    let mut client = connect(&proxy);
    assert_eq!(
        read_n(&mut client, 5 + GREETING.len()),
        record(HANDSHAKE, GREETING)
    );
    let sizes = [1usize, 300, 16_000];
    for (i, &size) in sizes.iter().enumerate() {
        let body = payload(size, i as u8);
        assert_eq!(
            round_trip(&mut client, &body),
            record(APPLICATION_DATA, &body)
        );
    }
    let carried: u64 = sizes.iter().map(|s| 5 + *s as u64).sum();
    assert_eq!(
        proxy.stats(),
        ProxyStats {
            connections: 1,
            client_to_server_bytes: carried,
            server_to_client_bytes: carried + 5 + GREETING.len() as u64,
            client_app_records: 3,
            server_app_records: 3,
        }
    );
    proxy.reset_stats();
    assert_eq!(proxy.stats(), ProxyStats::default());
}

#[test]
fn refuse_closes_before_any_byte_and_never_dials_upstream() {
    let upstream = Upstream::start(true);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    proxy.set_fault(Fault::Refuse);
    let mut client = connect(&proxy);
    assert!(read_until_closed(&mut client).is_empty());
    assert_eq!(proxy.stats().connections, 1);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 0);
}

#[test]
fn delay_holds_application_records() {
    let upstream = Upstream::start(true);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    let hold = Duration::from_millis(300);
    proxy.set_fault(Fault::Delay(hold));
    let mut client = connect(&proxy);
    assert_eq!(
        read_n(&mut client, 5 + GREETING.len()),
        record(HANDSHAKE, GREETING)
    );
    let body = payload(120, 3);
    let sent = Instant::now();
    assert_eq!(
        round_trip(&mut client, &body),
        record(APPLICATION_DATA, &body)
    );
    assert!(
        sent.elapsed() >= hold,
        "reply came after {:?}",
        sent.elapsed()
    );
}

#[test]
fn cut_forwards_half_the_record_then_closes() {
    let upstream = Upstream::start(true);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    proxy.set_fault(Fault::Cut);
    let mut client = connect(&proxy);
    // The handshake record is not the one cut.
    assert_eq!(
        read_n(&mut client, 5 + GREETING.len()),
        record(HANDSHAKE, GREETING)
    );
    let body = payload(95, 9);
    client
        .write_all(&record(APPLICATION_DATA, &body))
        .expect("send");
    let expected = record(APPLICATION_DATA, &body);
    assert_eq!(
        read_until_closed(&mut client),
        expected[..expected.len() / 2]
    );
}

#[test]
fn truncate_withholds_the_last_eight_bytes_and_stalls() {
    let upstream = Upstream::start(false);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    proxy.set_fault(Fault::Truncate);
    let mut client = connect(&proxy);
    let body = payload(92, 5);
    client
        .write_all(&record(APPLICATION_DATA, &body))
        .expect("send");
    let expected = record(APPLICATION_DATA, &body);
    assert_eq!(
        read_n(&mut client, expected.len() - 8),
        expected[..expected.len() - 8]
    );
    assert_silent(&mut client, Duration::from_millis(500));
    // Nothing goes upstream either once stalled.
    client
        .write_all(&record(APPLICATION_DATA, &payload(10, 1)))
        .expect("send while stalled");
    assert_silent(&mut client, Duration::from_millis(500));
    assert_eq!(upstream.records.load(Ordering::SeqCst), 1);
}

#[test]
fn corrupt_flips_one_payload_byte_of_live_connections_and_spares_the_handshake() {
    let upstream = Upstream::start(true);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    proxy.set_fault(Fault::Corrupt);
    let mut client = connect(&proxy);
    assert_eq!(
        read_n(&mut client, 5 + GREETING.len()),
        record(HANDSHAKE, GREETING)
    );
    let body = payload(64, 11);
    let expected = record(APPLICATION_DATA, &body);
    let got = round_trip(&mut client, &body);
    let differing: Vec<usize> = (0..got.len()).filter(|&i| got[i] != expected[i]).collect();
    assert_eq!(differing.len(), 1, "differing offsets {differing:?}");
    assert!(differing[0] >= 5, "header byte {} changed", differing[0]);
    // Switching back applies to the next record of the same connection.
    proxy.set_fault(Fault::Pass);
    assert_eq!(round_trip(&mut client, &body), expected);
}

#[test]
fn flap_alternates_pass_and_refuse() {
    let upstream = Upstream::start(false);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    proxy.set_fault(Fault::Flap);
    let body = payload(40, 2);
    for nth in 0..4 {
        let mut client = connect(&proxy);
        if nth % 2 == 0 {
            assert_eq!(
                round_trip(&mut client, &body),
                record(APPLICATION_DATA, &body),
                "connection {nth} should pass"
            );
        } else {
            assert!(
                read_until_closed(&mut client).is_empty(),
                "connection {nth} should be refused"
            );
        }
    }
    assert_eq!(proxy.stats().connections, 4);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn latency_delays_both_directions() {
    let upstream = Upstream::start(false);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    let each_way = Duration::from_millis(20);
    proxy.set_latency(each_way);
    let mut client = connect(&proxy);
    let body = payload(200, 4);
    for _ in 0..3 {
        let sent = Instant::now();
        assert_eq!(
            round_trip(&mut client, &body),
            record(APPLICATION_DATA, &body)
        );
        assert!(
            sent.elapsed() >= 2 * each_way,
            "round trip took {:?}",
            sent.elapsed()
        );
    }
}

#[test]
fn close_all_drops_live_connections_and_keeps_listening() {
    let upstream = Upstream::start(false);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    let body = payload(30, 6);
    let mut clients: Vec<TcpStream> = (0..2).map(|_| connect(&proxy)).collect();
    for client in &mut clients {
        assert_eq!(round_trip(client, &body), record(APPLICATION_DATA, &body));
    }
    proxy.close_all();
    for client in &mut clients {
        assert!(read_until_closed(client).is_empty());
    }
    let mut fresh = connect(&proxy);
    assert_eq!(
        round_trip(&mut fresh, &body),
        record(APPLICATION_DATA, &body)
    );
    assert_eq!(proxy.stats().connections, 3);
}

#[test]
fn drop_returns_and_closes_connections() {
    let upstream = Upstream::start(false);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    let body = payload(30, 8);
    let mut idle = connect(&proxy);
    assert_eq!(
        round_trip(&mut idle, &body),
        record(APPLICATION_DATA, &body)
    );
    // A reply held for a minute must not hold up the drop.
    proxy.set_fault(Fault::Delay(Duration::from_secs(60)));
    let mut waiting = connect(&proxy);
    waiting
        .write_all(&record(APPLICATION_DATA, &body))
        .expect("send");
    // Let the upstream answer so the delayed record is inside the proxy.
    let sent = Instant::now();
    while upstream.records.load(Ordering::SeqCst) < 2 && sent.elapsed() < PATIENCE {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (done_tx, done_rx) = mpsc::channel();
    let dropper = std::thread::spawn(move || {
        drop(proxy);
        let _ = done_tx.send(());
    });
    // A generous hang guard, not a timing assertion.
    done_rx
        .recv_timeout(PATIENCE)
        .expect("dropping the proxy returns");
    dropper.join().expect("drop thread");
    assert!(read_until_closed(&mut idle).is_empty());
    assert!(read_until_closed(&mut waiting).is_empty());
}

#[test]
fn faults_hold_when_a_record_arrives_in_pieces() {
    let upstream = Upstream::start_with(true, true);
    let proxy = FaultProxy::start(upstream.addr).expect("proxy");
    let mut client = connect(&proxy);
    assert_eq!(
        read_n(&mut client, 5 + GREETING.len()),
        record(HANDSHAKE, GREETING)
    );
    let body = payload(50, 13);
    let expected = record(APPLICATION_DATA, &body);
    assert_eq!(round_trip(&mut client, &body), expected);
    proxy.set_fault(Fault::Corrupt);
    let got = round_trip(&mut client, &body);
    let differing: Vec<usize> = (0..got.len()).filter(|&i| got[i] != expected[i]).collect();
    assert_eq!(differing.len(), 1, "differing offsets {differing:?}");
    assert!(differing[0] >= 5, "header byte {} changed", differing[0]);
    proxy.set_fault(Fault::Cut);
    client.write_all(&expected).expect("send");
    assert_eq!(
        read_until_closed(&mut client),
        expected[..expected.len() / 2]
    );
    assert_eq!(proxy.stats().server_app_records, 3);
}
