//! The access token: what a valid one looks like and whether a request presents it.
//!
//! Runs on the per-request HTTP threads. Comparison is constant-time so response timing does not
//! leak how much of a guess was right.

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
}
