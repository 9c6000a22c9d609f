//! HTTP/1.1 requests at the edge: reading one with a deadline and size caps.
//!
//! Runs on the per-request threads. Parsing is httparse's; this file only adds the limits that
//! keep a slow or hostile client from holding memory or a thread for long: the whole request
//! (headers and body) must arrive within [`REQUEST_TIMEOUT`], headers within
//! [`MAX_HEADER_BYTES`] and [`MAX_HEADERS`], a body within [`MAX_BODY_BYTES`]. One request per
//! connection (see `response.rs`).

use std::io::{self, Read};
use std::time::{Duration, Instant};

/// Time for a whole request to arrive; a slowloris client is answered 408 after this.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head (request line and headers) accepted; more is answered 431.
pub(super) const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Most header lines accepted; more is answered 431.
pub(super) const MAX_HEADERS: usize = 32;
/// Largest request body accepted (the parameter API's JSON); more is answered 413.
pub(super) const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request that arrived whole and parsed.
#[derive(Debug)]
pub(super) struct Request {
    /// `GET`, `HEAD`, `PUT`, … as sent.
    pub method: String,
    /// The path without the query, e.g. `/status`.
    pub path: String,
    /// The raw query after `?`, if any.
    pub query: Option<String>,
    /// Headers with lower-cased names; values that are not UTF-8 are dropped.
    headers: Vec<(String, String)>,
    /// The body, exactly `Content-Length` bytes.
    pub body: Vec<u8>,
    /// Bytes that arrived after the head of a body-less request: the first WebSocket frames of
    /// an eager client, handed to the WebSocket so none are lost.
    pub leftover: Vec<u8>,
}

impl Request {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the comma-separated header `name` lists `token`, case-insensitively
    /// (`Connection: keep-alive, Upgrade`).
    pub fn header_lists(&self, name: &str, token: &str) -> bool {
        self.header(name).is_some_and(|value| {
            value
                .split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    }

    /// The value of query parameter `name`, undecoded (our parameters never need decoding).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key == "cookie")
            .flat_map(|(_, value)| value.split(';'))
            .find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                (key == name).then_some(value)
            })
    }

    /// Parses a complete request from bytes, for unit tests.
    #[cfg(test)]
    pub fn parse_for_test(raw: &[u8]) -> Self {
        let mut reader = io::Cursor::new(raw.to_vec());
        read_request(&mut reader, REQUEST_TIMEOUT).expect("a valid test request")
    }
}

/// Why no request could be read. Each maps to the status the client is told, if any.
#[derive(Debug, thiserror::Error)]
pub(super) enum RequestError {
    /// The request did not arrive in time: 408.
    #[error("the request did not arrive within {} s", REQUEST_TIMEOUT.as_secs())]
    Timeout,
    /// The head is too big or has too many headers: 431.
    #[error("request headers too large")]
    HeadersTooLarge,
    /// The body is larger than [`MAX_BODY_BYTES`]: 413.
    #[error("request body larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    /// A chunked or otherwise unsized body: 411.
    #[error("a request body needs a Content-Length")]
    LengthRequired,
    /// Not HTTP/1.x: 400.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The client went away before finishing; nobody to answer.
    #[error("the client closed the connection")]
    Closed,
    /// The socket failed; nobody to answer.
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
}

impl RequestError {
    /// The status to answer with, or `None` when there is no one to answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Timeout => Some(408),
            Self::HeadersTooLarge => Some(431),
            Self::BodyTooLarge => Some(413),
            Self::LengthRequired => Some(411),
            Self::Malformed(_) => Some(400),
            Self::Closed | Self::Io(_) => None,
        }
    }
}

/// A stream whose reads can be given a deadline: a TCP socket, or a buffer in tests.
pub(super) trait TimedRead: Read {
    /// Makes the next reads give up after `timeout`.
    fn set_read_deadline(&mut self, timeout: Duration) -> io::Result<()>;
}

impl TimedRead for std::net::TcpStream {
    fn set_read_deadline(&mut self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))
    }
}

impl TimedRead for io::Cursor<Vec<u8>> {
    fn set_read_deadline(&mut self, _timeout: Duration) -> io::Result<()> {
        Ok(())
    }
}

/// Reads one request, giving up after `timeout` in total (not per read, or a client sending a
/// byte every few seconds would hold the thread forever).
pub(super) fn read_request(
    stream: &mut impl TimedRead,
    timeout: Duration,
) -> Result<Request, RequestError> {
    let deadline = Instant::now() + timeout;
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let read = read_before(stream, &mut chunk, deadline)?;
        if read == 0 {
            return Err(RequestError::Closed);
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Complete(head_bytes)) => {
                let request = head_to_request(&parsed, buffer[head_bytes..].to_vec());
                return finish_body(stream, request, deadline);
            }
            Ok(httparse::Status::Partial) if buffer.len() >= MAX_HEADER_BYTES => {
                return Err(RequestError::HeadersTooLarge);
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(RequestError::HeadersTooLarge),
            Err(error) => return Err(RequestError::Malformed(error.to_string())),
        }
    }
}

/// One read that fails with [`RequestError::Timeout`] once `deadline` has passed.
fn read_before(
    stream: &mut impl TimedRead,
    chunk: &mut [u8],
    deadline: Instant,
) -> Result<usize, RequestError> {
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(RequestError::Timeout);
        }
        stream.set_read_deadline(remaining)?;
        match stream.read(chunk) {
            Ok(read) => return Ok(read),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(RequestError::Timeout);
            }
            Err(e) => return Err(RequestError::Io(e)),
        }
    }
}

/// Copies what we need out of httparse's borrowed view; `rest` is what followed the head.
fn head_to_request(parsed: &httparse::Request, rest: Vec<u8>) -> Request {
    let method = parsed.method.unwrap_or_default().to_string();
    let target = parsed.path.unwrap_or_default();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (target.to_string(), None),
    };
    let headers = parsed
        .headers
        .iter()
        .filter_map(|header| {
            let value = std::str::from_utf8(header.value).ok()?;
            Some((header.name.to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect();
    Request {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
        leftover: rest,
    }
}

/// Reads the body announced by `Content-Length`, if any, before the same deadline.
fn finish_body(
    stream: &mut impl TimedRead,
    mut request: Request,
    deadline: Instant,
) -> Result<Request, RequestError> {
    if request.header("transfer-encoding").is_some() {
        return Err(RequestError::LengthRequired);
    }
    let body_bytes = match request.header("content-length") {
        None => return Ok(request),
        Some(value) => value
            .parse::<usize>()
            .map_err(|_| RequestError::Malformed("bad Content-Length".into()))?,
    };
    if body_bytes > MAX_BODY_BYTES {
        return Err(RequestError::BodyTooLarge);
    }
    let mut body = std::mem::take(&mut request.leftover);
    let mut chunk = [0u8; 4096];
    while body.len() < body_bytes {
        let read = read_before(stream, &mut chunk, deadline)?;
        if read == 0 {
            return Err(RequestError::Closed);
        }
        body.extend_from_slice(&chunk[..read]);
    }
    // Anything past the announced body would be a pipelined request; we serve one per
    // connection, so it is dropped.
    body.truncate(body_bytes);
    request.body = body;
    Ok(request)
}

/// Reads `raw` as one request and panics if the reader took in more than its caps allow or
/// returned more than they allow: one input of the fuzzers (the proptest ones below,
/// cargo-fuzz's in `fuzz/`).
#[cfg(any(test, fuzzing))]
pub(crate) fn fuzz_one(raw: &[u8]) {
    // Everything the reader may take in before it must have decided: a head up to its cap
    // (plus the last read that crossed it) and a body up to its cap (plus one read).
    const MOST_READ: u64 = (MAX_HEADER_BYTES + 2048 + MAX_BODY_BYTES + 4096) as u64;
    let mut stream = io::Cursor::new(raw.to_vec());
    let result = read_request(&mut stream, REQUEST_TIMEOUT);
    assert!(
        stream.position() <= MOST_READ,
        "read {} bytes of one request",
        stream.position()
    );
    if let Ok(request) = result {
        assert!(request.body.len() <= MAX_BODY_BYTES);
        assert!(request.headers.len() <= MAX_HEADERS);
        assert!(request.leftover.len() <= MAX_HEADER_BYTES + 2048);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> Result<Request, RequestError> {
        read_request(&mut io::Cursor::new(raw.to_vec()), REQUEST_TIMEOUT)
    }

    #[test]
    fn a_request_splits_into_path_query_headers_and_body() {
        let request = read(
            b"PUT /api/v1/params?token=t HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\
              Connection: keep-alive, Upgrade\r\n\r\nbodyEXTRA",
        )
        .unwrap();
        assert_eq!(request.method, "PUT");
        assert_eq!(request.path, "/api/v1/params");
        assert_eq!(request.query_param("token"), Some("t"));
        assert_eq!(request.header("host"), Some("x"));
        assert!(request.header_lists("connection", "upgrade"));
        assert_eq!(request.body, b"body");
    }

    #[test]
    fn limits_map_to_their_statuses() {
        let huge_head = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEADER_BYTES)
        );
        assert_eq!(read(huge_head.as_bytes()).unwrap_err().status(), Some(431));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("H{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(read(many.as_bytes()).unwrap_err().status(), Some(431));
        let big_body = format!(
            "PUT / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert_eq!(read(big_body.as_bytes()).unwrap_err().status(), Some(413));
        let chunked = b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(read(chunked).unwrap_err().status(), Some(411));
        assert_eq!(
            read(b"\x00\x01\x02garbage\r\n\r\n").unwrap_err().status(),
            Some(400)
        );
        assert_eq!(
            read(b"GET / HT").unwrap_err().status(),
            None,
            "client left mid-request"
        );
    }

    /// Property-based fuzzing of the request reader: random bytes and damaged genuine requests,
    /// followed by a flood. It must never panic, and never read (so never hold) more than its
    /// caps allow, whatever a client sends.
    mod fuzz {
        use super::*;
        use crate::fuzzing;
        use proptest::prelude::*;

        const GENUINE: &[&str] = &[
            "GET /stream?token=abc&codec=opus HTTP/1.1\r\nHost: 127.0.0.1:8040\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:8040\r\n\r\n",
            "PUT /api/v1/params HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"tempo_bpm\":80}",
            "GET /status HTTP/1.1\r\nHost: x\r\nCookie: auralis_token=abc; other=1\r\n\r\n",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            #[test]
            fn random_bytes_never_panic_or_overread(
                raw in prop::collection::vec(any::<u8>(), 0..4096),
                flood in 0usize..200_000,
            ) {
                let mut raw = raw;
                raw.resize(raw.len() + flood, b'a');
                fuzz_one(&raw);
            }

            #[test]
            fn damaged_requests_never_panic_or_overread(
                which in 0..GENUINE.len(),
                edits in fuzzing::edits(16),
                flood in prop::option::of((any::<u8>(), 0usize..150_000)),
            ) {
                let mut raw = fuzzing::damage(GENUINE[which].as_bytes().to_vec(), &edits);
                if let Some((byte, length)) = flood {
                    raw.extend(std::iter::repeat_n(byte, length));
                }
                fuzz_one(&raw);
            }
        }
    }
}
