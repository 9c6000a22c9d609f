//! One HTTP connection, start to end: read the request, check the token, route, answer or
//! upgrade to a WebSocket listener.
//!
//! Runs on a request thread (see `server.rs`), never on the broadcast thread, so nothing a
//! client does here can delay audio to others. Every way out is an ordinary `return`: errors
//! from clients are routine and quiet.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tungstenite::WebSocket;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::Role;

use super::assets::{self, Asset};
use super::auth::{Credentials, TOKEN_COOKIE, is_authorized, is_same_origin, names_loopback};
use super::http::{REQUEST_TIMEOUT, Request, read_request};
use super::listener::{Listener, SOCKET_SEND_BUFFER_BYTES, websocket_config};
use super::metrics::metrics_response;
use super::packet::Codec;
use super::response::Response;
use super::state::ServerState;
use super::status::status_json;

/// Time allowed for writing a response; a client that does not read it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What to do with a routed request.
enum Outcome {
    /// Write this response and close.
    Respond(Response),
    /// Switch to the WebSocket protocol with this codec.
    Upgrade(Codec),
}

/// Serves one connection.
pub(super) fn handle_connection(mut stream: TcpStream, shared: &ServerState) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let request = match read_request(&mut stream, REQUEST_TIMEOUT) {
        Ok(request) => request,
        Err(error) => {
            if let Some(status) = error.status() {
                let _ = Response::error(status, &error.to_string()).write_to(&mut stream, false);
            }
            return;
        }
    };
    match route(&request, shared) {
        Outcome::Respond(response) => {
            let _ = response.write_to(&mut stream, request.method == "HEAD");
        }
        Outcome::Upgrade(codec) => upgrade(stream, request, codec, shared),
    }
}

/// Decides what a request gets.
fn route(request: &Request, shared: &ServerState) -> Outcome {
    if !is_same_origin(request) {
        return Outcome::Respond(Response::error(
            403,
            "requests from other sites are refused",
        ));
    }
    // Without a token, a loopback server trusts whoever reaches it; a web page reaching it
    // through a rebound name must not count as local. With a token the check would only break
    // reverse proxies, and the rebound page has no token.
    if shared.loopback_only && shared.token.is_none() && !names_loopback(request) {
        return Outcome::Respond(Response::error(
            403,
            "this server answers to loopback names only (127.0.0.1, localhost, [::1])",
        ));
    }
    let token = shared.token.as_deref();
    let is_get = matches!(request.method.as_str(), "GET" | "HEAD");
    if let Some(asset) = assets::find(&request.path) {
        // The page itself needs the token in its URL (its scripts read it from there); the
        // files it loads may use the cookie the page response set.
        let credentials = if asset.is_page {
            Credentials::Explicit
        } else {
            Credentials::ExplicitOrCookie
        };
        return Outcome::Respond(if !is_get {
            method_not_allowed("GET, HEAD")
        } else if !is_authorized(token, request, credentials) {
            unauthorized()
        } else {
            asset_response(asset, token)
        });
    }
    let response = match request.path.as_str() {
        "/status" if !is_get => method_not_allowed("GET, HEAD"),
        "/status" if !is_authorized(token, request, Credentials::Explicit) => unauthorized(),
        "/status" => Response::new(
            200,
            "application/json",
            status_json(
                &shared.status.status(),
                shared.counters(),
                &shared.icecast_reports(),
            )
            .into_bytes(),
        ),
        "/metrics" if !is_get => method_not_allowed("GET, HEAD"),
        "/metrics" if !is_authorized(token, request, Credentials::Explicit) => unauthorized(),
        "/metrics" => metrics_response(shared),
        "/stream" => return stream_request(request, shared),
        "/api/v1/params" => params_request(request, shared),
        _ => Response::error(404, "not found"),
    };
    Outcome::Respond(response)
}

/// An embedded file, with the headers that make the page cross-origin isolated (needed for
/// its SharedArrayBuffer audio ring) and, for the page, the token cookie.
fn asset_response(asset: &'static Asset, token: Option<&str>) -> Response {
    let mut response = Response::new(200, asset.content_type, asset.body)
        .with_header("Cross-Origin-Opener-Policy", "same-origin")
        .with_header("Cross-Origin-Embedder-Policy", "require-corp")
        .with_header("Cross-Origin-Resource-Policy", "same-origin");
    if asset.is_page {
        response = response
            .with_header(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; \
                 frame-ancestors 'none'",
            )
            .with_header("Referrer-Policy", "no-referrer");
        if let Some(token) = token {
            response = response.with_header(
                "Set-Cookie",
                format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"),
            );
        }
    }
    response
}

/// `/stream`: checks everything that can be refused with a status, before switching protocols.
fn stream_request(request: &Request, shared: &ServerState) -> Outcome {
    let refuse = |response| Outcome::Respond(response);
    if request.method != "GET" {
        return refuse(method_not_allowed("GET"));
    }
    if !is_authorized(shared.token.as_deref(), request, Credentials::Explicit) {
        return refuse(unauthorized());
    }
    if !request.header_lists("upgrade", "websocket")
        || !request.header_lists("connection", "upgrade")
    {
        return refuse(
            Response::error(426, "/stream is a WebSocket endpoint")
                .with_header("Upgrade", "websocket"),
        );
    }
    if request.header("sec-websocket-version") != Some("13") {
        return refuse(
            Response::error(426, "WebSocket version 13 required")
                .with_header("Sec-WebSocket-Version", "13"),
        );
    }
    if request
        .header("sec-websocket-key")
        .is_none_or(|key| key.is_empty() || key.len() > 64)
    {
        return refuse(Response::error(400, "missing or invalid Sec-WebSocket-Key"));
    }
    let name = request.query_param("codec").unwrap_or("pcm16");
    let Some(codec) = Codec::from_name(name).filter(|codec| shared.codecs.contains(codec)) else {
        let offered: Vec<&str> = shared.codecs.iter().map(|codec| codec.name()).collect();
        let message = format!("codec {name:?} is not offered; this server offers {offered:?}");
        return refuse(Response::error(400, &message));
    };
    // The broadcast thread enforces the limit exactly; this early check only spares a full
    // server the handshake.
    if shared.listeners.load(Ordering::Relaxed) >= shared.max_listeners {
        return refuse(
            Response::error(503, "too many listeners, retry later").with_header("Retry-After", "5"),
        );
    }
    Outcome::Upgrade(codec)
}

/// Completes the WebSocket handshake and hands the socket to the broadcast thread.
fn upgrade(mut stream: TcpStream, request: Request, codec: Codec, shared: &ServerState) {
    let key = request.header("sec-websocket-key").unwrap_or_default();
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    if stream.write_all(head.as_bytes()).is_err() || stream.set_nonblocking(true).is_err() {
        return;
    }
    // Only a bound on buffering; a socket that refuses it still works, just hides stalls longer.
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SOCKET_SEND_BUFFER_BYTES);
    let socket = WebSocket::from_partially_read(
        stream,
        request.leftover,
        Role::Server,
        Some(websocket_config()),
    );
    // After a stop the broadcast thread is gone and the socket just closes.
    let bytes_sent = shared.metrics.bytes_sent(codec);
    let _ = shared
        .new_listeners
        .send(Listener::new(socket, codec, bytes_sent));
}

/// `/api/v1/params`: exists only with a token and a parameter control.
fn params_request(request: &Request, shared: &ServerState) -> Response {
    let (Some(token), Some(params)) = (shared.token.as_deref(), &shared.params) else {
        return Response::error(404, "not found: the parameter API needs an access token");
    };
    if !is_authorized(Some(token), request, Credentials::Explicit) {
        return unauthorized();
    }
    match request.method.as_str() {
        "GET" | "HEAD" => Response::json(200, &params.get()),
        "PUT" => match serde_json::from_slice::<Value>(&request.body) {
            Ok(changes @ Value::Object(_)) => match params.put(&changes) {
                Ok(values) => Response::json(200, &values),
                Err(error) => Response::json(
                    422,
                    &serde_json::json!({ "error": error.message, "field": error.field }),
                ),
            },
            Ok(_) => Response::error(400, "the body must be a JSON object"),
            Err(error) => Response::error(400, &format!("the body is not JSON: {error}")),
        },
        _ => method_not_allowed("GET, HEAD, PUT"),
    }
}

/// 401 with the scheme the client should use.
fn unauthorized() -> Response {
    Response::error(
        401,
        "access token required: add ?token=… or Authorization: Bearer …",
    )
    .with_header("WWW-Authenticate", "Bearer realm=\"auralis\"")
}

/// 405 listing what is allowed.
fn method_not_allowed(allow: &'static str) -> Response {
    Response::error(405, "method not allowed").with_header("Allow", allow)
}
