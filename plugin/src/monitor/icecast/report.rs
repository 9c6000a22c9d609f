//! [`IcecastTargetStatus`]: how one Icecast output is doing, written by its source thread and
//! read by whoever reports it (`/status`, `/metrics`, the tests).
//!
//! Counters are atomics and the last error a short mutex-guarded string, so readers never wait
//! on the network and the source thread never waits on a reader for more than a copy.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use serde::Serialize;

/// Where an Icecast output stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IcecastState {
    /// Connecting and handing over the stream's headers.
    Connecting,
    /// Icecast took the stream; audio is flowing.
    Live,
    /// The last attempt failed (see `last_error`); waiting before the next one.
    Retrying,
    /// The output has ended with the server.
    Stopped,
}

impl IcecastState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Connecting,
            1 => Self::Live,
            2 => Self::Retrying,
            _ => Self::Stopped,
        }
    }

    /// The name `/status` uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Retrying => "retrying",
            Self::Stopped => "stopped",
        }
    }
}

/// The live state of one Icecast output.
#[derive(Debug)]
pub struct IcecastTargetStatus {
    /// The target's URL without its password.
    url: String,
    /// An [`IcecastState`] as `u8`; written by the source thread.
    state: AtomicU8,
    /// Bytes of Ogg written to Icecast since start, over every connection.
    bytes_sent: AtomicU64,
    /// Connection attempts after the first: retries while Icecast is down or refusing, and
    /// reconnections after a lost stream.
    reconnects: AtomicU64,
    /// Opus packets dropped while live because the connection could not take them in time.
    dropped_packets: AtomicU64,
    /// Why the last attempt or connection failed; cleared when live again.
    last_error: Mutex<Option<String>>,
}

/// A snapshot of an [`IcecastTargetStatus`], as `/status` shows it in its `icecast` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IcecastTargetReport {
    /// The target's URL without its password.
    pub url: String,
    /// Where the output stands.
    pub state: IcecastState,
    /// Bytes of Ogg written to Icecast since start.
    pub bytes_sent: u64,
    /// Connection attempts after the first.
    pub reconnects: u64,
    /// Opus packets dropped while live.
    pub dropped_packets: u64,
    /// Why the last attempt or connection failed, if it did.
    pub last_error: Option<String>,
}

impl IcecastTargetStatus {
    /// A status for the target shown as `url` (which must not hold a password), connecting.
    pub fn new(url: String) -> Self {
        Self {
            url,
            state: AtomicU8::new(IcecastState::Connecting as u8),
            bytes_sent: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            dropped_packets: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// The target's URL without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the output stands now.
    pub fn state(&self) -> IcecastState {
        IcecastState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// A consistent-enough copy of everything, for one report.
    pub fn report(&self) -> IcecastTargetReport {
        IcecastTargetReport {
            url: self.url.clone(),
            state: self.state(),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            dropped_packets: self.dropped_packets.load(Ordering::Relaxed),
            last_error: self.lock_error().clone(),
        }
    }

    fn lock_error(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A panic while holding it left a string behind at worst; it is still a string.
        self.last_error.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The source thread's side (which exists only with Opus).
#[cfg_attr(not(feature = "opus"), allow(dead_code))]
impl IcecastTargetStatus {
    pub(crate) fn set_state(&self, state: IcecastState) {
        self.state.store(state as u8, Ordering::Relaxed);
        if state == IcecastState::Live {
            *self.lock_error() = None;
        }
    }

    pub(crate) fn fail(&self, error: String) {
        *self.lock_error() = Some(error);
        self.state
            .store(IcecastState::Retrying as u8, Ordering::Relaxed);
    }

    pub(crate) fn add_bytes(&self, bytes: usize) {
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped_packet(&self) {
        self.dropped_packets.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_follows_the_state_and_clears_the_error_when_live() {
        let status = IcecastTargetStatus::new("icecast://source@h:8000/m".into());
        assert_eq!(status.report().state, IcecastState::Connecting);
        status.fail("connection refused".into());
        status.count_reconnect();
        let report = status.report();
        assert_eq!(report.state, IcecastState::Retrying);
        assert_eq!(report.last_error.as_deref(), Some("connection refused"));
        status.set_state(IcecastState::Live);
        status.add_bytes(4096);
        let report = status.report();
        assert_eq!(
            (report.state, report.bytes_sent, report.reconnects),
            (IcecastState::Live, 4096, 1)
        );
        assert_eq!(report.last_error, None);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["state"], "live");
        assert_eq!(json["url"], "icecast://source@h:8000/m");
    }
}
