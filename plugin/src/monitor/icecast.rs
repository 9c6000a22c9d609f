//! Icecast source outputs: the live stream pushed to Icecast servers as Ogg/Opus over HTTP
//! `PUT`, so any number of ordinary players (and relays) can listen.
//!
//! One encoder, shared: the broadcast thread encodes each 20 ms packet once and hands the Opus
//! payload to every output through a bounded queue of its own ([`IcecastFeed`], one second
//! deep). An output that is slow or down loses packets from its own queue and never slows the
//! broadcaster, the browsers or the engine. Each output runs one thread ([`source`]) that
//! connects, frames the packets as Ogg ([`ogg_opus`]) and retries with a capped backoff; its
//! state is shared as atomics ([`report`]) for `/status` and `/metrics`.
//!
//! The bitrate: with Icecast outputs the one encoder runs at their bitrate
//! ([`IcecastConfig::bitrate_bps`], 128 kbit/s by default) and browsers asking for Opus get
//! the same packets; without them it runs at the browsers' 160 kbit/s. A second encoder per
//! bitrate would double the encoding work for a difference no one hears in this material.

pub mod report;
pub mod target;

#[cfg(feature = "opus")]
mod handshake;
#[cfg(feature = "opus")]
mod metadata;
#[cfg(feature = "opus")]
mod ogg_opus;
#[cfg(feature = "opus")]
mod source;

use super::error::MonitorError;

pub use report::{IcecastState, IcecastTargetReport, IcecastTargetStatus};
pub use target::{IcecastTarget, IcecastUrlError};

/// Icecast bitrate unless told otherwise: transparent for ambient material, and what most
/// Icecast operators budget per Opus stream.
pub const DEFAULT_BITRATE_BPS: u32 = 128_000;
/// The lowest and highest bitrates accepted, bits per second: Opus's stereo range.
pub const BITRATE_RANGE_BPS: std::ops::RangeInclusive<u32> = 16_000..=510_000;

/// The Icecast outputs to run beside the web monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcecastConfig {
    /// Servers and mounts to feed; none by default.
    pub targets: Vec<IcecastTarget>,
    /// Opus bitrate of the stream while any target is set, bits per second.
    pub bitrate_bps: u32,
}

impl Default for IcecastConfig {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            bitrate_bps: DEFAULT_BITRATE_BPS,
        }
    }
}

impl IcecastConfig {
    /// Checks the outputs before anything starts.
    ///
    /// # Errors
    ///
    /// [`MonitorError::IcecastUnavailable`] when built without Opus,
    /// [`MonitorError::IcecastPassword`] for a target without a password,
    /// [`MonitorError::IcecastBitrate`] for a bitrate outside [`BITRATE_RANGE_BPS`].
    pub fn validate(&self) -> Result<(), MonitorError> {
        if self.targets.is_empty() {
            return Ok(());
        }
        if !cfg!(feature = "opus") {
            return Err(MonitorError::IcecastUnavailable);
        }
        if let Some(target) = self.targets.iter().find(|t| !t.has_password()) {
            return Err(MonitorError::IcecastPassword {
                target: target.to_string(),
            });
        }
        if !BITRATE_RANGE_BPS.contains(&self.bitrate_bps) {
            return Err(MonitorError::IcecastBitrate {
                bitrate_bps: self.bitrate_bps,
            });
        }
        Ok(())
    }
}

#[cfg(feature = "opus")]
pub(super) use running::{IcecastFeed, start_sources};

#[cfg(feature = "opus")]
mod running {
    use std::sync::Arc;
    use std::sync::mpsc::{self, SyncSender, TrySendError};
    use std::thread::{self, JoinHandle};

    use tungstenite::Bytes;

    use super::IcecastConfig;
    use super::report::{IcecastState, IcecastTargetStatus};
    use super::source::Source;
    use crate::monitor::error::MonitorError;
    use crate::monitor::status::StatusSource;

    /// Packets an output's queue holds: one second. Bounds both the memory a dead output
    /// costs and the burst a recovered one may send.
    pub const QUEUE_PACKETS: usize = 50;

    /// The broadcaster's end of one output's queue.
    pub struct IcecastFeed {
        /// Opus payloads, without the monitor's packet header.
        packets: SyncSender<Bytes>,
        /// The output's state, to count packets lost while live.
        status: Arc<IcecastTargetStatus>,
    }

    impl IcecastFeed {
        /// Queues one packet without waiting; a full queue drops it.
        pub fn offer(&self, opus_payload: Bytes) {
            if let Err(TrySendError::Full(_)) = self.packets.try_send(opus_payload) {
                // Only a live output loses audio by it; one that is reconnecting discards
                // its queue anyway.
                if self.status.state() == IcecastState::Live {
                    self.status.count_dropped_packet();
                }
            }
        }
    }

    /// Starts one source thread per target, reporting into `statuses` (one per target, in
    /// order); returns the threads and the broadcaster's ends of their queues.
    pub fn start_sources(
        config: &IcecastConfig,
        statuses: &[Arc<IcecastTargetStatus>],
        engine: &Arc<dyn StatusSource>,
    ) -> Result<(Vec<JoinHandle<()>>, Vec<IcecastFeed>), MonitorError> {
        let mut threads = Vec::with_capacity(config.targets.len());
        let mut feeds = Vec::with_capacity(config.targets.len());
        for (target, status) in config.targets.iter().zip(statuses) {
            let (sender, receiver) = mpsc::sync_channel(QUEUE_PACKETS);
            let source = Source {
                target: target.clone(),
                packets: receiver,
                status: status.clone(),
                engine: engine.clone(),
                bitrate_kbps: config.bitrate_bps / 1000,
            };
            let thread = thread::Builder::new()
                .name("auralis-icecast".into())
                .spawn(move || source.run())
                .map_err(|source| MonitorError::Thread {
                    thread: "icecast",
                    source,
                })?;
            threads.push(thread);
            feeds.push(IcecastFeed {
                packets: sender,
                status: status.clone(),
            });
        }
        Ok((threads, feeds))
    }
}
