//! A hostile KMIP server on 127.0.0.1 for fault tests of the host's broker: real TLS with
//! the test PKI, then one misbehaviour per connection. Bounded: it serves at most a few
//! connections, stops when dropped, and every wait has a limit.

use crate::pki::{ClientAuth, Pki};
use anyhow::Result;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the server does once a client is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Accepts TCP, never speaks TLS.
    StallHandshake,
    /// Completes TLS, reads the request, never answers.
    NeverAnswer,
    /// Answers with a header announcing a 100 MB message.
    Oversized,
    /// Answers with eight bytes that are not a KMIP response header.
    Garbage,
    /// Answers with a correct header and half the body, then closes.
    Truncated,
    /// Closes right after reading the request.
    Close,
}

/// A running hostile server.
pub struct HostileServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const MAX_CONNECTIONS: usize = 8;
const LIFETIME: Duration = Duration::from_secs(60);

impl HostileServer {
    /// Starts serving `misbehaviour` with the PKI's server certificate.
    pub fn start(pki: &Pki, misbehaviour: Misbehaviour) -> Result<Self> {
        let config = pki.server_config(ClientAuth::None)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || serve(listener, config, misbehaviour, &flag));
        Ok(Self {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    how: Misbehaviour,
    stop: &AtomicBool,
) {
    let started = Instant::now();
    let mut held = Vec::new();
    let mut served = 0;
    while !stop.load(Ordering::Relaxed) && served < MAX_CONNECTIONS && started.elapsed() < LIFETIME
    {
        match listener.accept() {
            Ok((socket, _)) => {
                served += 1;
                let _ = socket.set_nonblocking(false);
                let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
                if let Some(kept) = handle(socket, config.clone(), how) {
                    held.push(kept);
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Serves one connection; returns what must stay open (so the peer sees silence, not EOF).
fn handle(
    socket: TcpStream,
    config: Arc<rustls::ServerConfig>,
    how: Misbehaviour,
) -> Option<Box<dyn std::any::Any + Send>> {
    if how == Misbehaviour::StallHandshake {
        return Some(Box::new(socket));
    }
    let conn = rustls::ServerConnection::new(config).ok()?;
    let mut tls = rustls::StreamOwned::new(conn, socket);
    let mut header = [0u8; 8];
    if let Err(e) = tls.read_exact(&mut header) {
        eprintln!("hostile server: reading the request failed: {e}");
        return None;
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut body = vec![0u8; len.min(1 << 20)];
    tls.read_exact(&mut body).ok()?;
    match how {
        Misbehaviour::NeverAnswer => return Some(Box::new(tls)),
        Misbehaviour::Oversized => {
            let _ = tls.write_all(&[0x42, 0x00, 0x7B, 0x01, 0x06, 0x00, 0x00, 0x00]);
            let _ = tls.flush();
            return Some(Box::new(tls));
        }
        Misbehaviour::Garbage => {
            let _ = tls.write_all(b"HTTP/1.1");
            let _ = tls.flush();
        }
        Misbehaviour::Truncated => {
            let _ = tls.write_all(&[
                0x42, 0x00, 0x7B, 0x01, 0x00, 0x00, 0x00, 0x40, 0x42, 0x00, 0x7A,
            ]);
            let _ = tls.flush();
        }
        Misbehaviour::Close | Misbehaviour::StallHandshake => {}
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    None
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
