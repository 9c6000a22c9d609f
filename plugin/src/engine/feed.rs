//! What is playing now and next, for the GUI and the web monitor.
//!
//! The engine publishes a small `Copy` [`NowPlaying`] about twenty times a second. Publishing
//! never waits: if a reader happens to be copying the previous value at that instant, this
//! update is skipped and the next one goes through. Readers (GUI, monitor; never the audio
//! thread) take a copy.

use std::fmt::Write;
use std::sync::{Arc, Mutex, TryLockError};

use crate::compose::{ChordInfo, Layer, NoteEvent};
use crate::params::{KeyName, MusicalSettings, ScaleName};
use crate::synth::RendererKind;

/// Samples of recent output the scope keeps for the GUI's spectrum: 43 ms at 48 kHz, enough
/// to resolve the lowest band it shows.
pub const SCOPE_FRAMES: usize = 2048;

/// Upcoming notes a snapshot carries.
pub const MAX_UPCOMING: usize = 16;

/// Short text in a fixed buffer, so snapshots stay `Copy` and publishing never allocates.
/// Text that does not fit is cut at a character boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FixedText<const N: usize> {
    /// UTF-8 bytes of the text.
    bytes: [u8; N],
    /// Bytes used.
    len: usize,
}

/// A chord symbol such as "Dm9".
pub type ChordLabel = FixedText<16>;

impl<const N: usize> FixedText<N> {
    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    /// `text`, cut to fit.
    pub fn from_str_lossy(text: &str) -> Self {
        let mut fixed = Self::default();
        for c in text.chars() {
            if fixed.write_char(c).is_err() {
                break;
            }
        }
        fixed
    }
}

impl<const N: usize> Default for FixedText<N> {
    fn default() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Write for FixedText<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> std::fmt::Debug for FixedText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A note the composer has planned.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UpcomingNote {
    /// Beat it starts on.
    pub start_beat: f64,
    /// Length in beats.
    pub duration_beats: f64,
    /// MIDI note number.
    pub midi_note: u8,
    /// Which layer plays it.
    pub layer: Option<Layer>,
    /// 0..=1.
    pub velocity: f32,
}

/// One snapshot of the music.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NowPlaying {
    /// Key in effect.
    pub key: KeyName,
    /// Scale in effect.
    pub scale: ScaleName,
    /// Tempo in effect (the host's when following it), BPM.
    pub tempo_bpm: f64,
    /// Beat position of the newest rendered frame.
    pub beat: f64,
    /// Intensity, 0..=1.
    pub intensity: f32,
    /// The chord sounding now.
    pub chord: ChordLabel,
    /// Beat the current chord started on.
    pub chord_start_beat: f64,
    /// Whether the chord is borrowed from the parallel mode.
    pub chord_borrowed: bool,
    /// The next planned notes, in start order.
    pub upcoming: [UpcomingNote; MAX_UPCOMING],
    /// How many of `upcoming` are filled.
    pub upcoming_len: usize,
    /// Voices sounding.
    pub active_voices: u32,
    /// The renderer producing the voices.
    pub renderer: RendererKind,
    /// That renderer described for people, with the GPU adapter's name.
    pub renderer_name: FixedText<64>,
    /// What the music follows of the notes played in, for people: "A minor", "listening…" while
    /// there is not yet enough to tell; empty when Follow is off.
    pub following: FixedText<32>,
    /// Gain reduction of the output limiter, dB (≤ 0).
    pub gain_reduction_db: f32,
}

impl NowPlaying {
    /// A snapshot with no upcoming notes yet.
    pub fn new(settings: &MusicalSettings, beat: f64, tempo_bpm: f64, chord: ChordInfo) -> Self {
        let mut label = ChordLabel::default();
        // A symbol too long for the buffer is cut short, never an error worth reporting.
        let _ = write!(label, "{chord}");
        Self {
            key: settings.key,
            scale: settings.scale,
            tempo_bpm,
            beat,
            intensity: settings.intensity,
            chord: label,
            chord_start_beat: chord.start_beat,
            chord_borrowed: chord.borrowed,
            upcoming: [UpcomingNote::default(); MAX_UPCOMING],
            upcoming_len: 0,
            active_voices: 0,
            renderer: RendererKind::Cpu,
            renderer_name: FixedText::default(),
            following: FixedText::default(),
            gain_reduction_db: 0.0,
        }
    }

    /// Adds a planned note; false when full.
    pub fn push_upcoming(&mut self, event: &NoteEvent) -> bool {
        if self.upcoming_len == MAX_UPCOMING {
            return false;
        }
        self.upcoming[self.upcoming_len] = UpcomingNote {
            start_beat: event.start_beat,
            duration_beats: event.duration_beats,
            midi_note: event.midi_note,
            layer: Some(event.layer),
            velocity: event.velocity,
        };
        self.upcoming_len += 1;
        true
    }

    /// The filled part of `upcoming`.
    pub fn upcoming(&self) -> &[UpcomingNote] {
        &self.upcoming[..self.upcoming_len]
    }
}

/// The most recent output, mono, in a circular buffer.
#[derive(Clone)]
pub struct Scope {
    /// Samples; `samples[write]` is the oldest.
    samples: [f32; SCOPE_FRAMES],
    /// Where the next sample goes.
    write: usize,
}

impl Default for Scope {
    fn default() -> Self {
        Self {
            samples: [0.0; SCOPE_FRAMES],
            write: 0,
        }
    }
}

impl Scope {
    /// Appends frames as mono samples.
    fn push(&mut self, frames: &[[f32; 2]]) {
        for frame in frames.iter().rev().take(SCOPE_FRAMES).rev() {
            self.samples[self.write] = 0.5 * (frame[0] + frame[1]);
            self.write = (self.write + 1) % SCOPE_FRAMES;
        }
    }

    /// The samples, oldest first.
    pub fn in_order(&self) -> [f32; SCOPE_FRAMES] {
        let mut out = [0.0; SCOPE_FRAMES];
        let (older, newer) = self.samples.split_at(self.write);
        out[..newer.len()].copy_from_slice(newer);
        out[newer.len()..].copy_from_slice(older);
        out
    }
}

/// The shared slot; cloning gives another handle to the same feed.
#[derive(Clone, Default)]
pub struct NowPlayingFeed {
    /// The newest snapshot, if the engine has published one.
    slot: Arc<Mutex<Option<NowPlaying>>>,
    /// The newest output, for the GUI's spectrum.
    scope: Arc<Mutex<Scope>>,
}

impl NowPlayingFeed {
    /// Publishes a snapshot unless a reader holds the slot this instant. Never waits.
    pub fn publish(&self, now: NowPlaying) {
        match self.slot.try_lock() {
            Ok(mut slot) => *slot = Some(now),
            Err(TryLockError::Poisoned(poisoned)) => *poisoned.into_inner() = Some(now),
            Err(TryLockError::WouldBlock) => {}
        }
    }

    /// The newest snapshot.
    pub fn latest(&self) -> Option<NowPlaying> {
        match self.slot.lock() {
            Ok(slot) => *slot,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Appends rendered frames to the scope unless a reader holds it this instant (those
    /// frames are then missing from the picture, which nobody can see). Never waits.
    pub fn publish_scope(&self, frames: &[[f32; 2]]) {
        match self.scope.try_lock() {
            Ok(mut scope) => scope.push(frames),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().push(frames),
            Err(TryLockError::WouldBlock) => {}
        }
    }

    /// The newest output, oldest sample first.
    pub fn scope(&self) -> [f32; SCOPE_FRAMES] {
        match self.scope.lock() {
            Ok(scope) => scope.in_order(),
            Err(poisoned) => poisoned.into_inner().in_order(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_keeps_the_newest_frames_oldest_first() {
        let feed = NowPlayingFeed::default();
        let frames: Vec<[f32; 2]> = (0..SCOPE_FRAMES + 100)
            .map(|i| [i as f32, i as f32 + 2.0])
            .collect();
        feed.publish_scope(&frames[..100]);
        feed.publish_scope(&frames[100..]);
        let scope = feed.scope();
        assert_eq!(scope[0], 101.0);
        assert_eq!(scope[SCOPE_FRAMES - 1], (SCOPE_FRAMES + 100) as f32);
        assert!(scope.windows(2).all(|w| w[1] == w[0] + 1.0));
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let text = FixedText::<5>::from_str_lossy("C#m7♭5");
        assert_eq!(text.as_str(), "C#m7");
    }
}
