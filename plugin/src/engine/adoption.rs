//! Follow = Chords: when the composer takes the player's chord, and when it lets go.
//!
//! The [`Follower`](super::follow::Follower) says what is held once it has settled; this names
//! the chord (`music::recognize_chord`), picks the melody's scale over it in the music's key
//! (`music::chord_scale`) and schedules an [`Adoption`] on the beat grid: the next beat, or
//! the next bar when Intensity is low and the music moves slowly anyway; a chord that settles
//! just after a grid line ([`GRACE_S`], as when played on the beat) lands at once, since the
//! player meant that line. When the player lets
//! go, the chord stays for [`HOLD_BARS`] more bars and then the composer's own progression
//! resumes, at a bar line. Everything is in beats of the engine's timeline, so the same input
//! at the same frames gives the same music. Engine thread; nothing allocates.

use crate::compose::HeldHarmony;
use crate::music::{chord_scale, recognize_chord};
use crate::params::{FollowMode, MusicalSettings};

use super::follow::{Held, HeldChange};
use super::settings::composer_settings;
use super::timeline::BlockTiming;

/// Bars the last chord keeps sounding after every note is released, before the composer's
/// own progression resumes.
pub const HOLD_BARS: f64 = 4.0;
/// Below this Intensity a new chord waits for the next bar rather than the next beat.
const SLOW_INTENSITY: f32 = 0.3;
/// How late after a beat (or bar) line a chord may settle and still be taken at once: the
/// settling time, a player's looseness and a realtime engine's lead.
const GRACE_S: f64 = 0.12;
/// Beats in a bar (the composer's 4/4).
const BEATS_PER_BAR: f64 = 4.0;

/// A harmony change for the composer: from `beat` on, play `harmony`, or with `None` go back to
/// its own progression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adoption {
    /// Where the change lands, in beats.
    pub beat: f64,
    /// The player's chord, or none to let go.
    pub harmony: Option<HeldHarmony>,
}

/// What the composer plays of the player's chords, and the change that is coming.
#[derive(Debug, Default, Clone)]
pub struct ChordFollowing {
    /// The player's chord the composer plays now.
    adopted: Option<HeldHarmony>,
    /// The next change, once scheduled.
    pending: Option<Adoption>,
    /// Whether Follow was on Chords in the previous block.
    was_following: bool,
}

impl ChordFollowing {
    /// Takes in a block starting at `start_frame` with `timing`: a settled change of what is
    /// held, and what is held now (for Follow just switched on with keys already down).
    pub fn update(
        &mut self,
        settings: &MusicalSettings,
        change: Option<HeldChange>,
        held_now: Held,
        timing: &BlockTiming,
        start_frame: u64,
    ) {
        let following = settings.follow == FollowMode::Chords;
        let switched_on = following && !self.was_following;
        let switched_off = !following && self.was_following;
        self.was_following = following;
        if switched_off {
            self.pending = self.adopted.map(|_| Adoption {
                beat: next_bar(timing.start_beat),
                harmony: None,
            });
            return;
        }
        let news = if switched_on {
            Some((held_now, start_frame))
        } else if following {
            change.map(|change| (change.held, change.frame))
        } else {
            None
        };
        let Some((held, frame)) = news else {
            return;
        };
        let beat =
            timing.start_beat + frame.saturating_sub(start_frame) as f64 * timing.beats_per_frame;
        let home = composer_settings(settings);
        match recognize_chord(held.pitch_classes, held.bass_pc, home.key, home.scale) {
            Some(chord) if self.adopted.is_some_and(|held| held.chord == chord) => {
                // Back to the chord already playing: whatever was coming is off.
                self.pending = None;
            }
            Some(chord) => {
                let (key, scale) = chord_scale(chord, home.key, home.scale);
                let grid = if settings.intensity < SLOW_INTENSITY {
                    BEATS_PER_BAR
                } else {
                    1.0
                };
                let since_line = beat - (beat / grid).floor() * grid;
                let grace = GRACE_S * timing.tempo_bpm / 60.0;
                let beat = if since_line <= grace {
                    beat
                } else {
                    (beat / grid).ceil() * grid
                };
                self.pending = Some(Adoption {
                    beat,
                    harmony: Some(HeldHarmony { chord, key, scale }),
                });
            }
            None => {
                self.pending = self.adopted.map(|_| Adoption {
                    beat: next_bar(beat) + HOLD_BARS * BEATS_PER_BAR,
                    harmony: None,
                });
            }
        }
    }

    /// The change that lands before `end_beat`, if one does; from then on it is what plays.
    pub fn due(&mut self, end_beat: f64) -> Option<Adoption> {
        let adoption = self.pending.filter(|adoption| adoption.beat < end_beat)?;
        self.pending = None;
        self.adopted = adoption.harmony;
        Some(adoption)
    }

    /// The music restarts at `beat` (a new seed, a host jump): the chord playing, if any, is
    /// taken again there, and a change that was coming lands there too.
    pub fn restart_at(&mut self, beat: f64) {
        if let Some(pending) = &mut self.pending {
            pending.beat = beat;
        } else if let Some(harmony) = self.adopted {
            self.pending = Some(Adoption {
                beat,
                harmony: Some(harmony),
            });
        }
    }

    /// The player's chord the composer plays now.
    pub fn adopted(&self) -> Option<HeldHarmony> {
        self.adopted
    }
}

/// The first bar line after `beat`.
fn next_bar(beat: f64) -> f64 {
    ((beat / BEATS_PER_BAR).floor() + 1.0) * BEATS_PER_BAR
}

#[cfg(test)]
mod tests;
