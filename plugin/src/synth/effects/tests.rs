//! Tests of the whole chain, measured the way a listener or a meter would.

use auralis_checks::{
    XorShift, correlation, largest_step, loudness_lufs, normalize_lufs, peak, peak_db, peak_index,
    pink_noise, t60_s, true_peak_db,
};

use super::limiter::CEILING;
use super::*;

/// The rate `hz` as the synthesizer takes it.
fn rate(hz: f32) -> SampleRate {
    SampleRate::new(hz).expect("a supported rate")
}

/// The sample rates every rate-dependent property is checked at.
const RATES: [f32; 4] = [44_100.0, 48_000.0, 96_000.0, 192_000.0];

/// Runs `left`/`right` through `effects` in blocks of `block` frames.
fn render(
    effects: &mut Effects,
    space: f32,
    tempo_bpm: f32,
    left: &mut [f32],
    right: &mut [f32],
    block: usize,
) {
    for (l, r) in left.chunks_mut(block).zip(right.chunks_mut(block)) {
        effects.process(space, tempo_bpm, l, r);
    }
}

/// The chain's response to an impulse of `amplitude` at frame 0 (both channels).
fn impulse_response(
    sample_rate: f32,
    space: f32,
    tempo_bpm: f32,
    amplitude: f32,
    seconds: f32,
) -> (Vec<f32>, Vec<f32>) {
    let frames = (seconds * sample_rate) as usize;
    let mut left = vec![0.0; frames];
    let mut right = vec![0.0; frames];
    left[0] = amplitude;
    right[0] = amplitude;
    let mut effects = Effects::new(rate(sample_rate));
    render(&mut effects, space, tempo_bpm, &mut left, &mut right, 512);
    (left, right)
}

/// Measured T60 of the chain at `space`, 48 kHz, from the reverb's first arrival on.
fn measured_t60_s(space: f32) -> f32 {
    let sample_rate = 48_000.0;
    let (left, right) = impulse_response(sample_rate, space, 180.0, 0.25, 16.0);
    // Skip the dry impulse (at the latency) and start at the reverb's predelay.
    let start = (0.02 * sample_rate) as usize;
    t60_s(&left[start..], &right[start..], sample_rate)
}

#[test]
fn tail_grows_with_space() {
    let short = measured_t60_s(0.2);
    let long = measured_t60_s(0.9);
    // Designed (at low frequencies): 1.33 s and 7.8 s; broadband decays a little faster
    // because the damping shortens the highs.
    assert!((0.9..2.0).contains(&short), "T60 at space 0.2: {short} s");
    assert!((4.5..10.0).contains(&long), "T60 at space 0.9: {long} s");
    assert!(long > 3.0 * short, "{short} s → {long} s");
}

#[test]
fn tail_is_decorrelated_between_left_and_right() {
    for sample_rate in [44_100.0, 96_000.0] {
        for space in [0.0, 0.5, 1.0] {
            let (left, right) = impulse_response(sample_rate, space, 120.0, 0.5, 1.5);
            let from = (0.3 * sample_rate) as usize;
            let correlation = correlation(&left[from..], &right[from..]);
            assert!(
                correlation.abs() < 0.5,
                "{sample_rate} Hz, space {space}: {correlation}"
            );
        }
    }
}

#[test]
fn echoes_arrive_a_dotted_eighth_apart() {
    let sample_rate = 48_000.0;
    for tempo_bpm in [60.0, 120.0] {
        let (left, right) = impulse_response(sample_rate, 1.0, tempo_bpm, 0.5, 2.5);
        let latency = Effects::new(rate(sample_rate)).latency_frames();
        let delay_frames = (0.75 * 60.0 / tempo_bpm * sample_rate) as usize;
        // Search ±50 % of the delay around the expected echoes; allow 2 ms for the
        // band-pass's group delay.
        let tolerance = (0.002 * sample_rate) as usize;
        let first = latency + delay_frames;
        let window = delay_frames / 2;
        let found = first - window + peak_index(&left[first - window..first + window]);
        assert!(
            found.abs_diff(first) <= tolerance,
            "{tempo_bpm} BPM: left echo at {found}, expected {first}"
        );
        let second = latency + 2 * delay_frames;
        let found = second - window + peak_index(&right[second - window..second + window]);
        assert!(
            found.abs_diff(second) <= tolerance,
            "{tempo_bpm} BPM: right echo at {found}, expected {second}"
        );
    }
}

#[test]
fn space_zero_has_no_echoes() {
    let sample_rate = 48_000.0;
    let (left, _) = impulse_response(sample_rate, 0.0, 120.0, 0.5, 1.0);
    let latency = Effects::new(rate(sample_rate)).latency_frames();
    let echo = latency + 18_000;
    let around = peak(&left[echo - 100..echo + 100]);
    assert!(around < 1e-3, "{around}");
}

/// Random hot cases, each checked for the sample-peak ceiling (-1.5 dBFS) and for true peak
/// ≤ -1 dBTP twice: by ebur128 (BS.1770's 4× meter; 2× at 96 kHz, none at 192 kHz) and by the
/// stricter 8×, 64-tap reference of `auralis_checks::true_peak_db`.
#[test]
fn hot_input_never_exceeds_the_ceiling_or_minus_one_dbtp() {
    let mut random = XorShift::scrambled(11);
    let mut worst_true_peak_db = f32::NEG_INFINITY;
    for case in 0..16 {
        let sample_rate = RATES[case % RATES.len()];
        let frames = (0.8 * sample_rate) as usize;
        let space = random.range(0.0, 1.0);
        let tempo_bpm = random.range(30.0, 180.0);
        // +12 dBFS peaks: sines anywhere up to 0.45 fs (where inter-sample peaks are worst),
        // or full-band noise.
        let freq_hz = random.range(20.0, 0.45 * sample_rate);
        let noisy = case % 3 == 0;
        let mut left: Vec<f32> = (0..frames)
            .map(|n| {
                let phase = std::f32::consts::TAU * freq_hz * n as f32 / sample_rate;
                if noisy {
                    4.0 * random.bipolar()
                } else {
                    4.0 * (phase + 0.7).sin()
                }
            })
            .collect();
        let mut right: Vec<f32> = left.iter().map(|x| -0.8 * x).collect();
        let mut effects = Effects::new(rate(sample_rate));
        let mut start = 0;
        while start < frames {
            let block = (random.range(1.0, 1024.0) as usize).min(frames - start);
            let end = start + block;
            effects.process(
                space,
                tempo_bpm,
                &mut left[start..end],
                &mut right[start..end],
            );
            start = end;
        }
        let mut meter =
            ebur128::EbuR128::new(2, sample_rate as u32, ebur128::Mode::TRUE_PEAK).expect("meter");
        meter
            .add_frames_planar_f32(&[&left, &right])
            .expect("frames");
        for (c, channel) in [&left, &right].into_iter().enumerate() {
            assert!(
                channel.iter().all(|x| x.abs() <= CEILING),
                "case {case}: sample peak"
            );
            assert!(peak_db(channel) <= -1.5 + 1e-4);
            let true_peak = true_peak_db(channel);
            let ebu = 20.0 * meter.true_peak(c as u32).expect("peak").log10() as f32;
            worst_true_peak_db = worst_true_peak_db.max(true_peak).max(ebu);
            let what = if noisy {
                "noise".to_string()
            } else {
                format!("{freq_hz} Hz")
            };
            assert!(
                true_peak <= -1.0,
                "case {case} ({sample_rate} Hz, {what}): {true_peak} dBTP"
            );
            assert!(
                ebu <= -1.0,
                "case {case} ({sample_rate} Hz, {what}): BS.1770 {ebu} dBTP"
            );
        }
        assert!(effects.gain_reduction_db() > 6.0);
    }
    println!("worst true peak: {worst_true_peak_db:.3} dBTP");
}

#[test]
fn nan_and_infinity_never_poison_the_state() {
    // Non-finite input is read as 0 before anything else, so the output must be exactly that
    // of the same input with those samples zeroed, and finite throughout.
    let sample_rate = 48_000.0;
    let frames = 96_000;
    let clean = pink_noise(frames, 3);
    let mut poisoned = clean.clone();
    let mut zeroed = clean.clone();
    for n in (0..frames / 2).step_by(7) {
        poisoned[n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][n % 3];
        zeroed[n] = 0.0;
    }
    let (mut left, mut right) = (poisoned.clone(), poisoned);
    let (mut ref_left, mut ref_right) = (zeroed.clone(), zeroed);
    let mut effects = Effects::new(rate(sample_rate));
    let mut reference = Effects::new(rate(sample_rate));
    render(&mut effects, 1.0, 90.0, &mut left, &mut right, 300);
    render(
        &mut reference,
        1.0,
        90.0,
        &mut ref_left,
        &mut ref_right,
        300,
    );
    assert!(left.iter().chain(&right).all(|x| x.is_finite()));
    assert!(effects.gain_reduction_db().is_finite());
    assert_eq!(left, ref_left);
    assert_eq!(right, ref_right);
    // And after the bad input stops, the output is ordinary audio again.
    let tail_db =
        10.0 * (left[frames - 4_800..].iter().map(|x| x * x).sum::<f32>() / 4_800.0).log10();
    assert!((-40.0..-5.0).contains(&tail_db), "{tail_db} dB");
}

#[test]
fn silence_after_the_tail_is_exact_and_denormal_free() {
    let sample_rate = 44_100.0;
    let mut effects = Effects::new(rate(sample_rate));
    let mut left = pink_noise(44_100, 5);
    let mut right = pink_noise(44_100, 6);
    render(&mut effects, 1.0, 70.0, &mut left, &mut right, 441);
    // 70 s of silence: the longest tail (T60 10 s) falls by 400 dB.
    let mut last_block_peak = 1.0f32;
    for second in 0..70 {
        let mut left = vec![0.0f32; 44_100];
        let mut right = vec![0.0f32; 44_100];
        render(&mut effects, 1.0, 70.0, &mut left, &mut right, 441);
        assert!(
            !effects.has_subnormal_state(),
            "subnormal state after {second} s of silence"
        );
        last_block_peak = peak(&left).max(peak(&right));
    }
    assert_eq!(last_block_peak, 0.0);
    assert!(effects.gain_reduction_db() < 1e-3);
}

#[test]
fn output_does_not_depend_on_block_sizes() {
    let mut random = XorShift::scrambled(21);
    for sample_rate in RATES {
        // Four segments with their own settings; within each, one call versus random blocks.
        let segments = [(0.0, 60.0), (0.7, 120.0), (1.0, 95.0), (0.3, 180.0)];
        let segment_frames = (0.4 * sample_rate) as usize;
        let input = pink_noise(segments.len() * segment_frames, 9);
        let mut whole = Effects::new(rate(sample_rate));
        let mut split = Effects::new(rate(sample_rate));
        for (s, &(space, tempo_bpm)) in segments.iter().enumerate() {
            let range = s * segment_frames..(s + 1) * segment_frames;
            let (mut left, mut right) =
                (input[range.clone()].to_vec(), input[range.clone()].to_vec());
            right.reverse();
            let (mut split_left, mut split_right) = (left.clone(), right.clone());
            whole.process(space, tempo_bpm, &mut left, &mut right);
            let mut start = 0;
            while start < segment_frames {
                let end = (start + random.range(1.0, 1025.0) as usize).min(segment_frames);
                split.process(
                    space,
                    tempo_bpm,
                    &mut split_left[start..end],
                    &mut split_right[start..end],
                );
                start = end;
            }
            assert_eq!(left, split_left, "{sample_rate} Hz, segment {s}");
            assert_eq!(right, split_right, "{sample_rate} Hz, segment {s}");
        }
    }
}

#[test]
fn latency_is_the_delay_of_the_dry_path() {
    for sample_rate in RATES {
        let mut effects = Effects::new(rate(sample_rate));
        let latency = effects.latency_frames();
        assert_eq!(latency, (0.003 * sample_rate).round() as usize + 7);
        // A Hann pulse 1 ms wide, peaking at frame `centre`: band-limited, so its peak
        // survives the limiter's band limit where a one-frame click would be smeared.
        let width = (0.001 * sample_rate) as usize;
        let centre = 100 + width / 2;
        let mut left: Vec<f32> = (0..8_192)
            .map(|n| {
                let x = n as f32 - 100.0;
                if (0.0..=width as f32).contains(&x) {
                    0.25 * (0.5 - 0.5 * (std::f32::consts::TAU * x / width as f32).cos())
                } else {
                    0.0
                }
            })
            .collect();
        let mut right = left.clone();
        render(&mut effects, 0.0, 120.0, &mut left, &mut right, 64);
        let found = peak_index(&left);
        assert_eq!(found, centre + latency, "{sample_rate} Hz");
        assert!((left[found] - 0.25).abs() < 0.01, "{}", left[found]);
    }
}

#[test]
fn loudness_stays_near_the_input_loudness() {
    let sample_rate = 48_000.0;
    let mut pink = pink_noise(12 * 48_000, 7);
    normalize_lufs(&mut pink, sample_rate, -18.0);
    for space in [0.0, 0.3, 0.5, 0.7, 1.0] {
        let (mut left, mut right) = (pink.clone(), pink.clone());
        right.rotate_left(12_345);
        let mut effects = Effects::new(rate(sample_rate));
        render(&mut effects, space, 100.0, &mut left, &mut right, 512);
        // Skip the first 2 s, while the reverb fills.
        let lufs = loudness_lufs(&left[96_000..], &right[96_000..], sample_rate);
        assert!((lufs + 18.0).abs() < 3.0, "space {space}: {lufs} LUFS");
    }
}

#[test]
fn tempo_change_does_not_click() {
    // A steady 330 Hz sine at Space 1, tempo switched from 120 to 87 BPM: the largest step
    // between samples stays near what the steady signal itself produces.
    let sample_rate = 48_000.0;
    let frames = 96_000;
    let step = std::f32::consts::TAU * 330.0 / sample_rate;
    let mut left: Vec<f32> = (0..frames).map(|n| 0.2 * (n as f32 * step).sin()).collect();
    let mut right = left.clone();
    let mut effects = Effects::new(rate(sample_rate));
    let half = frames / 2;
    effects.process(1.0, 120.0, &mut left[..half], &mut right[..half]);
    effects.process(1.0, 87.0, &mut left[half..], &mut right[half..]);
    let steady = largest_step(&left[half - 24_000..half]);
    let across = largest_step(&left[half..half + 24_000]);
    assert!(
        across < 1.3 * steady,
        "steady {steady}, across the change {across}"
    );
}

/// The chain moves to the engine thread once built.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Effects>();
};

#[test]
fn the_extreme_sample_rates_work() {
    for sample_rate in [8_000.0, 768_000.0] {
        let frames = (0.3 * sample_rate) as usize;
        let mut left: Vec<f32> = pink_noise(frames, 4).iter().map(|x| 8.0 * x).collect();
        let mut right = left.clone();
        let mut effects = Effects::new(rate(sample_rate));
        render(&mut effects, 1.0, 30.0, &mut left, &mut right, 4_096);
        assert!(
            left.iter()
                .chain(&right)
                .all(|x| x.is_finite() && x.abs() <= CEILING)
        );
        assert!(peak_index(&left) > effects.latency_frames());
    }
}
