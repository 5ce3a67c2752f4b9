//! A minimal HTTP/1.1 server on a free loopback port, plain or TLS (rustls, a certificate from a
//! [`crate::registry::pki::Pki`]), for the fake services the suites put beside real ones: a request per
//! connection, each answered by a handler (or dropped unanswered, to play a failing network), then
//! closed.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::registry::pki::Issued;

/// How long a client may take to send its request before the connection is closed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request head (request line and headers) read; longer ones are cut off.
const MAX_HEAD: usize = 64 * 1024;
/// The longest request body read: a form is a few hundred bytes.
const MAX_BODY: u64 = 1024 * 1024;

/// A request as the handler sees it. Its `Debug` leaves out the body and the `Authorization`
/// header: a form may carry a refresh token, the header a password.
#[derive(Clone)]
pub struct Request {
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// Header names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body, as far as `Content-Length` says (at most [`MAX_BODY`]).
    pub body: Vec<u8>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| match name.as_str() {
                "authorization" => (name.as_str(), "***"),
                _ => (name.as_str(), value.as_str()),
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path())
            .field("headers", &headers)
            .field("body", &format_args!("{} bytes", self.body.len()))
            .finish()
    }
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(header, _)| *header == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// Every value of query parameter `key`, percent-decoded (`+` is a space).
    pub fn query(&self, key: &str) -> Vec<String> {
        let Some((_, query)) = self.target.split_once('?') else {
            return Vec::new();
        };
        values(query, key)
    }

    /// Every value of `key` in a form-encoded body.
    pub fn form(&self, key: &str) -> Vec<String> {
        values(&String::from_utf8_lossy(&self.body), key)
    }
}

/// Every value of `key` in `name=value&...` text, percent-decoded (`+` is a space).
fn values(pairs: &str, key: &str) -> Vec<String> {
    pairs
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| percent_decode(name) == key)
        .map(|(_, value)| percent_decode(value))
        .collect()
}

/// What the handler does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answers with this status (and reason phrase), headers and body.
    Answer {
        status: u16,
        reason: &'static str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Closes the connection without a byte of answer.
    Drop,
    /// A status line and headers (no `Content-Length`), then `chunk` again and again until the
    /// client hangs up: a hostile server's endless body.
    Endless {
        status: u16,
        reason: &'static str,
        headers: Vec<(String, String)>,
        chunk: Vec<u8>,
    },
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, reason: &'static str, body: &serde_json::Value) -> Reply {
        Reply::Answer {
            status,
            reason,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

pub type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// The running server; dropping it stops accepting (connections being answered finish).
pub struct HttpServer {
    address: SocketAddr,
    tls: bool,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Serves on a free port of 127.0.0.1, over TLS with `tls`'s certificate and key when given.
    pub fn start(tls: Option<&Issued>, handler: Arc<Handler>) -> HttpServer {
        HttpServer::start_on(Ipv4Addr::LOCALHOST, tls, handler)
    }

    /// Serves on a free port of `ip`, which must be a loopback address (127.0.0.0/8): a second or
    /// third host on this machine, for a registry's CDN or a thief that must not be reached.
    pub fn start_on(ip: Ipv4Addr, tls: Option<&Issued>, handler: Arc<Handler>) -> HttpServer {
        assert!(
            ip.is_loopback(),
            "the suites serve on loopback addresses only"
        );
        let listener = TcpListener::bind((ip, 0)).expect("binding a loopback port");
        let address = listener.local_addr().expect("the server's address");
        let config = tls.map(server_config);
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stopping = stopping.clone();
            let config = config.clone();
            thread::spawn(move || {
                for connection in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(connection) = connection else { continue };
                    let (handler, config) = (handler.clone(), config.clone());
                    thread::spawn(move || serve(connection, config, &*handler));
                }
            })
        };
        HttpServer {
            address,
            tls: config.is_some(),
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT` (or the address it was started on).
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    /// `http[s]://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.address)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so that the thread sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn server_config(issued: &Issued) -> Arc<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&issued.cert)
        .expect("reading the server certificate")
        .collect::<Result<_, _>>()
        .expect("a PEM certificate");
    let key = PrivateKeyDer::from_pem_file(&issued.key).expect("reading the server key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("rustls' default TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a usable certificate and key");
    Arc::new(config)
}

/// Reads one request from `connection`, answers it as the handler says, closes.
fn serve(connection: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, handler: &Handler) {
    let _ = connection.set_read_timeout(Some(REQUEST_TIMEOUT));
    let _ = connection.set_write_timeout(Some(REQUEST_TIMEOUT));
    match tls {
        Some(config) => {
            let Ok(session) = rustls::ServerConnection::new(config) else {
                return;
            };
            let mut stream = rustls::StreamOwned::new(session, connection);
            if answer(&mut stream, handler).is_ok() {
                stream.conn.send_close_notify();
                let _ = stream.flush();
            }
        }
        None => {
            let mut stream = connection;
            let _ = answer(&mut stream, handler);
        }
    }
}

/// Reads the request (its body as far as [`MAX_BODY`]), then writes the handler's reply.
fn answer(stream: &mut (impl Read + Write), handler: &Handler) -> io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let mut request = Request {
        method: request_line.next().unwrap_or_default().to_string(),
        target: request_line.next().unwrap_or_default().to_string(),
        headers: lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect(),
        body: Vec::new(),
    };
    if let Some(length) = request
        .header("content-length")
        .and_then(|length| length.parse::<u64>().ok())
    {
        stream
            .take(length.min(MAX_BODY))
            .read_to_end(&mut request.body)?;
    }
    let (status, reason, headers, body) = match handler(&request) {
        Reply::Answer {
            status,
            reason,
            headers,
            body,
        } => (status, reason, headers, body),
        Reply::Drop => return Err(io::ErrorKind::ConnectionAborted.into()),
        Reply::Endless {
            status,
            reason,
            headers,
            chunk,
        } => return endless(stream, status, reason, headers, &chunk),
    };
    let mut response = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        response += &format!("{name}: {value}\r\n");
    }
    response += &format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()
}

/// Writes the head, then `chunk` until the client stops reading (a write fails) or a bound the
/// suites never expect a client to reach: 8 GiB.
fn endless(
    stream: &mut impl Write,
    status: u16,
    reason: &str,
    headers: Vec<(String, String)>,
    chunk: &[u8],
) -> io::Result<()> {
    const CEILING: u64 = 8 << 30;
    let mut response = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        response += &format!("{name}: {value}\r\n");
    }
    response += "Connection: close\r\n\r\n";
    stream.write_all(response.as_bytes())?;
    let mut sent = 0u64;
    while sent < CEILING && !chunk.is_empty() {
        stream.write_all(chunk)?;
        sent += chunk.len() as u64;
    }
    stream.flush()
}

/// `%XX` escapes decoded, `+` as a space, as in a URL's query.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'+' => decoded.push(b' '),
            b'%' if at + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[at + 1..at + 3]).unwrap_or_default();
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        decoded.push(byte);
                        at += 2;
                    }
                    Err(_) => decoded.push(b'%'),
                }
            }
            byte => decoded.push(byte),
        }
        at += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
