//! The whole engine, heard: level, key, determinism, brightness and robustness of what
//! [`EngineCore`] renders, measured on the audio itself.

use auralis_checks::{Bins, Spectrum, max_difference, peak, rms_dbfs};

use super::*;
use crate::engine::settings;
use crate::params::{FollowMode, KeyName, MidiLayers, ScaleName};
use crate::signal::SampleRate;
use crate::synth::{RendererChoice, RendererKind};

/// Renders `seconds` of `settings` in engine blocks and returns the two channels.
fn render(settings: &MusicalSettings, seconds: f64, sample_rate: f32) -> (Vec<f32>, Vec<f32>) {
    let mut engine = EngineCore::new(
        SampleRate::new(sample_rate).expect("a valid rate"),
        settings,
    );
    let total = (seconds * sample_rate as f64) as usize;
    let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
    let (mut left, mut right) = (Vec::with_capacity(total), Vec::with_capacity(total));
    while left.len() < total {
        let frames = (total - left.len()).min(ENGINE_BLOCK_FRAMES);
        engine.render(settings, None, &mut block[..frames]);
        for frame in &block[..frames] {
            left.push(frame[0]);
            right.push(frame[1]);
        }
    }
    (left, right)
}

fn settings() -> MusicalSettings {
    MusicalSettings {
        midi_out: MidiLayers::Off,
        follow: FollowMode::Off,
        ..MusicalSettings::default()
    }
}

/// FFT length: bins of 1.5 Hz at 48 kHz, finer than a semitone down to the drone's register.
const FFT_LEN: usize = 32_768;

/// Share of the pitched energy (spectral peaks between 50 Hz and 4 kHz) that falls on the
/// pitch classes of `key`/`scale`.
fn in_scale_share(
    left: &[f32],
    right: &[f32],
    sample_rate: f32,
    key: KeyName,
    scale: ScaleName,
) -> f64 {
    let classes = settings::scale(scale)
        .pitch_classes(crate::music::Key::from_pitch_class(key.pitch_class()));
    // Peaks only: the tonal partials, not the noise floor of percussion and reverb.
    let power = Spectrum::averaged(left, right, f64::from(sample_rate), FFT_LEN)
        .pitch_class_power(50.0..4_000.0, Bins::Peaks);
    let on: f64 = (0..12u8)
        .filter(|&class| classes.contains(class))
        .map(|class| power[usize::from(class)])
        .sum();
    on / power.iter().sum::<f64>().max(1e-30)
}

fn spectral_centroid_hz(left: &[f32], right: &[f32], sample_rate: f32) -> f64 {
    Spectrum::averaged(left, right, f64::from(sample_rate), FFT_LEN).centroid_hz()
}

#[test]
fn the_default_patch_plays_at_a_sane_level_without_clipping() {
    let (left, right) = render(&settings(), 40.0, 48_000.0);
    let skip = 10 * 48_000;
    let rms = rms_dbfs(&left[skip..], &right[skip..]);
    let peak = peak(&left).max(peak(&right));
    eprintln!("default patch: RMS {rms:.1} dBFS, peak {peak:.3}");
    assert!(left.iter().chain(&right).all(|s| s.is_finite()));
    assert!((-30.0..=-12.0).contains(&rms), "RMS {rms:.1} dBFS");
    // The limiter's ceiling is -1.5 dBFS.
    assert!(peak <= 0.85, "peak {peak}");
    assert!(left.iter().zip(&right).any(|(l, r)| l != r), "stereo");
}

#[test]
fn pitched_energy_falls_on_the_scale() {
    for (key, scale) in [
        (KeyName::D, ScaleName::Dorian),
        (KeyName::FSharp, ScaleName::Lydian),
        (KeyName::A, ScaleName::Minor),
    ] {
        let s = MusicalSettings {
            key,
            scale,
            ..settings()
        };
        let (left, right) = render(&s, 30.0, 48_000.0);
        let share = in_scale_share(&left, &right, 48_000.0, key, scale);
        assert!(
            share >= 0.85,
            "{key:?} {scale:?}: {:.0}% in scale",
            share * 100.0
        );
    }
}

#[test]
fn the_same_seed_is_the_same_music_and_another_seed_is_not() {
    let first = render(&settings(), 8.0, 48_000.0);
    let second = render(&settings(), 8.0, 48_000.0);
    assert!(first == second, "two renders of the same settings differ");
    let other = MusicalSettings {
        seed: 8,
        ..settings()
    };
    let third = render(&other, 8.0, 48_000.0);
    let difference = max_difference(&first.0, &third.0);
    assert!(difference > 0.01, "seed 8 sounds like seed 7");
}

#[test]
fn brightness_raises_the_spectral_centroid() {
    let at = |brightness: f32| {
        let s = MusicalSettings {
            brightness,
            ..settings()
        };
        let (left, right) = render(&s, 20.0, 48_000.0);
        spectral_centroid_hz(&left, &right, 48_000.0)
    };
    let (dark, bright) = (at(0.1), at(0.9));
    assert!(
        bright >= 1.3 * dark,
        "centroid {dark:.0} Hz → {bright:.0} Hz"
    );
}

#[test]
fn extreme_settings_at_every_sample_rate_stay_finite_and_below_the_ceiling() {
    let extremes = [
        (0.0, 0.0, 0.0, 30.0),
        (1.0, 1.0, 1.0, 180.0),
        (1.0, 0.0, 1.0, 30.0),
        (0.0, 1.0, 0.0, 180.0),
    ];
    for sample_rate in [44_100.0, 96_000.0, 192_000.0] {
        for (intensity, brightness, space, tempo_bpm) in extremes {
            let s = MusicalSettings {
                intensity,
                brightness,
                space,
                tempo_bpm,
                ..settings()
            };
            let (left, right) = render(&s, 4.0, sample_rate);
            assert!(
                left.iter().chain(&right).all(|x| x.is_finite()),
                "{sample_rate} Hz {s:?}: non-finite"
            );
            let peak = peak(&left).max(peak(&right));
            assert!(peak <= 0.85, "{sample_rate} Hz {s:?}: peak {peak}");
            assert!(
                rms_dbfs(&left, &right) > -60.0,
                "{sample_rate} Hz {s:?}: silent"
            );
        }
    }
}

#[test]
fn a_seed_change_mid_stream_keeps_playing_without_a_gap() {
    let mut engine = EngineCore::new(SampleRate::DEFAULT, &settings());
    let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
    let mut quiet_blocks = 0;
    for i in 0..2_000 {
        let s = MusicalSettings {
            seed: if i < 1_000 { 7 } else { 1234 },
            ..settings()
        };
        engine.render(&s, None, &mut block);
        let energy: f32 = block.iter().map(|f| f[0] * f[0] + f[1] * f[1]).sum();
        if i > 400 && energy < 1e-6 {
            quiet_blocks += 1;
        }
    }
    assert_eq!(quiet_blocks, 0, "silence after a seed change");
}

#[test]
fn the_gpu_renderer_matches_the_cpu_renderer_at_the_output() {
    let render_on = |choice: RendererChoice| {
        let settings = settings();
        let mut engine = EngineCore::with_renderer(
            SampleRate::DEFAULT,
            &settings,
            choice,
            std::time::Duration::from_secs(5),
        );
        let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
        let mut frames = Vec::new();
        for _ in 0..(3 * 48_000 / ENGINE_BLOCK_FRAMES) {
            engine.render(&settings, None, &mut block);
            frames.extend_from_slice(&block);
        }
        (
            frames,
            engine.renderer_kind(),
            engine.renderer_description(),
        )
    };
    let (gpu, kind, description) = render_on(RendererChoice::Gpu);
    assert_eq!(
        kind,
        RendererKind::Gpu,
        "the GPU renderer did not run or fell back ({description}); the tests need Vulkan \
         (Debian: mesa-vulkan-drivers)"
    );
    let (cpu, _, _) = render_on(RendererChoice::Cpu);
    let difference = max_difference(gpu.as_flattened(), cpu.as_flattened());
    eprintln!("{description}: max difference from the CPU at the output {difference:.2e}");
    assert!(difference <= 1e-3, "GPU and CPU differ by {difference}");
    assert!(gpu.iter().any(|f| f[0] != 0.0), "audible");
}

#[test]
fn a_rewound_engine_renders_again_exactly_what_followed_the_saved_state() {
    // Well into the music, with notes, hits and reverb tails sounding, so every part of the
    // state that carries the music from block to block is exercised.
    let settings = MusicalSettings {
        intensity: 0.9,
        ..settings()
    };
    let mut engine = EngineCore::new(SampleRate::DEFAULT, &settings);
    let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
    for _ in 0..(20.0 * 48_000.0 / ENGINE_BLOCK_FRAMES as f64) as usize {
        engine.render(&settings, None, &mut block);
    }
    let saved = engine.save_state();
    let at = engine.frames_rendered();
    let mut first = Vec::new();
    for _ in 0..400 {
        engine.render(&settings, None, &mut block);
        first.extend_from_slice(&block);
    }
    engine.rewind(&saved, engine.frames_rendered());
    let mut again = Vec::new();
    for _ in 0..400 {
        engine.render(&settings, None, &mut block);
        again.extend_from_slice(&block);
    }
    assert!(first.iter().any(|f| f[0] != 0.0), "audible");
    assert!(
        first == again,
        "the {} frames after frame {at} differ when rendered again",
        first.len()
    );
    // And with other settings from the rewind on, the music goes another way.
    engine.rewind(&saved, engine.frames_rendered());
    // Brightness is heard at once; a key is heard from the next notes the composer plans.
    let other = MusicalSettings {
        brightness: if settings.brightness > 0.5 { 0.1 } else { 0.9 },
        ..settings
    };
    let mut changed = Vec::new();
    for _ in 0..400 {
        engine.render(&other, None, &mut block);
        changed.extend_from_slice(&block);
    }
    let heard = changed.iter().zip(&first).position(|(a, b)| a != b);
    assert!(
        heard.is_some_and(|frame| frame < ENGINE_BLOCK_FRAMES),
        "the new settings are heard from the first block after a rewind: {heard:?}"
    );
}
