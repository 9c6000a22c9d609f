//! What the editor shows, computed from the engine's state: plain data and pure functions, so
//! the tests can check the picture without a window.

use std::collections::VecDeque;
use std::f32::consts::TAU;
use std::sync::LazyLock;

use crate::compose::Layer;
use crate::engine::NowPlaying;
use crate::engine::feed::SCOPE_FRAMES;
use crate::monitor::SwitchState;
use crate::params::{MusicalSettings, display_name};

use super::theme::Voice;

/// The texts of the header and status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusView {
    /// "D Dorian".
    pub key_scale: String,
    /// The chord sounding now, "Dm9", or a dash before the first one.
    pub chord: String,
    /// "borrowed" when the chord comes from the parallel mode.
    pub chord_note: Option<&'static str>,
    /// "70.0 BPM", with "· host" when following the host's tempo.
    pub tempo: String,
    /// What Follow heard on the MIDI input, "following: E minor" or "following: listening…";
    /// none while Follow is off.
    pub following: Option<String>,
    /// The renderer, with the GPU adapter's name.
    pub renderer: String,
    /// Voices sounding.
    pub voices: String,
    /// "no underruns" or "3 underruns".
    pub underruns: String,
    /// Whether underruns happened (shown in the warning colour).
    pub underruns_warn: bool,
    /// The monitor's line: its URL and listeners, "off", or what went wrong.
    pub monitor: String,
    /// Whether `monitor` reports a problem.
    pub monitor_warn: bool,
}

impl StatusView {
    /// The view of an engine that published `now` (none before its first block) while playing
    /// `settings`.
    pub fn new(
        now: Option<&NowPlaying>,
        settings: &MusicalSettings,
        underruns: u64,
        monitor: &SwitchState,
    ) -> Self {
        // The key and scale in effect lag a change until the next chord; the feed says which.
        let (key, scale) = now.map_or((settings.key, settings.scale), |n| (n.key, n.scale));
        let following_host = now
            .is_some_and(|n| (n.tempo_bpm as f32 - settings.tempo_bpm).abs() > 0.05)
            && settings.sync_to_host;
        let tempo_bpm = now.map_or(settings.tempo_bpm as f64, |n| n.tempo_bpm);
        let (monitor_line, monitor_warn) = match (&monitor.error, &monitor.url) {
            (Some(error), _) => (error.clone(), true),
            (None, Some(url)) => (
                format!("{url} · {}", plural(monitor.listeners as u64, "listener")),
                false,
            ),
            (None, None) if monitor.wanted => ("starting…".to_owned(), false),
            (None, None) => ("off".to_owned(), false),
        };
        Self {
            key_scale: format!("{} {}", display_name(key), display_name(scale)),
            chord: now
                .map(|n| n.chord.as_str())
                .filter(|c| !c.is_empty())
                .unwrap_or("–")
                .to_owned(),
            chord_note: now.filter(|n| n.chord_borrowed).map(|_| "borrowed"),
            tempo: if following_host {
                format!("{tempo_bpm:.1} BPM · host")
            } else {
                format!("{tempo_bpm:.1} BPM")
            },
            following: now
                .map(|n| n.following.as_str())
                .filter(|text| !text.is_empty())
                .map(|text| format!("following: {text}")),
            renderer: now
                .map(|n| renderer_label(n.renderer_name.as_str()))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "starting…".to_owned()),
            voices: now.map_or_else(
                || "–".to_owned(),
                |n| plural(n.active_voices as u64, "voice"),
            ),
            underruns: if underruns == 0 {
                "no underruns".to_owned()
            } else {
                plural(underruns, "underrun")
            },
            underruns_warn: underruns > 0,
            monitor: monitor_line,
            monitor_warn,
        }
    }
}

/// The renderer as a person reads it: the engine says "cpu: CPU" or "gpu: <adapter>", which
/// shows as "CPU renderer" or "GPU · <adapter>".
pub fn renderer_label(name: &str) -> String {
    match name.split_once(": ") {
        Some(("cpu", _)) => "CPU renderer".to_owned(),
        Some(("gpu", adapter)) if !adapter.trim().is_empty() => format!("GPU · {}", adapter.trim()),
        Some(("gpu", _)) => "GPU renderer".to_owned(),
        Some(("silent", _)) => "silent".to_owned(),
        _ => name.trim().to_owned(),
    }
}

fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Beats of the past the piano roll shows, left of the playhead.
pub const ROLL_PAST_BEATS: f64 = 8.0;
/// Beats of the future it shows: the composer plans four beats ahead.
pub const ROLL_FUTURE_BEATS: f64 = 4.0;
/// Notes the roll remembers; older ones are forgotten first.
const ROLL_CAPACITY: usize = 512;
/// Chords the roll remembers.
const CHORD_CAPACITY: usize = 32;

/// A chord on the roll: where it began and its name.
#[derive(Debug, Clone, PartialEq)]
pub struct ChordSpan {
    /// Beat it started on.
    pub start: f64,
    /// "Dm9".
    pub name: String,
}

/// Where a note stands relative to the playhead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteState {
    /// Over.
    Past,
    /// Sounding now.
    Sounding,
    /// Planned, not started.
    Planned,
}

/// A note on the roll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollNote {
    /// Beat it starts on.
    pub start: f64,
    /// Beat it ends on.
    pub end: f64,
    /// MIDI note number.
    pub pitch: u8,
    /// Which layer plays it.
    pub layer: Option<Layer>,
    /// 0..=1.
    pub velocity: f32,
}

impl RollNote {
    /// Where it stands at `beat`.
    pub fn state(&self, beat: f64) -> NoteState {
        if self.end <= beat {
            NoteState::Past
        } else if self.start <= beat {
            NoteState::Sounding
        } else {
            NoteState::Planned
        }
    }
}

/// The piano roll's memory: every planned note the feed has shown, until it scrolls out.
///
/// The feed carries only the next few planned notes; as the music moves, every note passes
/// through it, so collecting them gives the whole picture: what sounds, what sounded, and what
/// is planned.
#[derive(Debug, Default)]
pub struct PianoRoll {
    notes: VecDeque<RollNote>,
    /// Chords in the order they sounded; the last one sounds now.
    chords: VecDeque<ChordSpan>,
    /// The newest beat seen.
    beat: f64,
}

impl PianoRoll {
    /// Takes in a snapshot.
    pub fn ingest(&mut self, now: &NowPlaying) {
        // A jump back (a restart, a host loop or seek) makes what we hold a different piece.
        if now.beat + 0.5 < self.beat {
            self.notes.clear();
            self.chords.clear();
        }
        self.beat = now.beat;
        let chord = now.chord.as_str();
        let known = self
            .chords
            .back()
            .is_some_and(|c| (c.start - now.chord_start_beat).abs() < 1e-6 && c.name == chord);
        if !known && !chord.is_empty() {
            if self.chords.len() == CHORD_CAPACITY {
                self.chords.pop_front();
            }
            self.chords.push_back(ChordSpan {
                start: now.chord_start_beat,
                name: chord.to_owned(),
            });
        }
        for upcoming in now.upcoming() {
            let note = RollNote {
                start: upcoming.start_beat,
                end: upcoming.start_beat + upcoming.duration_beats.max(0.05),
                pitch: upcoming.midi_note,
                layer: upcoming.layer,
                velocity: upcoming.velocity,
            };
            let known = self.notes.iter().any(|n| {
                n.pitch == note.pitch
                    && n.layer == note.layer
                    && (n.start - note.start).abs() < 1e-6
            });
            if !known {
                if self.notes.len() == ROLL_CAPACITY {
                    self.notes.pop_front();
                }
                self.notes.push_back(note);
            }
        }
        let horizon = self.beat - ROLL_PAST_BEATS;
        self.notes.retain(|n| n.end >= horizon);
        // Keep the newest chord that began before the horizon: it may still be on screen.
        while self.chords.len() > 1 && self.chords[1].start <= horizon {
            self.chords.pop_front();
        }
    }

    /// The chords on screen, each with the beat it ends on (the playhead for the last).
    pub fn chords(&self) -> impl Iterator<Item = (&ChordSpan, f64)> {
        let ends = self
            .chords
            .iter()
            .skip(1)
            .map(|c| c.start)
            .chain(std::iter::once(self.beat));
        self.chords.iter().zip(ends)
    }

    /// How many visible notes each voice has, in [`Voice::ALL`] order.
    pub fn voice_counts(&self) -> [usize; Voice::ALL.len()] {
        let mut counts = [0; Voice::ALL.len()];
        for note in self.visible() {
            let voice = Voice::of(note.layer);
            if let Some(index) = Voice::ALL.iter().position(|v| *v == voice) {
                counts[index] += 1;
            }
        }
        counts
    }

    /// The beat of the playhead.
    pub fn beat(&self) -> f64 {
        self.beat
    }

    /// Notes that overlap the visible window.
    pub fn visible(&self) -> impl Iterator<Item = &RollNote> {
        let (from, to) = (self.beat - ROLL_PAST_BEATS, self.beat + ROLL_FUTURE_BEATS);
        self.notes
            .iter()
            .filter(move |n| n.end > from && n.start < to)
    }

    /// The pitch range to draw: the visible pitched notes (percussion has a lane of its own)
    /// with a margin, at least two octaves, so the roll does not jump about with every note.
    pub fn pitch_range(&self) -> (u8, u8) {
        let (mut low, mut high) = (u8::MAX, 0u8);
        for note in self
            .visible()
            .filter(|n| Voice::of(n.layer) != Voice::Percussion)
        {
            low = low.min(note.pitch);
            high = high.max(note.pitch);
        }
        if low > high {
            return (48, 84);
        }
        let (low, high) = (low.saturating_sub(2), high.saturating_add(2).min(127));
        let span = high - low;
        if span >= 24 {
            (low, high)
        } else {
            let grow = 24 - span;
            let low = low.saturating_sub(grow / 2);
            (low, (low + 24).min(127))
        }
    }
}

/// Level of a meter: linear amplitudes in, display fractions out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeterLevels {
    /// Peak with a slow fall, per channel, dBFS.
    pub peak_db: [f32; 2],
    /// RMS per channel, dBFS.
    pub rms_db: [f32; 2],
}

/// Lowest level a meter shows.
pub const METER_FLOOR_DB: f32 = -60.0;
/// How fast the peak falls back, dB per second: the usual PPM fall.
const PEAK_FALL_DB_PER_S: f32 = 20.0;

impl MeterLevels {
    /// Updates with the peaks since the last frame and the current RMS, `dt_s` seconds later.
    pub fn update(&mut self, peaks: [f32; 2], rms: [f32; 2], dt_s: f32) {
        for channel in 0..2 {
            let fallen = self.peak_db[channel] - PEAK_FALL_DB_PER_S * dt_s.clamp(0.0, 1.0);
            self.peak_db[channel] = fallen.max(to_db(peaks[channel]));
            self.rms_db[channel] = to_db(rms[channel]);
        }
    }

    /// A level as a fraction of the meter's height.
    pub fn fraction(db: f32) -> f32 {
        ((db - METER_FLOOR_DB) / -METER_FLOOR_DB).clamp(0.0, 1.0)
    }
}

/// dBFS of a linear amplitude, floored at the meter's floor.
pub fn to_db(amplitude: f32) -> f32 {
    if amplitude.is_finite() && amplitude > 0.0 {
        (20.0 * amplitude.log10()).max(METER_FLOOR_DB)
    } else {
        METER_FLOOR_DB
    }
}

/// Bands of the spectrum display, a third of an octave each from 40 Hz.
pub const SPECTRUM_BANDS: usize = 28;
/// Centre of the lowest band, Hz.
const SPECTRUM_LOW_HZ: f32 = 40.0;

/// Centre frequency of band `index`, Hz.
pub fn band_hz(index: usize) -> f32 {
    SPECTRUM_LOW_HZ * 2f32.powf(index as f32 / 3.0)
}

/// The level of each band of `samples` (oldest first) in dBFS: a Goertzel filter at each band's
/// centre over a Hann window. Bands at or above Nyquist read as the floor.
pub fn spectrum(samples: &[f32; SCOPE_FRAMES], sample_rate: f32) -> [f32; SPECTRUM_BANDS] {
    // The window once, not a cosine per sample per band per frame.
    static HANN: LazyLock<Vec<f32>> = LazyLock::new(|| {
        let n = SCOPE_FRAMES as f32;
        (0..SCOPE_FRAMES)
            .map(|i| 0.5 - 0.5 * (TAU * i as f32 / n).cos())
            .collect()
    });
    let n = SCOPE_FRAMES as f32;
    let mut bands = [METER_FLOOR_DB; SPECTRUM_BANDS];
    for (index, band) in bands.iter_mut().enumerate() {
        let hz = band_hz(index);
        if hz >= 0.5 * sample_rate {
            continue;
        }
        let coeff = 2.0 * (TAU * hz / sample_rate).cos();
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for (&x, &window) in samples.iter().zip(HANN.iter()) {
            let s0 = x * window + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
        // A full-scale sine gives |X| = n/4 under a Hann window.
        *band = to_db(power.sqrt() / (0.25 * n));
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::ChordInfo;
    use crate::engine::feed::FixedText;
    use crate::music::{Chord, ChordQuality};
    use crate::params::{KeyName, ScaleName};
    use crate::synth::RendererKind;

    fn snapshot(beat: f64) -> NowPlaying {
        let settings = MusicalSettings::default();
        let chord = ChordInfo {
            chord: Chord::new(2, ChordQuality::Minor9),
            start_beat: 0.0,
            degree: 0,
            borrowed: false,
        };
        let mut now = NowPlaying::new(&settings, beat, 70.0, chord);
        now.renderer = RendererKind::Cpu;
        now.renderer_name = FixedText::from_str_lossy("cpu: CPU");
        now
    }

    fn monitor_off() -> SwitchState {
        SwitchState {
            wanted: false,
            url: None,
            listeners: 0,
            error: None,
            port: 8040,
        }
    }

    #[test]
    fn the_status_names_key_chord_tempo_and_renderer() {
        let settings = MusicalSettings::default();
        let view = StatusView::new(Some(&snapshot(3.0)), &settings, 0, &monitor_off());
        assert_eq!(view.key_scale, "D Dorian");
        assert_eq!(view.chord, "Dm9");
        assert_eq!(view.chord_note, None);
        assert_eq!(view.tempo, "70.0 BPM");
        assert_eq!(view.renderer, "CPU renderer");
        assert_eq!(view.underruns, "no underruns");
        assert!(!view.underruns_warn);
        assert_eq!(view.monitor, "off");
        assert_eq!(view.following, None, "Follow is off");
    }

    #[test]
    fn what_follow_heard_is_shown_while_it_listens() {
        let settings = MusicalSettings::default();
        let mut now = snapshot(3.0);
        now.following = FixedText::from_str_lossy("E minor");
        let view = StatusView::new(Some(&now), &settings, 0, &monitor_off());
        assert_eq!(view.following.as_deref(), Some("following: E minor"));
    }

    #[test]
    fn before_the_engine_speaks_the_view_shows_the_parameters() {
        let settings = MusicalSettings {
            key: KeyName::FSharp,
            scale: ScaleName::MajorPentatonic,
            ..MusicalSettings::default()
        };
        let view = StatusView::new(None, &settings, 2, &monitor_off());
        assert_eq!(view.key_scale, "F# Major Pentatonic");
        assert_eq!(view.chord, "–");
        assert_eq!(view.renderer, "starting…");
        assert_eq!(view.underruns, "2 underruns");
        assert!(view.underruns_warn);
    }

    #[test]
    fn host_tempo_and_the_monitor_state_are_spelled_out() {
        let settings = MusicalSettings::default();
        let mut now = snapshot(1.0);
        now.tempo_bpm = 120.0;
        now.chord_borrowed = true;
        let on = SwitchState {
            wanted: true,
            url: Some("http://127.0.0.1:8040/".into()),
            listeners: 1,
            error: None,
            port: 8040,
        };
        let view = StatusView::new(Some(&now), &settings, 0, &on);
        assert_eq!(view.tempo, "120.0 BPM · host");
        assert_eq!(view.chord_note, Some("borrowed"));
        assert_eq!(view.monitor, "http://127.0.0.1:8040/ · 1 listener");
        let busy = SwitchState {
            error: Some("port 8040 is not available".into()),
            url: None,
            ..on
        };
        let view = StatusView::new(Some(&now), &settings, 0, &busy);
        assert!(view.monitor_warn);
        assert!(view.monitor.contains("8040"));
    }

    fn note_event(start: f64, duration: f64, pitch: u8) -> crate::compose::NoteEvent {
        crate::compose::NoteEvent {
            start_beat: start,
            duration_beats: duration,
            midi_note: pitch,
            velocity: 0.5,
            layer: Layer::Melody,
            borrowed: false,
        }
    }

    #[test]
    fn the_roll_remembers_notes_as_they_pass_and_forgets_them_off_screen() {
        let mut roll = PianoRoll::default();
        let mut now = snapshot(0.0);
        now.push_upcoming(&note_event(1.0, 2.0, 62));
        now.push_upcoming(&note_event(1.5, 0.5, 65));
        roll.ingest(&now);
        // Later the first note is no longer upcoming, but it still sounds.
        let mut later = snapshot(2.5);
        later.push_upcoming(&note_event(3.0, 1.0, 69));
        roll.ingest(&later);
        roll.ingest(&later);
        let states: Vec<(u8, NoteState)> = roll
            .visible()
            .map(|n| (n.pitch, n.state(roll.beat())))
            .collect();
        assert_eq!(
            states,
            [
                (62, NoteState::Sounding),
                (65, NoteState::Past),
                (69, NoteState::Planned)
            ]
        );
        roll.ingest(&snapshot(20.0));
        assert_eq!(roll.visible().count(), 0, "scrolled out");
    }

    #[test]
    fn the_renderer_reads_as_words() {
        assert_eq!(renderer_label("cpu: CPU"), "CPU renderer");
        assert_eq!(
            renderer_label("gpu: llvmpipe (LLVM 15)"),
            "GPU · llvmpipe (LLVM 15)"
        );
        assert_eq!(renderer_label("gpu: "), "GPU renderer");
        assert_eq!(renderer_label("something else"), "something else");
    }

    #[test]
    fn the_roll_keeps_the_chords_on_screen_and_counts_voices() {
        let mut roll = PianoRoll::default();
        let mut now = snapshot(1.0);
        now.push_upcoming(&note_event(1.5, 1.0, 62));
        let mut pulse = note_event(2.0, 0.25, 36);
        pulse.layer = Layer::Percussion(crate::compose::PercussionKind::Pulse);
        now.push_upcoming(&pulse);
        roll.ingest(&now);
        let mut later = snapshot(6.0);
        later.chord_start_beat = 4.0;
        later.chord = Default::default();
        let _ = std::fmt::Write::write_str(&mut later.chord, "G7");
        roll.ingest(&later);
        let chords: Vec<(String, f64, f64)> = roll
            .chords()
            .map(|(c, end)| (c.name.clone(), c.start, end))
            .collect();
        assert_eq!(
            chords,
            [("Dm9".to_owned(), 0.0, 4.0), ("G7".to_owned(), 4.0, 6.0)]
        );
        let counts = roll.voice_counts();
        assert_eq!(counts[0], 1, "one melody note: {counts:?}");
        assert_eq!(counts[5], 1, "one percussion hit: {counts:?}");
        // The pulse's low pitch does not stretch the pitched range.
        assert!(roll.pitch_range().0 > 36, "{:?}", roll.pitch_range());
        roll.ingest(&snapshot(30.0));
        assert!(roll.chords().count() <= 1);
    }

    #[test]
    fn a_jump_back_clears_the_roll() {
        let mut roll = PianoRoll::default();
        let mut now = snapshot(10.0);
        now.push_upcoming(&note_event(11.0, 1.0, 60));
        roll.ingest(&now);
        roll.ingest(&snapshot(0.0));
        assert_eq!(roll.visible().count(), 0);
    }

    #[test]
    fn the_pitch_range_spans_two_octaves_around_the_notes() {
        let mut roll = PianoRoll::default();
        assert_eq!(roll.pitch_range(), (48, 84));
        let mut now = snapshot(0.0);
        now.push_upcoming(&note_event(0.5, 1.0, 60));
        now.push_upcoming(&note_event(0.5, 1.0, 64));
        roll.ingest(&now);
        let (low, high) = roll.pitch_range();
        assert!(low <= 58 && high >= 66 && high - low == 24, "{low}..{high}");
    }

    #[test]
    fn meters_fall_slowly_and_floor_at_minus_sixty() {
        let mut levels = MeterLevels::default();
        levels.update([1.0, 0.5], [0.5, 0.25], 0.02);
        assert!((levels.peak_db[0] - 0.0).abs() < 1e-4);
        assert!((levels.rms_db[1] + 12.04).abs() < 0.01);
        levels.update([0.0, 0.0], [0.0, f32::NAN], 0.5);
        assert!(
            (levels.peak_db[0] + 10.0).abs() < 1e-4,
            "{:?}",
            levels.peak_db
        );
        assert_eq!(levels.rms_db[1], METER_FLOOR_DB);
        assert_eq!(MeterLevels::fraction(-60.0), 0.0);
        assert_eq!(MeterLevels::fraction(0.0), 1.0);
        assert_eq!(MeterLevels::fraction(6.0), 1.0);
    }

    #[test]
    fn the_spectrum_finds_a_sine_in_its_band() {
        let sample_rate = 48_000.0;
        let hz = band_hz(12); // 640 Hz
        let mut samples = [0.0f32; SCOPE_FRAMES];
        for (i, s) in samples.iter_mut().enumerate() {
            *s = 0.5 * (TAU * hz * i as f32 / sample_rate).sin();
        }
        let bands = spectrum(&samples, sample_rate);
        let loudest = (0..SPECTRUM_BANDS)
            .max_by(|&a, &b| bands[a].total_cmp(&bands[b]))
            .unwrap();
        assert_eq!(loudest, 12);
        assert!((bands[12] + 6.0).abs() < 1.0, "{}", bands[12]);
        assert!(bands[4] < -40.0, "{}", bands[4]);
        let silent = spectrum(&[0.0; SCOPE_FRAMES], sample_rate);
        assert!(silent.iter().all(|&b| b == METER_FLOOR_DB));
    }
}
