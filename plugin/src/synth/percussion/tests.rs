//! Tests of the percussion as heard: levels, lengths, pitch, determinism, clicks, timing.

use auralis_checks::{
    Spectrum, XorShift, decay_time_s, largest_second_difference, largest_step, peak, to_db,
};

use super::*;

/// The rate `hz` as the synthesizer takes it.
fn rate(hz: f32) -> SampleRate {
    SampleRate::new(hz).expect("a supported rate")
}

/// Every voice, for loops.
const VOICES: [PercussionVoice; 4] = [
    PercussionVoice::Pulse,
    PercussionVoice::Tick,
    PercussionVoice::Shaker,
    PercussionVoice::Bell,
];

/// One hit at frame 0, rendered for `seconds` in blocks of 512 frames.
fn render_hit(
    voice: PercussionVoice,
    sample_rate: f32,
    pitch_hz: f32,
    brightness: f32,
    seed: u64,
    seconds: f32,
) -> (Vec<f32>, Vec<f32>) {
    let frames = (seconds * sample_rate) as usize;
    let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let mut percussion = Percussion::new(rate(sample_rate), seed);
    percussion.trigger(voice, 0, 1.0, pitch_hz, brightness, 0.0);
    for (l, r) in left.chunks_mut(512).zip(right.chunks_mut(512)) {
        percussion.render_add(l, r);
    }
    (left, right)
}

/// Panics with the first differing frame if `a` and `b` differ (without printing both).
fn assert_same(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    if let Some(n) = (0..a.len()).find(|&n| a[n].to_bits() != b[n].to_bits()) {
        panic!(
            "{what}: first difference at frame {n}: {} vs {}",
            a[n], b[n]
        );
    }
}

/// The synthesiser moves to the engine thread once built.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Percussion>();
};

/// Rates every rate-dependent property is checked at.
const RATES: [f32; 4] = [44_100.0, 48_000.0, 96_000.0, 192_000.0];

/// The stated -60 dB length range of each voice, in seconds.
fn stated_length_s(voice: PercussionVoice) -> (f32, f32) {
    match voice {
        PercussionVoice::Pulse => (0.3, 0.6),
        PercussionVoice::Tick => (0.02, 0.06),
        PercussionVoice::Shaker => (0.08, 0.15),
        PercussionVoice::Bell => (1.0, 3.0),
    }
}

#[test]
fn every_voice_is_finite_audible_at_minus_12_dbfs_and_decays_in_its_length() {
    for sample_rate in RATES {
        for voice in VOICES {
            // Long enough for the longest hit (a low bell: 1.5 × 3 s) and half a second more.
            let seconds = 1.5 * stated_length_s(voice).1 + 0.5;
            for (pitch_hz, brightness) in [
                (45.0, 0.0),
                (110.0, 1.0),
                (440.0, 0.5),
                (1_500.0, 0.2),
                (3_500.0, 0.9),
            ] {
                let (left, right) =
                    render_hit(voice, sample_rate, pitch_hz, brightness, 7, seconds);
                assert!(left.iter().chain(&right).all(|x| x.is_finite()));
                let peak_db = to_db(peak(&left));
                let what =
                    format!("{voice:?} {pitch_hz} Hz, brightness {brightness}, {sample_rate} Hz");
                assert!(
                    (-15.0..=-9.0).contains(&peak_db),
                    "{what}: peak {peak_db} dBFS"
                );
                assert_eq!(left, right, "{what}: centre pan is equal in both channels");
                let length = decay_time_s(&left, sample_rate);
                let (shortest, longest) = stated_length_s(voice);
                assert!(
                    (shortest..=longest).contains(&length),
                    "{what}: length {length} s"
                );
                // It has ended by 1.5 × its length: the last half second is exactly silent.
                let tail = &left[left.len() - (0.5 * sample_rate) as usize..];
                assert!(
                    tail.iter().all(|&x| x == 0.0),
                    "{what}: still sounding at the end"
                );
            }
        }
    }
}

#[test]
fn hits_end_and_free_their_slots() {
    let mut percussion = Percussion::new(rate(48_000.0), 3);
    percussion.trigger(PercussionVoice::Tick, 10, 0.8, 1_000.0, 0.5, 0.3);
    percussion.trigger(PercussionVoice::Bell, 20, 0.8, 660.0, 0.5, -0.3);
    let (mut left, mut right) = (vec![0.0f32; 512], vec![0.0f32; 512]);
    percussion.render_add(&mut left, &mut right);
    assert_eq!(percussion.active_hits(), 2);
    for _ in 0..400 {
        percussion.render_add(&mut left, &mut right);
    }
    assert_eq!(percussion.active_hits(), 0);
}

#[test]
fn bell_spectrum_peaks_at_its_pitch() {
    let sample_rate = 48_000.0;
    for pitch_hz in [196.0, 440.0, 1_046.5] {
        for brightness in [0.0, 1.0] {
            let (left, _) = render_hit(
                PercussionVoice::Bell,
                sample_rate,
                pitch_hz,
                brightness,
                1,
                2.0,
            );
            let peak_hz =
                Spectrum::single(&left, f64::from(sample_rate), 65_536).dominant_hz() as f32;
            assert!(
                (peak_hz / pitch_hz - 1.0).abs() < 0.01,
                "{pitch_hz} Hz, brightness {brightness}: peak at {peak_hz} Hz"
            );
        }
    }
}

#[test]
fn same_seed_gives_the_same_noise_and_another_seed_does_not() {
    for voice in [
        PercussionVoice::Shaker,
        PercussionVoice::Tick,
        PercussionVoice::Pulse,
    ] {
        let (a, _) = render_hit(voice, 48_000.0, 220.0, 1.0, 42, 0.3);
        let (b, _) = render_hit(voice, 48_000.0, 220.0, 1.0, 42, 0.3);
        let (c, _) = render_hit(voice, 48_000.0, 220.0, 1.0, 43, 0.3);
        assert_eq!(a, b, "{voice:?}");
        let differing = a.iter().zip(&c).filter(|(x, y)| x != y).count();
        assert!(
            differing > a.len() / 20,
            "{voice:?}: only {differing} samples differ"
        );
    }
    // And a reset replays the seed from the start.
    let mut percussion = Percussion::new(rate(48_000.0), 42);
    let mut first = vec![0.0f32; 4_800];
    let mut second = vec![0.0f32; 4_800];
    for out in [&mut first, &mut second] {
        percussion.reset();
        percussion.trigger(PercussionVoice::Shaker, 0, 1.0, 220.0, 1.0, -1.0);
        let mut right = vec![0.0f32; out.len()];
        percussion.render_add(out, &mut right);
    }
    assert_eq!(first, second);
}

/// Twenty low, dark pulses 4 ms apart: at most 16 sound, and the four stolen ones fade out.
/// The pulses hold nothing above ~200 Hz, so any step shows up in the first and second
/// differences of the output, which stay small.
fn render_twenty_pulses(fade_frames: usize) -> (Vec<f32>, usize) {
    let sample_rate = 48_000.0;
    let mut percussion = Percussion::new(rate(sample_rate), 5);
    percussion.fade_frames = fade_frames;
    let frames = 48_000;
    let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let mut most = 0;
    for (block, (l, r)) in left.chunks_mut(480).zip(right.chunks_mut(480)).enumerate() {
        if block < 4 {
            for k in 0..5 {
                percussion.trigger(
                    PercussionVoice::Pulse,
                    k * 96,
                    1.0,
                    55.0 + 3.0 * k as f32,
                    0.0,
                    0.0,
                );
            }
        }
        percussion.render_add(l, r);
        most = most.max(percussion.active_hits());
    }
    (left, most)
}

#[test]
fn stealing_fades_without_a_click() {
    let (faded, most) = render_twenty_pulses(Percussion::new(rate(48_000.0), 0).fade_frames);
    assert_eq!(most, MAX_HITS);
    let (first, second) = (largest_step(&faded), largest_second_difference(&faded));
    assert!(first < 0.03 && second < 0.002, "steps {first}, {second}");
    // The same with a one-frame "fade" does click, so the bounds above mean something.
    let (cut, _) = render_twenty_pulses(1);
    let cut_second = largest_second_difference(&cut);
    assert!(
        cut_second > 5.0 * second,
        "hard cut {cut_second} vs fade {second}"
    );
}

#[test]
fn output_does_not_depend_on_block_sizes() {
    let sample_rate = 48_000.0;
    let frames = 3 * 48_000;
    // Random hits of every voice, plus a burst that forces stealing; 60 in all, so the single
    // call stays within MAX_PENDING triggers.
    let mut rng = XorShift(99);
    let mut random = move || rng.unit() as f32;
    let hits: Vec<(usize, PercussionVoice, f32, f32, f32, f32)> = (0..40)
        .map(|_| {
            let at = (random() * (frames - 1) as f32) as usize;
            let voice = VOICES[(random() * 4.0) as usize % 4];
            (
                at,
                voice,
                random(),
                40.0 + 2_000.0 * random(),
                random(),
                2.0 * random() - 1.0,
            )
        })
        .chain((0..20).map(|k| (60_000 + 50 * k, PercussionVoice::Bell, 0.7, 300.0, 0.5, 0.0)))
        .collect();

    let mut whole = Percussion::new(rate(sample_rate), 8);
    let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    for &(at, voice, velocity, pitch_hz, brightness, pan) in &hits {
        whole.trigger(voice, at, velocity, pitch_hz, brightness, pan);
    }
    whole.render_add(&mut left, &mut right);

    let mut split = Percussion::new(rate(sample_rate), 8);
    let (mut split_left, mut split_right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let mut start = 0;
    while start < frames {
        let end = (start + 1 + (random() * 1_024.0) as usize).min(frames);
        for &(at, voice, velocity, pitch_hz, brightness, pan) in &hits {
            if (start..end).contains(&at) {
                split.trigger(voice, at - start, velocity, pitch_hz, brightness, pan);
            }
        }
        split.render_add(&mut split_left[start..end], &mut split_right[start..end]);
        start = end;
    }
    assert_same(&left, &split_left, "left");
    assert_same(&right, &split_right, "right");
    assert!(peak(&left) > 0.05);
    assert!(hits.len() <= MAX_PENDING);
}

#[test]
fn nothing_sounding_adds_exactly_zero() {
    let mut percussion = Percussion::new(rate(48_000.0), 1);
    let original: Vec<f32> = (0..1_000).map(|n| (n as f32 * 0.37).sin()).collect();
    let (mut left, mut right) = (original.clone(), original.clone());
    percussion.render_add(&mut left, &mut right);
    assert_eq!(left, original);
    assert_eq!(right, original);
    // Also after a hit has come and gone.
    percussion.trigger(PercussionVoice::Tick, 0, 1.0, 1_000.0, 1.0, 0.0);
    let mut scratch = vec![0.0f32; 48_000];
    let mut scratch_right = scratch.clone();
    percussion.render_add(&mut scratch, &mut scratch_right);
    percussion.render_add(&mut left, &mut right);
    assert_eq!(left, original);
}

#[test]
fn an_offset_past_the_block_starts_at_the_next_block() {
    let mut late = Percussion::new(rate(48_000.0), 4);
    let mut prompt = Percussion::new(rate(48_000.0), 4);
    late.trigger(PercussionVoice::Pulse, 5_000, 1.0, 60.0, 0.5, 0.0);
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    late.render_add(&mut left, &mut right);
    assert!(
        left.iter().all(|&x| x == 0.0),
        "nothing in the block it was given to"
    );
    late.render_add(&mut left, &mut right);
    prompt.trigger(PercussionVoice::Pulse, 0, 1.0, 60.0, 0.5, 0.0);
    let (mut expected_left, mut expected_right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    prompt.render_add(&mut expected_left, &mut expected_right);
    assert_eq!(
        left, expected_left,
        "it starts on the next block's first frame"
    );
}

#[test]
fn velocity_and_pan_shape_the_level() {
    let level = |velocity: f32, pan: f32| {
        let mut percussion = Percussion::new(rate(48_000.0), 2);
        percussion.trigger(PercussionVoice::Bell, 0, velocity, 440.0, 0.5, pan);
        let (mut left, mut right) = (vec![0.0f32; 9_600], vec![0.0f32; 9_600]);
        percussion.render_add(&mut left, &mut right);
        (peak(&left), peak(&right))
    };
    let (full, _) = level(1.0, 0.0);
    let (half, _) = level(0.5, 0.0);
    assert!(
        (20.0 * (half / full).log10() + 12.0).abs() < 0.1,
        "velocity 0.5 is -12 dB"
    );
    let (hard_left, silent_right) = level(1.0, -1.0);
    assert!(silent_right < 1e-6 * hard_left);
    assert!(
        (20.0 * (hard_left / full).log10() - 3.0).abs() < 0.1,
        "equal power: +3 dB at the side"
    );
    assert_eq!(level(0.0, 0.0), (0.0, 0.0));
}

#[test]
fn bad_parameters_are_tamed() {
    let mut percussion = Percussion::new(rate(48_000.0), 2);
    percussion.trigger(PercussionVoice::Pulse, 0, f32::NAN, 100.0, 0.5, 0.0);
    percussion.trigger(PercussionVoice::Bell, 0, 2.0, f32::INFINITY, f32::NAN, 7.0);
    percussion.trigger(PercussionVoice::Tick, 0, 1.0, -5.0, -1.0, f32::NAN);
    let (mut left, mut right) = (vec![0.0f32; 48_000], vec![0.0f32; 48_000]);
    percussion.render_add(&mut left, &mut right);
    assert!(
        left.iter()
            .chain(&right)
            .all(|x| x.is_finite() && x.abs() < 1.0)
    );
    assert!(peak(&right) > 0.1);
}
