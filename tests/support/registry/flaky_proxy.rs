//! A loopback TCP proxy in front of a real server that fails the first connections on purpose:
//! it drops them unanswered, or answers their request with `503 Service Unavailable` or `429 Too
//! Many Requests`, then forwards every later connection untouched. It notes when each connection
//! came, so a test sees how long a client waited before trying again.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How a failed connection fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Closed as soon as it is accepted, before any byte is answered.
    Drop,
    /// Whatever it sends first (a request head, or a TLS hello) is answered `503 Service
    /// Unavailable`, then it is closed.
    Unavailable,
    /// Likewise answered `429 Too Many Requests` with `Retry-After: SECONDS`.
    Busy { retry_after_seconds: u64 },
}

const UNAVAILABLE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 0\r\nConnection: close\r\n\r\n";
/// How long a faulted connection may take to send something before it is closed anyway.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most read of a faulted connection's first bytes: the answer does not depend on them.
const FIRST_READ: usize = 4096;

/// The running proxy; dropping it stops accepting. Connections being forwarded end with their
/// client.
pub struct FlakyProxy {
    address: SocketAddr,
    faults_left: Arc<AtomicUsize>,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

/// A connection the proxy accepted: when, and whether it was failed on purpose.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub at: Instant,
    pub faulted: bool,
}

impl FlakyProxy {
    /// Listens on a free loopback port and forwards connections to `upstream` (`host:port`),
    /// except that after the first `pass_first` it fails the next `faults` with `fault`.
    pub fn start(upstream: &str, fault: Fault, pass_first: usize, faults: usize) -> FlakyProxy {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding the proxy's port");
        let address = listener.local_addr().expect("the proxy's address");
        let faults_left = Arc::new(AtomicUsize::new(faults));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let acceptor = {
            let (faults_left, arrivals, stopping) =
                (faults_left.clone(), arrivals.clone(), stopping.clone());
            thread::spawn(move || {
                for (accepted, client) in listener.incoming().enumerate() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let faulted = accepted >= pass_first
                        && faults_left
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                                left.checked_sub(1)
                            })
                            .is_ok();
                    if let Ok(mut arrivals) = arrivals.lock() {
                        arrivals.push(Arrival {
                            at: Instant::now(),
                            faulted,
                        });
                    }
                    if faulted {
                        fail(client, fault);
                    } else {
                        let upstream = upstream.clone();
                        thread::spawn(move || forward(client, &upstream));
                    }
                }
            })
        };
        FlakyProxy {
            address,
            faults_left,
            arrivals,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT`: where clients connect instead of the upstream.
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// Every connection accepted so far, in order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .map(|arrivals| arrivals.clone())
            .unwrap_or_default()
    }

    /// How many of the planned faults have not happened yet.
    pub fn faults_left(&self) -> usize {
        self.faults_left.load(Ordering::SeqCst)
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn fail(mut client: TcpStream, fault: Fault) {
    let answer = match fault {
        Fault::Drop => None,
        Fault::Unavailable => Some(UNAVAILABLE.to_vec()),
        Fault::Busy {
            retry_after_seconds,
        } => Some(format!("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nRetry-After: {retry_after_seconds}\r\nConnection: close\r\n\r\n").into_bytes()),
    };
    if let Some(answer) = answer {
        let _ = client.set_read_timeout(Some(REQUEST_TIMEOUT));
        let mut first = [0; FIRST_READ];
        if client.read(&mut first).is_ok_and(|read| read > 0) {
            let _ = client.write_all(&answer);
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// Copies bytes both ways until either side closes.
fn forward(client: TcpStream, upstream: &str) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(client_reader), Ok(server_writer)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let upload = thread::spawn(move || pipe(client_reader, server_writer));
    pipe(server, client);
    let _ = upload.join();
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
