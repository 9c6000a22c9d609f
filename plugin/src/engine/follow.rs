//! Following the song: what the host's notes say about the key and the chord, for the Follow
//! parameter.
//!
//! The engine hands every input event to the [`Follower`] with its frame; the follower applies
//! them block by block at those frames, keeps which keys are down (the sustain pedal holds
//! released ones), and keeps a pitch-class profile of the last few bars, each sounding note
//! weighted by its velocity and how long it sounds, older bars fading out. The key estimate
//! (`music::key_finding`) changes only when another key has fitted clearly better for a whole
//! bar, so a passing note never moves it. The notes held are reported as a [`HeldChange`] once
//! they have stayed the same for [`SETTLE_S`], so the few milliseconds in which a player's
//! fingers land one after another, or a legato change overlaps two chords, never count as a
//! chord. Engine thread; nothing allocates after `new`.

use std::collections::VecDeque;

use crate::music::{Key, PitchClassSet, Scale, estimate_key, fit_to};
use crate::params::{FollowMode, KeyName, MusicalSettings, ScaleName};
use crate::realtime::midi_in::MAX_MIDI_IN;
use crate::realtime::{MidiIn, MidiInKind};
use crate::signal::SampleRate;

/// How many bars of input the key estimate remembers: the profile's time constant.
const MEMORY_BARS: f64 = 4.0;
/// Beats in a bar (the composer's 4/4).
const BEATS_PER_BAR: f64 = 4.0;
/// What a note-on adds at once, in velocity-seconds, so short notes count as well as long ones.
const ONSET_WEIGHT_S: f64 = 0.25;
/// Velocity-seconds of input before the first estimate: about two bars of a melody.
const MIN_EVIDENCE: f64 = 2.0;
/// The fit a first estimate needs (a correlation).
const MIN_FIT: f64 = 0.5;
/// How much better another key must fit before the estimate moves to it.
const SWITCH_MARGIN: f64 = 0.12;
/// How long, in beats, another key must keep fitting better before the estimate moves.
const SWITCH_BEATS: f64 = BEATS_PER_BAR;

/// How long the held notes must stay unchanged before they count as the player's chord.
const SETTLE_S: f64 = 0.04;

/// The notes the player holds (keys down and notes the pedal sustains), as a chord sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Their pitch classes; empty when nothing is held.
    pub pitch_classes: PitchClassSet,
    /// Pitch class of the lowest (0 when nothing is held).
    pub bass_pc: u8,
}

/// The held notes changed and then stayed so for [`SETTLE_S`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldChange {
    /// What is held now.
    pub held: Held,
    /// The frame from which it is taken as held: the last change plus the settling time.
    pub frame: u64,
}

/// The held keys, the pedal, the profile and the estimate.
#[derive(Clone)]
pub struct Follower {
    /// Input events not yet applied, in frame order.
    pending: VecDeque<MidiIn>,
    /// Velocity of each key that is down (0 when up).
    down: [f32; 128],
    /// Velocity of each key the pedal holds after its release (0 when not held).
    sustained: [f32; 128],
    /// Whether the sustain pedal is down.
    pedal: bool,
    /// Velocity-seconds per pitch class, fading over [`MEMORY_BARS`].
    profile: [f64; 12],
    /// The key and mode the input is in, once it is clear.
    estimate: Option<(Key, Scale)>,
    /// Another key that has fitted better since the given beat.
    challenger: Option<((Key, Scale), f64)>,
    /// What is held now, and the frame it last changed at.
    held: (Held, u64),
    /// What was last reported as held.
    reported: Held,
    /// A settled change not yet taken by the engine.
    change: Option<HeldChange>,
}

impl Default for Follower {
    fn default() -> Self {
        Self {
            pending: VecDeque::with_capacity(MAX_MIDI_IN),
            down: [0.0; 128],
            sustained: [0.0; 128],
            pedal: false,
            profile: [0.0; 12],
            estimate: None,
            challenger: None,
            held: (Held::default(), 0),
            reported: Held::default(),
            change: None,
        }
    }
}

impl Follower {
    /// Queues `event` until the block it falls in. Events beyond the queue's capacity replace
    /// nothing: the oldest are applied first to make room.
    pub fn receive(&mut self, event: MidiIn) {
        if self.pending.len() == MAX_MIDI_IN
            && let Some(oldest) = self.pending.pop_front()
        {
            self.apply(oldest);
        }
        self.pending.push_back(event);
    }

    /// Forgets everything heard: the music starts over.
    pub fn reset(&mut self) {
        *self = Self {
            pending: std::mem::take(&mut self.pending),
            ..Self::default()
        };
        self.pending.clear();
    }

    /// Follows the input over a block of `frames` frames from `start_frame`, which starts at
    /// `start_beat` at `tempo_bpm`: applies the block's events, lets the profile fade and grow
    /// with what sounds, and updates the estimate.
    pub fn advance(
        &mut self,
        start_frame: u64,
        frames: usize,
        sample_rate: SampleRate,
        start_beat: f64,
        tempo_bpm: f64,
    ) {
        let end_frame = start_frame + frames as u64;
        while let Some(event) = self.pending.front().copied() {
            if event.frame >= end_frame {
                break;
            }
            self.pending.pop_front();
            self.apply(event);
        }
        let settle_frames = (SETTLE_S * f64::from(sample_rate.hz())) as u64;
        let (held, since) = self.held;
        if held != self.reported && end_frame.saturating_sub(since) >= settle_frames {
            self.reported = held;
            self.change = Some(HeldChange {
                held,
                frame: since + settle_frames,
            });
        }
        let seconds = frames as f64 / f64::from(sample_rate.hz());
        let memory_s = MEMORY_BARS * BEATS_PER_BAR * 60.0 / tempo_bpm.max(1.0);
        let keep = (-seconds / memory_s).exp();
        for weight in &mut self.profile {
            *weight *= keep;
        }
        for note in 0..128 {
            let velocity = self.down[note].max(self.sustained[note]);
            if velocity > 0.0 {
                self.profile[note % 12] += f64::from(velocity) * seconds;
            }
        }
        self.update_estimate(start_beat);
    }

    /// The held notes' latest settled change since the last call, if any.
    pub fn take_held_change(&mut self) -> Option<HeldChange> {
        self.change.take()
    }

    /// What is held now, settled or not.
    pub fn held(&self) -> Held {
        self.held.0
    }

    /// The key and scale the input is in, once there is enough of it to tell.
    pub fn key(&self) -> Option<(Key, Scale)> {
        self.estimate
    }

    /// `settings` as the engine plays them while following: with Follow set to Key and an
    /// estimate made, its key and scale replace the parameters'.
    pub fn apply_to(&self, settings: &MusicalSettings) -> MusicalSettings {
        match (settings.follow, self.estimate) {
            (FollowMode::Key, Some((key, scale))) => MusicalSettings {
                key: KeyName::from_pitch_class(key.index()),
                scale: if scale == Scale::Minor {
                    ScaleName::Minor
                } else {
                    ScaleName::Major
                },
                ..*settings
            },
            _ => *settings,
        }
    }

    fn apply(&mut self, event: MidiIn) {
        match event.kind {
            MidiInKind::NoteOn { note, velocity } => {
                let note = usize::from(note.min(127));
                self.down[note] = velocity;
                self.profile[note % 12] += f64::from(velocity) * ONSET_WEIGHT_S;
            }
            MidiInKind::NoteOff { note } => {
                let note = usize::from(note.min(127));
                if self.pedal {
                    self.sustained[note] = self.sustained[note].max(self.down[note]);
                }
                self.down[note] = 0.0;
            }
            MidiInKind::Sustain(down) => {
                self.pedal = down;
                if !down {
                    self.sustained = [0.0; 128];
                }
            }
            MidiInKind::AllOff => {
                self.down = [0.0; 128];
                self.sustained = [0.0; 128];
            }
        }
        let held = self.held_now();
        if held != self.held.0 {
            self.held = (held, event.frame);
        }
    }

    fn held_now(&self) -> Held {
        let mut held = Held::default();
        for note in (0..128u8).rev() {
            let index = usize::from(note);
            if self.down[index] > 0.0 || self.sustained[index] > 0.0 {
                held.pitch_classes.insert(note % 12);
                held.bass_pc = note % 12;
            }
        }
        held
    }

    fn update_estimate(&mut self, beat: f64) {
        if self.profile.iter().sum::<f64>() < MIN_EVIDENCE {
            self.challenger = None;
            return;
        }
        let Some(best) = estimate_key(&self.profile) else {
            return;
        };
        let candidate = (best.key, best.scale);
        let Some((key, scale)) = self.estimate else {
            if best.fit >= MIN_FIT {
                self.estimate = Some(candidate);
            }
            return;
        };
        let current_fit = fit_to(&self.profile, key, scale).unwrap_or(-1.0);
        if candidate == (key, scale) || best.fit < current_fit + SWITCH_MARGIN {
            self.challenger = None;
            return;
        }
        match self.challenger {
            Some((challenger, since)) if challenger == candidate => {
                if beat - since >= SWITCH_BEATS {
                    self.estimate = Some(candidate);
                    self.challenger = None;
                }
            }
            _ => self.challenger = Some((candidate, beat)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: SampleRate = SampleRate::DEFAULT;
    const BLOCK: usize = 256;
    const BPM: f64 = 120.0;

    /// Plays `notes` (MIDI note, beats long) one after another from frame `start`, block by
    /// block, and returns the frame after the last.
    fn play(follower: &mut Follower, notes: &[(u8, f64)], start: u64) -> u64 {
        let mut frame = start;
        let frames_per_beat = (60.0 / BPM * f64::from(SR.hz())) as u64;
        for &(note, beats) in notes {
            let end = frame + (beats * frames_per_beat as f64) as u64;
            follower.receive(MidiIn {
                frame,
                kind: MidiInKind::NoteOn {
                    note,
                    velocity: 0.8,
                },
            });
            follower.receive(MidiIn {
                frame: end,
                kind: MidiInKind::NoteOff { note },
            });
            frame = end;
        }
        let mut at = start / BLOCK as u64 * BLOCK as u64;
        while at < frame {
            let beat = at as f64 / frames_per_beat as f64;
            follower.advance(at, BLOCK, SR, beat, BPM);
            at += BLOCK as u64;
        }
        frame
    }

    /// Eight bars of an A minor tune (A C E, the raised G#, a cadence on A).
    fn a_minor_tune() -> Vec<(u8, f64)> {
        let bar = [
            (69, 1.0),
            (72, 1.0),
            (76, 1.0),
            (72, 1.0),
            (74, 1.0),
            (71, 1.0),
            (68, 1.0),
            (69, 1.0),
        ];
        bar.iter().cycle().take(32).copied().collect()
    }

    #[test]
    fn a_melody_in_a_minor_is_heard_in_a_minor() {
        let mut follower = Follower::default();
        assert_eq!(follower.key(), None, "nothing heard yet");
        play(&mut follower, &a_minor_tune(), 0);
        assert_eq!(follower.key(), Some((Key::A, Scale::Minor)));
        let settings = MusicalSettings {
            follow: FollowMode::Key,
            ..MusicalSettings::default()
        };
        let followed = follower.apply_to(&settings);
        assert_eq!(
            (followed.key, followed.scale),
            (KeyName::A, ScaleName::Minor)
        );
        let off = follower.apply_to(&MusicalSettings::default());
        assert_eq!(
            off,
            MusicalSettings::default(),
            "Follow Off changes nothing"
        );
    }

    #[test]
    fn a_passing_note_never_moves_the_key_but_a_new_key_does() {
        let mut follower = Follower::default();
        let end = play(&mut follower, &a_minor_tune(), 0);
        // One chromatic passing note, then the tune again.
        let mut notes = vec![(70, 0.5)];
        notes.extend(a_minor_tune());
        let end = play(&mut follower, &notes, end);
        assert_eq!(follower.key(), Some((Key::A, Scale::Minor)));
        // Eight bars firmly in E♭ major move it.
        let e_flat: Vec<(u8, f64)> = [
            (63, 1.0),
            (67, 1.0),
            (70, 1.0),
            (67, 1.0),
            (65, 1.0),
            (62, 1.0),
            (63, 2.0),
        ]
        .iter()
        .cycle()
        .take(40)
        .copied()
        .collect();
        play(&mut follower, &e_flat, end);
        assert_eq!(follower.key(), Some((Key::DSharp, Scale::Major)));
    }

    #[test]
    fn floods_stuck_notes_and_garbage_keep_it_sane() {
        let mut follower = Follower::default();
        // Every key on every channel at once, never released, far more events than the queue.
        for round in 0..40u64 {
            for note in 0..128u8 {
                follower.receive(MidiIn {
                    frame: round,
                    kind: MidiInKind::NoteOn {
                        note,
                        velocity: 1.0,
                    },
                });
            }
        }
        for block in 0..400u64 {
            follower.advance(block * BLOCK as u64, BLOCK, SR, block as f64 * 0.01, BPM);
        }
        assert!(follower.profile.iter().all(|w| w.is_finite()));
        // All twelve pitch classes alike fit no key.
        assert_eq!(follower.key(), None);
        follower.reset();
        assert!(follower.pending.is_empty() && follower.down.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn the_pedal_holds_released_notes_until_it_lifts() {
        let mut follower = Follower::default();
        let at = |kind| MidiIn { frame: 0, kind };
        follower.apply(at(MidiInKind::Sustain(true)));
        follower.apply(at(MidiInKind::NoteOn {
            note: 60,
            velocity: 0.5,
        }));
        follower.apply(at(MidiInKind::NoteOff { note: 60 }));
        assert_eq!(follower.sustained[60], 0.5);
        assert_eq!(follower.held().bass_pc, 0, "the pedal holds it");
        follower.apply(at(MidiInKind::Sustain(false)));
        assert_eq!(follower.sustained[60], 0.0);
        assert!(follower.held().pitch_classes.is_empty());
    }

    /// What share of the tonal notes the engine composes from the fifth bar on are in A minor,
    /// with `follow`, F# major on the dial, and an A minor tune played in.
    fn share_in_a_minor(follow: FollowMode) -> f64 {
        use crate::engine::{ENGINE_BLOCK_FRAMES, EngineCore};
        use crate::params::MidiLayers;
        use crate::realtime::{NoteOutKind, note_ring};

        let settings = MusicalSettings {
            follow,
            key: KeyName::FSharp,
            scale: ScaleName::Major,
            midi_out: MidiLayers::All,
            tempo_bpm: BPM as f32,
            sync_to_host: false,
            ..MusicalSettings::default()
        };
        let (notes_tx, mut notes_rx) = note_ring();
        let mut engine = EngineCore::new(SR, &settings).with_midi_out(notes_tx);
        let frames_per_beat = (60.0 / BPM * f64::from(SR.hz())) as u64;
        let mut frame = 0;
        for &(note, beats) in a_minor_tune().iter().cycle().take(32 * 4) {
            let end = frame + (beats * frames_per_beat as f64) as u64;
            let on = MidiInKind::NoteOn {
                note,
                velocity: 0.7,
            };
            engine.receive_midi(MidiIn { frame, kind: on });
            engine.receive_midi(MidiIn {
                frame: end,
                kind: MidiInKind::NoteOff { note },
            });
            frame = end;
        }
        let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
        let (mut in_key, mut total) = (0, 0);
        let a_minor = Scale::Minor.pitch_classes(Key::A);
        // The key moves at a chord change: judge the notes from the fifth bar on.
        let judged_from = 16 * frames_per_beat;
        while engine.frames_rendered() < frame {
            engine.render(&settings, None, &mut block);
            notes_rx.drain_block(0, usize::MAX, |_, note| {
                let tonal = note.channel != 9;
                if note.kind == NoteOutKind::On && tonal && note.frame >= judged_from {
                    total += 1;
                    in_key += usize::from(a_minor.contains(note.note));
                }
            });
        }
        assert!(total > 30, "{total} notes");
        in_key as f64 / total as f64
    }

    /// The whole engine: with Follow set to Key it writes in the key it hears, not the one on
    /// the dial; with Follow off it ignores what is played in.
    #[test]
    fn the_engine_writes_in_the_key_it_hears() {
        let following = share_in_a_minor(FollowMode::Key);
        assert!(
            following >= 0.85,
            "{following:.2} of the notes in A minor when following"
        );
        let ignoring = share_in_a_minor(FollowMode::Off);
        assert!(
            ignoring < 0.6,
            "{ignoring:.2} of the notes in A minor with Follow off"
        );
    }
}
