//! HTTP/1.1 responses: status line, the headers every response gets, and the body.
//!
//! One request per connection (`Connection: close`): the page makes a handful of requests, so
//! keep-alive would buy nothing and cost a state machine. Written by the request threads.

use std::borrow::Cow;
use std::io::{self, Write};

/// A response to write: status, headers and a body that is often a `'static` embedded file.
#[derive(Debug)]
pub(super) struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers besides the ones every response gets (`Content-Length`, `Connection`, …).
    headers: Vec<(&'static str, String)>,
    /// The body; `Content-Length` is its length even for `HEAD`.
    body: Cow<'static, [u8]>,
}

impl Response {
    /// A response with `content_type` and `body`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Cow<'static, [u8]>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: body.into(),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json", value.to_string().into_bytes())
    }

    /// A JSON `{"error": message}` response, the shape of every error this server sends.
    pub fn error(status: u16, message: &str) -> Self {
        Self::json(status, &serde_json::json!({ "error": message }))
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Writes the whole response; `head_only` leaves out the body (for `HEAD`).
    pub fn write_to(&self, stream: &mut impl Write, head_only: bool) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n\
             Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n",
            self.status,
            reason_phrase(self.status),
            self.body.len()
        );
        for (name, value) in &self.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        if !head_only {
            stream.write_all(&self.body)?;
        }
        stream.flush()
    }
}

/// The standard phrase for the statuses this server sends.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_carry_length_and_no_cache() {
        let mut out = Vec::new();
        Response::new(200, "text/plain", &b"hello"[..])
            .with_header("X-Test", "1")
            .write_to(&mut out, false)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Length: 5\r\n"));
        assert!(text.contains("Cache-Control: no-cache\r\n"));
        assert!(text.contains("X-Test: 1\r\n"));
        assert!(text.ends_with("\r\n\r\nhello"));
    }
}
