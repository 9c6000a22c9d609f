//! Composer-level tests: what a listener would notice. Shared helpers here,
//! one file per concern under `tests/`.

mod allocation;
mod determinism;
mod golden;
mod key_change;
mod layers;
mod melody;

use proptest::prelude::*;

use super::{ChordInfo, Composer, ComposerSettings, Layer, NoteEvent, PercussionKind};
use crate::music::{Key, Scale};

/// Settings with the given tonality and intensity at 80 BPM.
fn settings(key: Key, scale: Scale, intensity: f32) -> ComposerSettings {
    ComposerSettings {
        key,
        scale,
        intensity,
        tempo_bpm: 80.0,
    }
}

/// Every event of the first `bars` bars, plus the chord in effect in each bar.
fn render_bars(
    seed: u64,
    settings: ComposerSettings,
    bars: u64,
) -> (Vec<NoteEvent>, Vec<ChordInfo>) {
    let mut composer = Composer::new(seed, settings);
    let mut events = Vec::new();
    let mut chords = Vec::new();
    for bar in 0..bars {
        chords.push(composer.current_chord());
        composer.advance_to((bar + 1) as f64 * 4.0, &mut events);
    }
    (events, chords)
}

/// Every event starting before `until_beat`, in one call.
fn render(seed: u64, settings: ComposerSettings, until_beat: f64) -> Vec<NoteEvent> {
    let mut composer = Composer::new(seed, settings);
    let mut events = Vec::new();
    composer.advance_to(until_beat, &mut events);
    events
}

/// Layers whose pitch must belong to the scale.
fn is_tonal(layer: Layer) -> bool {
    !matches!(
        layer,
        Layer::Percussion(PercussionKind::Pulse | PercussionKind::Tick | PercussionKind::Shaker)
    )
}

/// Beats in `minutes` at `tempo_bpm`.
fn beats_in(minutes: f64, tempo_bpm: f64) -> f64 {
    minutes * tempo_bpm
}

fn any_key() -> impl Strategy<Value = Key> {
    (0u8..12).prop_map(Key::from_pitch_class)
}

fn any_scale() -> impl Strategy<Value = Scale> {
    (0usize..Scale::ALL.len()).prop_map(|i| Scale::ALL[i])
}

/// The composer moves to the engine thread; its events cross to the audio
/// thread. Both must be `Send`, and events plain `Copy` data.
const _: () = {
    const fn assert_send<T: Send>() {}
    const fn assert_copy<T: Copy + Send + 'static>() {}
    assert_send::<Composer>();
    assert_copy::<NoteEvent>();
    assert_copy::<ChordInfo>();
};
