//! Errors of the web monitor, worded for the person who started it.

use std::net::SocketAddr;

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The bind address is not loopback and no token is set, so anyone on the network could
    /// listen. Set an access token, or bind to a loopback address such as 127.0.0.1.
    #[error(
        "refusing to serve on {bind} without an access token: anyone on the network could \
         listen; set a token, or bind to a loopback address such as 127.0.0.1"
    )]
    TokenRequired {
        /// The address that was asked for.
        bind: SocketAddr,
    },
    /// The token is empty, longer than 256 characters, or has characters that do not survive
    /// a URL unescaped. Use letters, digits, `-`, `_`, `.` and `~`.
    #[error("the access token must be 1 to 256 characters from A-Z a-z 0-9 - _ . ~")]
    InvalidToken,
    /// `max_listeners` is zero, so no browser could ever listen. Use at least 1.
    #[error("max_listeners must be at least 1")]
    NoListenersAllowed,
    /// The port is taken or needs privileges. Pick another port or stop the other program.
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        /// The address that was asked for.
        bind: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Icecast outputs were asked for, but this build has no Opus encoder (cargo feature
    /// `opus`; the standalone `auralis` has it). Use `auralis serve`.
    #[error("Icecast outputs need Opus, which this build of Auralis lacks")]
    IcecastUnavailable,
    /// Icecast streams are Opus at 48 kHz, and Opus takes no other rate from us. Serve at
    /// 48000 Hz.
    #[error("Icecast streams are Ogg/Opus at 48000 Hz; the engine runs at {sample_rate} Hz")]
    IcecastSampleRate {
        /// The engine's rate, Hz.
        sample_rate: u32,
    },
    /// An Icecast target has no password; Icecast refuses every source without one. Give it
    /// in the URL or in `AURALIS_ICECAST_PASSWORD`.
    #[error(
        "{target} has no password: put it in the URL (icecast://source:PASSWORD@host/mount) \
         or in AURALIS_ICECAST_PASSWORD"
    )]
    IcecastPassword {
        /// The target, shown without a password.
        target: String,
    },
    /// The Icecast bitrate is outside what Opus does in stereo. Use 16 to 510 kbit/s.
    #[error("the Icecast bitrate must be 16 to 510 kbit/s, not {} kbit/s", bitrate_bps / 1000)]
    IcecastBitrate {
        /// The bitrate asked for, bits per second.
        bitrate_bps: u32,
    },
    /// The operating system refused a thread (out of resources). Free resources and retry.
    #[error("cannot start the monitor's {thread} thread: {source}")]
    Thread {
        /// Which of the monitor's threads.
        thread: &'static str,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// A rejected parameter change: which field and why. The server answers it with HTTP 422 and
/// the body `{"error": message, "field": field}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParamError {
    /// The JSON field that was rejected, as the client spelled it (`"tempo_bpm"`).
    pub field: String,
    /// Why, in words a person can act on (`"must be between 20 and 300"`).
    pub message: String,
}

impl ParamError {
    /// A rejection of `field` for `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
