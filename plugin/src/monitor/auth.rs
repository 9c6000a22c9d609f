//! Who may ask: the access token (what a valid one looks like and whether a request presents
//! it), and the browser-side checks that keep other web sites out.
//!
//! Runs on the per-request HTTP threads. Comparison is constant-time so response timing does not
//! leak how much of a guess was right.

use std::net::IpAddr;

use super::http::Request;

/// Longest token accepted; longer ones are configuration mistakes, not more security.
const MAX_TOKEN_CHARS: usize = 256;

/// Cookie the page response sets so the browser's own loads of the page's scripts and styles
/// (which cannot carry `?token=`) are authorised too.
pub(super) const TOKEN_COOKIE: &str = "auralis_token";

/// Whether `token` can be used: 1 to 256 URL-safe characters, so it never needs escaping.
pub(super) fn is_valid_token(token: &str) -> bool {
    (1..=MAX_TOKEN_CHARS).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// Where a request may carry the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Credentials {
    /// `?token=` or `Authorization: Bearer` only: data and control endpoints, so a cookie
    /// the browser attaches on its own can never authorise them.
    Explicit,
    /// Also the cookie: the page's static files, which the browser loads without our help.
    ExplicitOrCookie,
}

/// Whether the request may proceed: always without a configured token, otherwise only if it
/// presents the token in an allowed place.
pub(super) fn is_authorized(
    expected: Option<&str>,
    request: &Request,
    allowed: Credentials,
) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let from_query = request.query_param("token");
    let from_bearer = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let from_cookie = match allowed {
        Credentials::Explicit => None,
        Credentials::ExplicitOrCookie => request.cookie(TOKEN_COOKIE),
    };
    [from_query, from_bearer, from_cookie]
        .into_iter()
        .flatten()
        .any(|candidate| constant_time_eq(candidate.as_bytes(), expected.as_bytes()))
}

/// Whether a browser sent the request from a page of this server. Browsers name the page's
/// origin on every WebSocket handshake and cross-origin request; without this check any web
/// site the user visits could open `/stream` (WebSockets are not covered by CORS) or send
/// parameter changes with the token cookie. Requests without an `Origin` are not from a
/// browser page and pass (the token still applies).
pub(super) fn is_same_origin(request: &Request) -> bool {
    let Some(origin) = request.header("origin") else {
        return true;
    };
    let Some(host) = request.header("host") else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Whether the `Host` the client asked for is a loopback name. A server on loopback answers
/// only to those: a web site whose name an attacker re-points at 127.0.0.1 (DNS rebinding)
/// is same-origin with itself, so only the name it uses gives it away. Requests without a
/// `Host` (not a browser's) pass.
pub(super) fn names_loopback(request: &Request) -> bool {
    let Some(host) = request.header("host") else {
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Byte equality whose running time depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw: &str) -> Request {
        Request::parse_for_test(raw.as_bytes())
    }

    #[test]
    fn without_a_token_everything_is_allowed() {
        assert!(is_authorized(
            None,
            &request("GET / HTTP/1.1\r\n\r\n"),
            Credentials::Explicit
        ));
    }

    #[test]
    fn query_bearer_and_cookie_are_accepted_where_allowed() {
        let token = Some("abc-123");
        let by_query = request("GET /status?x=1&token=abc-123 HTTP/1.1\r\n\r\n");
        let by_bearer = request("GET /status HTTP/1.1\r\nAuthorization: Bearer abc-123\r\n\r\n");
        let by_cookie =
            request("GET /app.js HTTP/1.1\r\nCookie: a=b; auralis_token=abc-123\r\n\r\n");
        assert!(is_authorized(token, &by_query, Credentials::Explicit));
        assert!(is_authorized(token, &by_bearer, Credentials::Explicit));
        assert!(is_authorized(
            token,
            &by_cookie,
            Credentials::ExplicitOrCookie
        ));
        assert!(!is_authorized(token, &by_cookie, Credentials::Explicit));
    }

    #[test]
    fn wrong_or_missing_tokens_are_refused() {
        let token = Some("abc-123");
        for raw in [
            "GET /status HTTP/1.1\r\n\r\n",
            "GET /status?token=abc-124 HTTP/1.1\r\n\r\n",
            "GET /status?token=abc-1234 HTTP/1.1\r\n\r\n",
            "GET /status?token= HTTP/1.1\r\n\r\n",
            "GET /status HTTP/1.1\r\nAuthorization: Basic abc-123\r\n\r\n",
        ] {
            assert!(
                !is_authorized(token, &request(raw), Credentials::ExplicitOrCookie),
                "{raw}"
            );
        }
    }

    #[test]
    fn only_pages_of_this_server_pass_the_origin_check() {
        let with = |origin: &str| {
            request(&format!(
                "GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8040\r\nOrigin: {origin}\r\n\r\n"
            ))
        };
        assert!(is_same_origin(&with("http://127.0.0.1:8040")));
        assert!(is_same_origin(&with("https://127.0.0.1:8040")));
        assert!(!is_same_origin(&with("http://evil.example")));
        assert!(!is_same_origin(&with("http://127.0.0.1:8041")));
        assert!(!is_same_origin(&with("null")));
        assert!(is_same_origin(&request(
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        )));
        assert!(!is_same_origin(&request(
            "GET / HTTP/1.1\r\nOrigin: http://x\r\n\r\n"
        )));
    }

    #[test]
    fn loopback_names_are_told_from_others() {
        let host = |name: &str| request(&format!("GET / HTTP/1.1\r\nHost: {name}\r\n\r\n"));
        for name in [
            "127.0.0.1:8040",
            "localhost:8040",
            "LOCALHOST",
            "[::1]:8040",
            "127.1.2.3",
        ] {
            assert!(names_loopback(&host(name)), "{name}");
        }
        for name in [
            "evil.example:8040",
            "192.168.1.2:8040",
            "[::2]:80",
            "localhost.evil",
            "",
        ] {
            assert!(!names_loopback(&host(name)), "{name}");
        }
    }
}
