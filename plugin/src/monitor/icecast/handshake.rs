//! The source protocol's handshake, kept away from sockets so it can be tested byte for byte:
//! the `PUT` request (Icecast ≥ 2.4) and what Icecast's answer means.
//!
//! Icecast answers a source with `HTTP/1.0 200 OK` and then reads the body for as long as the
//! connection lasts (no `Content-Length`, no chunking); `401` for bad credentials, `403` with a
//! one-line reason for a mount in use, too many sources or an unsupported format.

use super::target::IcecastTarget;

/// Longest response head read from Icecast; its real ones are a few hundred bytes.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024;

/// What the stream tells Icecast about itself (the `Ice-*` headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// `Ice-Name`.
    pub name: String,
    /// `Ice-Description`: key, scale and tempo.
    pub description: String,
    /// `Ice-Genre`.
    pub genre: String,
    /// Nominal bitrate, kbit/s.
    pub bitrate_kbps: u32,
}

/// Why Icecast did not take the stream, in the operator's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 401: the user or password is wrong. Check the source password in Icecast's config.
    #[error("authentication failed: Icecast refused the source user {user:?} and password")]
    Authentication {
        /// The user that was refused.
        user: String,
    },
    /// 403 "Mountpoint in use": another source is feeding the mount.
    #[error("the mount {mount} is in use by another source")]
    MountInUse {
        /// The mount asked for.
        mount: String,
    },
    /// Any other answer but 200, with Icecast's reason.
    #[error("Icecast refused the stream: HTTP {code} {reason}")]
    Other {
        /// HTTP status code.
        code: u16,
        /// Icecast's reason (its body's first line, or the status text), password scrubbed.
        reason: String,
    },
    /// Not an HTTP answer at all, so probably not an Icecast server.
    #[error("the server's answer is not HTTP; is this an Icecast server?")]
    NotHttp,
}

/// The request head that starts a source stream.
pub fn request(target: &IcecastTarget, info: &StreamInfo) -> String {
    format!(
        "PUT {mount} HTTP/1.1\r\n\
         Host: {host}\r\n\
         Authorization: {auth}\r\n\
         User-Agent: Auralis/{version}\r\n\
         Content-Type: audio/ogg\r\n\
         Ice-Public: 0\r\n\
         Ice-Name: {name}\r\n\
         Ice-Description: {description}\r\n\
         Ice-Genre: {genre}\r\n\
         Ice-Bitrate: {kbps}\r\n\
         Ice-Audio-Info: ice-samplerate=48000;ice-bitrate={kbps};ice-channels=2\r\n\
         \r\n",
        mount = target.mount(),
        host = target.authority(),
        auth = target.basic_auth(),
        version = env!("CARGO_PKG_VERSION"),
        name = header_value(&info.name),
        description = header_value(&info.description),
        genre = header_value(&info.genre),
        kbps = info.bitrate_kbps,
    )
}

/// What Icecast's answer so far (`bytes`) says: `Ok(None)` while more bytes are needed,
/// `Ok(Some(()))` when the stream may flow, the refusal otherwise, with the reason taken from
/// the body's first line. Interim `100 Continue` heads are skipped.
pub fn parse_response(target: &IcecastTarget, bytes: &[u8]) -> Result<Option<()>, Refusal> {
    let mut rest = bytes;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(rest) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Refusal::NotHttp),
        };
        let code = response.code.unwrap_or(0);
        let status_text = response.reason.unwrap_or("").to_owned();
        let body = &rest[head_len..];
        match code {
            100..=199 => rest = body,
            200..=299 => return Ok(Some(())),
            401 => {
                return Err(Refusal::Authentication {
                    user: target.user().to_owned(),
                });
            }
            _ => {
                let first_line = String::from_utf8_lossy(body)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                if code == 403
                    && first_line
                        .to_ascii_lowercase()
                        .contains("mountpoint in use")
                {
                    return Err(Refusal::MountInUse {
                        mount: target.mount().to_owned(),
                    });
                }
                let reason = if first_line.is_empty() {
                    status_text
                } else {
                    first_line
                };
                let reason: String = target.redact(&reason).chars().take(200).collect();
                return Err(Refusal::Other { code, reason });
            }
        }
    }
}

/// A header value without the bytes that could end the header early.
fn header_value(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> IcecastTarget {
        IcecastTarget::parse("icecast://source:s3cr3t@127.0.0.1:8000/auralis.opus").unwrap()
    }

    fn info() -> StreamInfo {
        StreamInfo {
            name: "Auralis".into(),
            description: "D Dorian, 70 BPM\r\nX-Evil: 1".into(),
            genre: "Ambient".into(),
            bitrate_kbps: 128,
        }
    }

    #[test]
    fn the_request_is_a_put_with_basic_auth_and_ice_headers() {
        let request = request(&target(), &info());
        assert!(
            request.starts_with("PUT /auralis.opus HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("\r\nHost: 127.0.0.1:8000\r\n"));
        assert!(request.contains("\r\nAuthorization: Basic c291cmNlOnMzY3IzdA==\r\n"));
        assert!(request.contains("\r\nContent-Type: audio/ogg\r\n"));
        assert!(request.contains("\r\nIce-Name: Auralis\r\n"));
        assert!(request.contains("\r\nIce-Description: D Dorian, 70 BPMX-Evil: 1\r\n"));
        assert!(request.contains("ice-bitrate=128"));
        assert!(request.ends_with("\r\n\r\n"));
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        assert!(parsed.parse(request.as_bytes()).unwrap().is_complete());
        assert_eq!(parsed.headers.len(), 10, "no header was injected");
    }

    #[test]
    fn icecast_answers_mean_what_they_say() {
        let t = target();
        assert_eq!(parse_response(&t, b"HTTP/1.0 200 OK\r\n\r\n"), Ok(Some(())));
        assert_eq!(
            parse_response(
                &t,
                b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\nHTTP/1.0 200 OK\r\n\r\n"
            ),
            Ok(Some(()))
        );
        assert_eq!(
            parse_response(&t, b"HTTP/1.1 100 Continue\r\n\r\n"),
            Ok(None)
        );
        assert_eq!(parse_response(&t, b"HTTP/1.0 20"), Ok(None));
        let auth = parse_response(&t, b"HTTP/1.0 401 Authentication Required\r\n\r\n").unwrap_err();
        assert!(auth.to_string().contains("authentication"), "{auth}");
        let busy = b"HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nMountpoint in use";
        assert_eq!(
            parse_response(&t, busy),
            Err(Refusal::MountInUse {
                mount: "/auralis.opus".into()
            })
        );
        let full = b"HTTP/1.0 403 Forbidden\r\n\r\ntoo many sources connected (s3cr3t)";
        let error = parse_response(&t, full).unwrap_err().to_string();
        assert_eq!(
            error,
            "Icecast refused the stream: HTTP 403 too many sources connected (***)"
        );
        assert_eq!(
            parse_response(&t, b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(Refusal::NotHttp)
        );
    }
}
