//! A loopback TCP proxy in front of a real registry that holds the first blob upload it sees
//! unanswered: the push behind it stalls there, in the middle of its writes and long before its
//! tag, for as long as a test needs to interrupt it. Every other request, and every connection
//! after that one, is forwarded untouched.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::process::wait_for;

/// What starts a blob upload (`POST /v2/<name>/blobs/uploads/`), as it appears in the request.
const UPLOAD: &[u8] = b"/blobs/uploads/";
const POST: &[u8] = b"POST ";
/// The most read of a client's bytes at a time: a request head fits.
const CHUNK: usize = 64 * 1024;

/// The running proxy; dropping it stops accepting. A held connection ends with its client.
pub struct StallingProxy {
    address: SocketAddr,
    /// Set once an upload is held.
    stalled: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl StallingProxy {
    /// Listens on a free loopback port and forwards connections to `upstream` (`host:port`),
    /// holding the first blob upload.
    pub fn start(upstream: &str) -> StallingProxy {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding the proxy's port");
        let address = listener.local_addr().expect("the proxy's address");
        let armed = Arc::new(AtomicBool::new(true));
        let stalled = Arc::new(AtomicBool::new(false));
        let stopping = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let acceptor = {
            let (armed, stalled, stopping) = (armed.clone(), stalled.clone(), stopping.clone());
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let (armed, stalled, upstream) =
                        (armed.clone(), stalled.clone(), upstream.clone());
                    thread::spawn(move || forward(client, &upstream, &armed, &stalled));
                }
            })
        };
        StallingProxy {
            address,
            stalled,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT`: where clients connect instead of the upstream.
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// Waits up to `timeout` for an upload to be held; whether one was.
    pub fn wait_stalled(&self, timeout: Duration) -> bool {
        wait_for(timeout, || {
            self.stalled.load(Ordering::SeqCst).then_some(())
        })
        .is_some()
    }
}

impl Drop for StallingProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Copies the server's bytes to the client, and the client's to the server until it starts the
/// upload to hold (while `armed`): that request goes nowhere, and the connection stays open,
/// unanswered, until the client closes it.
fn forward(client: TcpStream, upstream: &str, armed: &AtomicBool, stalled: &AtomicBool) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(mut from_client), Ok(mut to_server)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let download = thread::spawn(move || {
        let (mut server, mut client) = (server, client);
        let _ = io::copy(&mut server, &mut client);
        let _ = client.shutdown(Shutdown::Write);
    });
    let mut chunk = vec![0; CHUNK];
    let mut holding = false;
    loop {
        let read = match from_client.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let data = &chunk[..read];
        if !holding
            && contains(data, POST)
            && contains(data, UPLOAD)
            && armed
                .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            holding = true;
            stalled.store(true, Ordering::SeqCst);
        }
        if !holding && to_server.write_all(data).is_err() {
            break;
        }
    }
    let _ = to_server.shutdown(Shutdown::Both);
    let _ = download.join();
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
