//! The web monitor: any browser on the allowed network listens to the live output.
//!
//! One port serves the embedded listener page ([`assets`]), a JSON status (`GET /status`),
//! Prometheus metrics (`GET /metrics`, [`metrics`]), an optional parameter API
//! (`GET/PUT /api/v1/params`, only with an access token) and the WebSocket `/stream`, which
//! carries ~20 ms audio packets with a small versioned binary header ([`packet`]) and JSON
//! metadata messages ([`status`]). `web-monitor/PROTOCOL.md` is the
//! byte-level contract.
//!
//! Threads, none of them realtime: an accept thread, a short-lived thread per HTTP request
//! (bounded in number and in time, so a slow or hostile client only ever costs itself), and one
//! broadcast thread that pops the output tap, packs packets and writes them to every listener
//! through non-blocking sockets ([`broadcast`], [`listener`]). The monitor never blocks or slows
//! the audio thread (the tap drops when full) and never lets one listener stall another: each
//! listener has a bounded queue that skips ahead when it falls behind, and a listener that stays
//! behind is closed. Memory is bounded whatever clients do.
//!
//! Beside the browsers, the same broadcaster feeds Icecast servers ([`icecast`]): one Ogg/Opus
//! source stream per configured server and mount, for audiences beyond one machine.

mod assets;
mod auth;
mod broadcast;
mod config;
mod error;
mod http;
pub mod icecast;
mod listener;
mod metrics;
#[cfg(feature = "opus")]
mod opus_codec;
pub mod packet;
mod response;
mod routes;
mod server;
mod state;
mod status;
mod switch;

pub use config::{DEFAULT_BIND, MonitorConfig};
pub use error::{MonitorError, ParamError};
pub use icecast::{
    IcecastConfig, IcecastState, IcecastTarget, IcecastTargetReport, IcecastTargetStatus,
};
pub use packet::{Codec, FLAG_DISCONTINUITY, HEADER_BYTES, MAGIC, PROTOCOL_VERSION, PacketHeader};
pub use server::{IcecastOnly, MonitorServer};
pub use status::{EngineStatus, MonitorStatus, ParamsControl, StatusSource};
pub use switch::{DEFAULT_PORT, MonitorSwitch, SwitchState};

#[cfg(any(test, fuzzing))]
pub(crate) use http::fuzz_one as fuzz_http_request;
