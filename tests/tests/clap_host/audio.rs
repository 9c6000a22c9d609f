//! The sound: finite, audible, not noise, stereo; offline bounces that repeat exactly.

use std::time::Instant;

use auralis_tests::checks::{assert_sane, dropouts, max_difference, peak, rms_dbfs};
use clack_extensions::render::RenderMode;

use crate::measure::{dominant_hz, spectral_flatness};
use crate::new_instance;

#[test]
fn plays_five_seconds_of_finite_music_at_48k() {
    let mut instance = new_instance();
    instance.activate(48_000.0, 512).expect("activate");
    let wall = Instant::now();
    let rendered = instance.render(5.0, 512).expect("process");
    let wall = wall.elapsed();
    assert!(rendered.seconds() >= 5.0);
    assert_sane(&rendered, "48 kHz / 512");

    let (left, right) = rendered.tail(4.0);
    let rms = rms_dbfs(left, right);
    let flatness = spectral_flatness(left, right, rendered.sample_rate);
    eprintln!(
        "48k/512: {} blocks, RMS(last 4 s) {rms:.1} dBFS, peak {:.3}, flatness {flatness:.1e}, \
         dominant {:.1} Hz, {} dropouts, wall {:.2} s for {:.1} s of audio, process() total \
         {:.3} s, max {:.2} ms",
        rendered.blocks,
        peak(&rendered),
        dominant_hz(left, right, rendered.sample_rate),
        dropouts(&rendered, 0.1, 64),
        wall.as_secs_f64(),
        rendered.seconds(),
        rendered.process_time.as_secs_f64(),
        rendered.max_process_time.as_secs_f64() * 1e3,
    );
    assert!(rms > -50.0, "silent: {rms:.1} dBFS over the last 4 s");
    assert!(rms < -6.0, "too loud to be music (noise?): {rms:.1} dBFS");
    assert!(
        flatness < 0.3,
        "the spectrum is as flat as noise (flatness {flatness:.3}), not music"
    );
    assert!(
        left.iter().zip(right).any(|(l, r)| l != r),
        "left and right are identical: not stereo"
    );
}

#[test]
fn offline_bounces_are_deterministic_and_a_mode_change_requests_a_restart() {
    let bounce = || {
        let mut instance = new_instance();
        instance
            .set_render_mode(RenderMode::Offline)
            .expect("render.set(offline)");
        instance.activate(48_000.0, 1024).expect("activate");
        let rendered = instance.render(4.0, 1024).expect("process");
        assert!(!instance.take_restart_request());
        rendered
    };
    let first = bounce();
    let second = bounce();
    assert_sane(&first, "offline bounce");
    let rms = rms_dbfs(&first.left, &first.right);
    let diff = max_difference(&first, &second);
    eprintln!(
        "offline bounce: {:.1} s, RMS {rms:.1} dBFS, {} dropouts, max difference between two \
         bounces {diff:e}",
        first.seconds(),
        dropouts(&first, 0.05, 32)
    );
    assert!(rms > -50.0, "offline bounce is silent: {rms:.1} dBFS");
    // An underrun would put its fade and silence at a timing-dependent place.
    assert!(diff <= 1e-6, "two identical bounces differ by {diff}");

    // Switching to offline while active: the plugin must ask for the restart that applies it.
    let mut instance = new_instance();
    instance.activate(48_000.0, 512).expect("activate");
    instance.render(0.1, 512).expect("process");
    instance
        .set_render_mode(RenderMode::Offline)
        .expect("render.set(offline) while active");
    assert!(
        instance.take_restart_request(),
        "no restart requested after switching to offline while active"
    );
    instance.deactivate().expect("deactivate");
    instance
        .activate(48_000.0, 512)
        .expect("reactivate offline");
    let restarted = instance.render(1.0, 512).expect("process offline");
    assert_sane(&restarted, "offline after restart");
    // A reactivation starts the music over, and the block size does not change it.
    let diff = max_difference(&restarted, &first);
    assert!(
        diff <= 1e-6,
        "offline after a restart (512-frame blocks) differs from a fresh bounce (1024) by {diff}"
    );
}
