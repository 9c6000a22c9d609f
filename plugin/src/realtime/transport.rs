//! The host's transport at the start of one block, as the audio thread saw it.
//!
//! It travels to the engine inside a [`super::request::BlockRequest`], together with the frame it
//! refers to, so tempo, position and frame always stay consistent.

/// What a host says of its transport at the start of a block, as it said it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostTransport {
    /// Whether the host's transport is playing.
    pub playing: bool,
    /// The host's tempo, if it reports one.
    pub tempo_bpm: Option<f64>,
    /// The host's position in quarter-note beats, if it reports one.
    pub pos_beats: Option<f64>,
}

/// The host's transport at the start of one block.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TransportSnapshot {
    /// Whether the host's transport is playing.
    pub playing: bool,
    /// The host's tempo, if it reports one (finite and positive).
    pub tempo_bpm: Option<f64>,
    /// The host's position in quarter-note beats at the block's first frame, if it reports one.
    pub pos_beats: Option<f64>,
    /// Index (since activation) of the next frame the audio thread takes from the ring, which
    /// ties the host's position to the engine's own frame count.
    pub at_frame: u64,
}

impl TransportSnapshot {
    /// Builds a snapshot, dropping values that are not finite or not sensible.
    pub fn new(
        playing: bool,
        tempo_bpm: Option<f64>,
        pos_beats: Option<f64>,
        at_frame: u64,
    ) -> Self {
        Self {
            playing,
            tempo_bpm: tempo_bpm.filter(|t| t.is_finite() && *t > 0.0),
            pos_beats: pos_beats.filter(|p| p.is_finite()),
            at_frame,
        }
    }

    /// The snapshot of `host`'s transport at `at_frame`; without a host (a server's clock, the
    /// standalone wrapper), a transport that is stopped and reports nothing.
    pub fn of_host(host: Option<HostTransport>, at_frame: u64) -> Self {
        let host = host.unwrap_or_default();
        Self::new(host.playing, host.tempo_bpm, host.pos_beats, at_frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_from_the_host_is_dropped() {
        let snapshot = TransportSnapshot::new(true, Some(f64::NAN), Some(f64::INFINITY), 512);
        assert_eq!(snapshot.tempo_bpm, None);
        assert_eq!(snapshot.pos_beats, None);
        assert_eq!(
            TransportSnapshot::new(true, Some(-3.0), None, 0).tempo_bpm,
            None
        );
        assert_eq!(
            TransportSnapshot::new(true, Some(90.0), Some(-1.5), 0).pos_beats,
            Some(-1.5)
        );
    }
}
