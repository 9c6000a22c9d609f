//! [`ServerState`]: what the web monitor's threads share, below the server that makes it, the
//! routes that answer requests and the broadcaster that feeds listeners, so none of them needs
//! the others to reach it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use super::icecast::{IcecastTargetReport, IcecastTargetStatus};
use super::listener::Listener;
use super::metrics::ServerMetrics;
use super::packet::Codec;
use super::status::{ParamsControl, ServerCounters, StatusSource};

/// Most requests being read or answered at once; a flood beyond it gets 503 without a thread.
/// Sized for a whole audience (the default `max_listeners`) reconnecting at the same moment;
/// an idle request thread costs little more than its stack's address space.
pub(super) const MAX_PENDING_REQUESTS: usize = 256;

/// State shared by the server's threads: the accept thread, the request threads and the
/// broadcast thread.
pub(super) struct ServerState {
    /// Set by [`MonitorServer::stop`](super::MonitorServer::stop); every thread checks it and winds down.
    pub stop: AtomicBool,
    /// Open `/stream` connections; written by the broadcast thread.
    pub listeners: AtomicUsize,
    /// The tap's dropped-frame count, mirrored by the broadcast thread that owns the tap.
    pub dropped_frames: AtomicU64,
    /// Request threads alive; bounds them to [`MAX_PENDING_REQUESTS`].
    pub pending_requests: AtomicUsize,
    /// When the server started, for `uptime_s`.
    pub started: Instant,
    /// Sample rate of the tap, Hz.
    pub sample_rate: u32,
    /// The access token, if any.
    pub token: Option<String>,
    /// Bound to a loopback address: only loopback `Host` names are answered.
    pub loopback_only: bool,
    /// Most `/stream` connections.
    pub max_listeners: usize,
    /// Codecs `/stream?codec=` may ask for.
    pub codecs: Vec<Codec>,
    /// The engine's status.
    pub status: Arc<dyn StatusSource>,
    /// The parameter control, if the embedder offers one.
    pub params: Option<Arc<dyn ParamsControl>>,
    /// Upgraded WebSockets on their way to the broadcast thread.
    pub new_listeners: mpsc::Sender<Listener>,
    /// The counters of `/metrics` that the monitor keeps itself.
    pub metrics: ServerMetrics,
    /// One per Icecast output, in the order of the config; written by their source threads.
    /// `/status` and `/metrics` read them through [`Self::icecast_reports`].
    pub icecast: Vec<Arc<IcecastTargetStatus>>,
    /// Bitrate of the one Opus encoder: the Icecast outputs' when there are any, else the
    /// browsers' (see `icecast.rs` for why one encoder serves both).
    #[cfg(feature = "opus")]
    pub opus_bitrate_bps: u32,
}

impl ServerState {
    /// The counters that go with every status document.
    pub fn counters(&self) -> ServerCounters {
        ServerCounters {
            listeners: self.listeners.load(Ordering::Relaxed),
            uptime: self.started.elapsed(),
            dropped_frames: self.dropped_frames.load(Ordering::Relaxed),
        }
    }

    /// A snapshot of every Icecast output, in the order of the config.
    pub fn icecast_reports(&self) -> Vec<IcecastTargetReport> {
        self.icecast.iter().map(|status| status.report()).collect()
    }
}
