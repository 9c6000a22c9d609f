//! Auralis in a real CLAP host: the release bundle loaded through `clack-host`, activated,
//! processed, automated, saved and restored, reactivated and destroyed; and the debug build
//! driven with random automation under nice-plug's allocation checker.
//!
//! Two scenarios run in a child process (this test binary re-executed with `--exact`): the
//! allocation check, because an allocation in `process()` aborts the whole process, and the
//! lifecycle, because it counts the process's engine threads and needs no other test's engines
//! around. The parent turns a crash, an abort or a hang (watchdog) into a clear failure.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auralis_tests::bundle_dir;
use auralis_tests::checks::{XorShift, assert_sane, dropouts, peak, rms_dbfs};
use auralis_tests::clap_host::{
    Block, ClapBundle, ClapInstance, HostTransport, InEvent, ParamDescription, Rendered,
};
use clack_extensions::params::{ParamInfoFlags, ParamRescanFlags};
use clack_extensions::render::RenderMode;
use clack_host::utils::ClapId;

const PLUGIN_ID: &str = "audio.auralis.generative";
/// Display names are part of the contract (params.rs): hosts and scripts find parameters by them.
const PARAM_NAMES: [&str; 11] = [
    "Key",
    "Scale",
    "Tempo",
    "Sync to Host",
    "Intensity",
    "Brightness",
    "Space",
    "Seed",
    "Gain",
    "MIDI Out",
    "Follow",
];
/// Set in a child process to the name of the scenario it runs.
const CHILD_ENV: &str = "AURALIS_CLAP_CHILD";
/// The debug build of the plugin, set by `cargo xtask test`.
const DEBUG_CLAP_ENV: &str = "AURALIS_DEBUG_CLAP";

fn release_clap() -> PathBuf {
    bundle_dir().join("Auralis.clap")
}

fn new_instance() -> ClapInstance {
    ClapBundle::load(release_clap())
        .and_then(|bundle| bundle.instantiate(PLUGIN_ID))
        .unwrap_or_else(|err| panic!("{err:#}"))
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

/// In-place radix-2 FFT of `re`/`im` (length a power of two).
fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let angle = -2.0 * std::f64::consts::PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (w_im, w_re) = (angle * k as f64).sin_cos();
                let (a, b) = (start + k, start + k + len / 2);
                let t_re = re[b] * w_re - im[b] * w_im;
                let t_im = re[b] * w_im + im[b] * w_re;
                re[b] = re[a] - t_re;
                im[b] = im[a] - t_im;
                re[a] += t_re;
                im[a] += t_im;
            }
        }
        len <<= 1;
    }
}

/// Average power spectrum of the mono mix, Hann-windowed frames of `N` samples, half overlap.
fn power_spectrum(left: &[f32], right: &[f32]) -> Vec<f64> {
    const N: usize = 8192;
    let mono: Vec<f64> = left
        .iter()
        .zip(right)
        .map(|(l, r)| 0.5 * f64::from(l + r))
        .collect();
    let window: Vec<f64> = (0..N)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N as f64).cos())
        .collect();
    let mut power = vec![0.0; N / 2];
    let mut start = 0;
    while start + N <= mono.len() {
        let mut re: Vec<f64> = (0..N).map(|i| mono[start + i] * window[i]).collect();
        let mut im = vec![0.0; N];
        fft(&mut re, &mut im);
        for (k, p) in power.iter_mut().enumerate() {
            *p += re[k] * re[k] + im[k] * im[k];
        }
        start += N / 2;
    }
    power
}

/// Energy per pitch class (C = 0) between 60 Hz and 2 kHz, normalised to sum 1.
fn chroma(left: &[f32], right: &[f32], sample_rate: f64) -> [f64; 12] {
    let power = power_spectrum(left, right);
    let bin_hz = sample_rate / (2 * power.len()) as f64;
    let mut chroma = [0.0; 12];
    for (k, p) in power.iter().enumerate() {
        let freq = k as f64 * bin_hz;
        if (60.0..2000.0).contains(&freq) {
            let midi = 69.0 + 12.0 * (freq / 440.0).log2();
            chroma[(midi.round() as i64).rem_euclid(12) as usize] += p;
        }
    }
    let total: f64 = chroma.iter().sum();
    assert!(total > 0.0, "no energy between 60 Hz and 2 kHz");
    chroma.map(|c| c / total)
}

/// Frequency of the strongest spectral bin, in Hz.
fn dominant_hz(left: &[f32], right: &[f32], sample_rate: f64) -> f64 {
    let power = power_spectrum(left, right);
    let (k, _) =
        power.iter().enumerate().skip(1).fold(
            (0, 0.0),
            |best, (k, &p)| if p > best.1 { (k, p) } else { best },
        );
    k as f64 * sample_rate / (2 * power.len()) as f64
}

/// Spectral flatness (geometric over arithmetic mean of the averaged power) between 60 Hz and
/// 8 kHz: near 0 for tones, near 1 for white noise.
fn spectral_flatness(left: &[f32], right: &[f32], sample_rate: f64) -> f64 {
    let power = power_spectrum(left, right);
    let bin_hz = sample_rate / (2 * power.len()) as f64;
    let band: Vec<f64> = power
        .iter()
        .enumerate()
        .filter(|(k, _)| (60.0..8000.0).contains(&(*k as f64 * bin_hz)))
        .map(|(_, p)| p.max(1e-30))
        .collect();
    let log_mean = band.iter().map(|p| p.ln()).sum::<f64>() / band.len() as f64;
    log_mean.exp() / (band.iter().sum::<f64>() / band.len() as f64)
}

fn strongest_class(chroma: &[f64; 12]) -> usize {
    (0..12)
        .max_by(|&a, &b| chroma[a].total_cmp(&chroma[b]))
        .unwrap_or(0)
}

/// Cosine similarity of `a` with `b` rotated down by `semitones`.
fn similarity(a: &[f64; 12], b: &[f64; 12], semitones: usize) -> f64 {
    let dot: f64 = (0..12).map(|i| a[i] * b[(i + semitones) % 12]).sum();
    let norm = |v: &[f64; 12]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

/// The transposition (0..12 semitones up) that best maps `a` onto `b`.
fn best_transposition(a: &[f64; 12], b: &[f64; 12]) -> usize {
    (0..12)
        .max_by(|&x, &y| similarity(a, b, x).total_cmp(&similarity(a, b, y)))
        .unwrap_or(0)
}

const PITCH_CLASSES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

fn format_chroma(chroma: &[f64; 12]) -> String {
    (0..12)
        .map(|i| format!("{}:{:.2}", PITCH_CLASSES[i], chroma[i]))
        .collect::<Vec<_>>()
        .join(" ")
}

fn param_event(instance: &ClapInstance, name: &str, time: u32, value: f64) -> InEvent {
    let param = instance.param(name).unwrap_or_else(|e| panic!("{e:#}")).id;
    InEvent::ParamValue { time, param, value }
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

struct ChildRun {
    success: bool,
    status: String,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Re-runs this test binary with only the ignored test `name`, in a child process with
/// `CHILD_ENV=name` and `envs`, killing it after `timeout`.
fn run_child(name: &str, envs: &[(&str, &std::ffi::OsStr)], timeout: Duration) -> ChildRun {
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut command = Command::new(exe);
    command
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("spawn the child test process");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let (success, status) = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break (status.success(), status.to_string());
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break (
                false,
                format!("killed by the watchdog after {timeout:?} (hang)"),
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    ChildRun {
        success,
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// Asserts that the child ran its scenario to the end: clean exit and its closing line printed.
fn assert_child_passed(run: &ChildRun, done_marker: &str) {
    let tail = |text: &str| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    assert!(
        run.success && run.stdout.contains(done_marker),
        "child process failed: {} after {:.1} s\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}",
        run.status,
        run.elapsed.as_secs_f64(),
        tail(&run.stdout),
        tail(&run.stderr)
    );
}

/// Whether this process was started to run scenario `name`; if not, says who runs it.
fn is_child(name: &str, parent: &str) -> bool {
    let child = std::env::var(CHILD_ENV).is_ok_and(|v| v == name);
    if !child {
        eprintln!("{name} does nothing on its own: {parent} runs it in a child process");
    }
    child
}

/// Threads of this process named like the plugin's engine thread.
fn engine_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == "auralis-engine")
        .count()
}

/// Waits (briefly) for the engine thread count to reach `expected`: a new thread names itself
/// a moment after it starts.
fn assert_engine_threads(expected: usize, when: &str) {
    let start = Instant::now();
    while engine_threads() != expected && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(engine_threads(), expected, "engine threads {when}");
}

// ---------------------------------------------------------------------------------------------
// 1. The bundle
// ---------------------------------------------------------------------------------------------

#[test]
fn bundle_lists_one_stereo_instrument_with_note_input_and_output() {
    let bundle = ClapBundle::load(release_clap()).unwrap_or_else(|e| panic!("{e:#}"));
    let plugins = bundle.plugins().expect("plugin factory");
    assert_eq!(plugins.len(), 1, "one plugin in the bundle: {plugins:?}");
    let plugin = &plugins[0];
    assert_eq!(plugin.id, PLUGIN_ID);
    assert_eq!(plugin.name, "Auralis");
    for feature in ["instrument", "synthesizer", "stereo"] {
        assert!(
            plugin.features.iter().any(|f| f == feature),
            "feature {feature} missing from {:?}",
            plugin.features
        );
    }
    assert!(
        plugin.features.iter().any(|f| f.ends_with("ambient")),
        "no ambient feature in {:?}",
        plugin.features
    );
    eprintln!(
        "factory: {} {} by {}, features {:?}",
        plugin.name, plugin.version, plugin.vendor, plugin.features
    );

    let mut instance = bundle.instantiate(PLUGIN_ID).expect("instantiate");
    let outputs = instance.audio_ports(false).expect("output ports");
    assert_eq!(outputs.len(), 1, "one output port: {outputs:?}");
    assert_eq!(outputs[0].channel_count, 2, "{outputs:?}");
    assert!(outputs[0].is_main, "{outputs:?}");
    assert_eq!(
        outputs[0].port_type.as_deref(),
        Some("stereo"),
        "{outputs:?}"
    );
    let inputs = instance.audio_ports(true).expect("input ports");
    assert!(
        inputs.is_empty(),
        "an instrument takes no audio: {inputs:?}"
    );
    let notes = instance.note_ports(true).expect("note ports");
    assert_eq!(notes.len(), 1, "one note input: {notes:?}");
    assert!(notes[0].clap_dialect || notes[0].midi_dialect, "{notes:?}");
    let notes_out = instance.note_ports(false).expect("note output ports");
    assert_eq!(
        notes_out.len(),
        1,
        "one note output, for MIDI out: {notes_out:?}"
    );

    assert!(bundle.instantiate("audio.auralis.nope").is_err());
}

// ---------------------------------------------------------------------------------------------
// 2. Audio
// ---------------------------------------------------------------------------------------------

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

/// Largest absolute sample difference over the frames both renders have.
fn max_difference(a: &Rendered, b: &Rendered) -> f32 {
    a.left
        .iter()
        .zip(&b.left)
        .chain(a.right.iter().zip(&b.right))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
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

// ---------------------------------------------------------------------------------------------
// 3. Parameters
// ---------------------------------------------------------------------------------------------

#[test]
fn parameters_are_listed_by_name_with_ranges_defaults_and_texts() {
    let mut instance = new_instance();
    let listed: Vec<String> = instance.params().iter().map(|p| p.name.clone()).collect();
    assert_eq!(listed.len(), PARAM_NAMES.len(), "{listed:?}");
    for name in PARAM_NAMES {
        let p: ParamDescription = instance.param(name).expect("by name").clone();
        assert!(
            p.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
            "{name} not automatable"
        );
        assert!(p.min_value < p.max_value, "{name}: {p:?}");
        assert!(p.contains(p.default_value), "{name}: default {p:?}");
        let value = instance.value(p.id).expect("get_value");
        assert!(
            (value - p.default_value).abs() < 1e-6,
            "{name}: a new instance holds {value}, not its default {}",
            p.default_value
        );
    }
    let key = instance.param("Key").expect("Key").clone();
    assert!(key.flags.contains(ParamInfoFlags::IS_STEPPED));
    assert_eq!((key.min_value, key.max_value), (0.0, 11.0), "twelve keys");
    assert_eq!(instance.param("Seed").expect("Seed").max_value, 65_535.0);
    assert_eq!(instance.param("Sync to Host").expect("Sync").max_value, 1.0);
    for (name, text) in [
        ("Key", "D"),
        ("Scale", "Dorian"),
        ("Tempo", "70.0 BPM"),
        ("Sync to Host", "On"),
        ("Intensity", "45%"),
        ("Seed", "7"),
        ("Gain", "0.0 dB"),
    ] {
        assert_eq!(instance.text_by_name(name).expect("text"), text, "{name}");
    }
    for (index, name) in PITCH_CLASSES.iter().enumerate() {
        assert_eq!(
            instance.value_to_text(key.id, index as f64).expect("text"),
            *name
        );
        let parsed = instance.text_to_value(key.id, name).expect("parse key");
        assert!(
            (parsed - index as f64).abs() < 1e-6,
            "{name} parses to {parsed}"
        );
    }
}

/// Renders 3 s at 48 kHz after setting Key through the first block's input events.
/// Pitch classes of D Dorian, the default patch.
const D_DORIAN: [u8; 7] = [2, 4, 5, 7, 9, 11, 0];

#[test]
fn composed_notes_go_out_as_midi_on_the_chosen_layers() {
    let mut instance = new_instance();
    let midi_id = instance.param("MIDI Out").expect("MIDI Out").id;
    let all = instance.text_to_value(midi_id, "All").expect("parse All");
    let off = instance.text_to_value(midi_id, "Off").expect("parse Off");
    // Below 0.6 the composer borrows no chords, so every tonal note is in D Dorian.
    let setup = [
        InEvent::ParamValue {
            time: 0,
            param: midi_id,
            value: all,
        },
        param_event(&instance, "Intensity", 0, 0.55),
    ];
    instance.activate(48_000.0, 512).expect("activate");
    let rendered = instance
        .process_blocks(5_625, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&setup);
            }
        })
        .expect("process");
    assert_sane(&rendered, "MIDI out");
    let notes = &rendered.notes;
    let ons = |channel: u8| {
        notes
            .iter()
            .filter(|n| n.on && n.channel == channel)
            .count()
    };
    eprintln!(
        "60 s: {} note events; note-ons by channel: melody {}, pad {}, drone {}, texture {}, \
         bell {}, drums {}",
        notes.len(),
        ons(0),
        ons(1),
        ons(2),
        ons(3),
        ons(4),
        ons(9)
    );
    assert!(ons(0) >= 5, "melody notes out: {}", ons(0));
    assert!(ons(1) >= 3, "pad notes out: {}", ons(1));
    assert!(ons(2) >= 1, "drone notes out: {}", ons(2));
    for note in notes.iter().filter(|n| n.channel <= 4) {
        assert!(
            D_DORIAN.contains(&(note.key % 12)),
            "note {} on channel {} is not in D Dorian",
            note.key,
            note.channel + 1
        );
    }
    // Every note-on is ended by a later note-off of the same key and channel, or still sounds.
    let mut sounding: Vec<(u8, u8)> = Vec::new();
    for note in notes {
        let key = (note.channel, note.key);
        if note.on {
            assert!(
                !sounding.contains(&key),
                "{key:?} started twice without an end"
            );
            sounding.push(key);
        } else {
            let i = sounding.iter().position(|k| *k == key);
            assert!(i.is_some(), "note-off {key:?} without a note-on");
            sounding.swap_remove(i.unwrap_or_default());
        }
    }
    assert!(sounding.len() <= 12, "{} notes never ended", sounding.len());

    // Switched off: no new notes start.
    let silent = instance
        .process_blocks(470, |i, block| {
            if i == 0 {
                block.events.push(InEvent::ParamValue {
                    time: 0,
                    param: midi_id,
                    value: off,
                });
            }
        })
        .expect("process");
    let late_ons = silent.notes.iter().filter(|n| n.on).count();
    assert_eq!(late_ons, 0, "MIDI Out is Off, yet {late_ons} notes started");
}

/// Note-ons the plugin sends in 60 s with every layer out as MIDI at `intensity`.
fn onsets_in_a_minute(intensity: f64) -> usize {
    let mut instance = new_instance();
    let midi_id = instance.param("MIDI Out").expect("MIDI Out").id;
    let all = instance.text_to_value(midi_id, "All").expect("parse All");
    let setup = [
        InEvent::ParamValue {
            time: 0,
            param: midi_id,
            value: all,
        },
        param_event(&instance, "Intensity", 0, intensity),
    ];
    instance.activate(48_000.0, 1024).expect("activate");
    let rendered = instance
        .process_blocks(2_813, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&setup);
            }
        })
        .expect("process");
    assert_sane(&rendered, "onsets");
    rendered.notes.iter().filter(|n| n.on).count()
}

#[test]
fn intensity_brings_clearly_more_notes() {
    let (calm, busy) = (onsets_in_a_minute(0.1), onsets_in_a_minute(0.9));
    eprintln!("note onsets in 60 s: {calm} at Intensity 0.1, {busy} at 0.9");
    assert!(calm > 0, "Intensity 0.1 still plays");
    assert!(
        busy >= 2 * calm,
        "0.9 has {busy} onsets, 0.1 has {calm}: not clearly more"
    );
}

fn render_in_key(key: &str) -> (ClapInstance, Rendered) {
    let mut instance = new_instance();
    let key_id = instance.param("Key").expect("Key").id;
    let value = instance.text_to_value(key_id, key).expect("parse key");
    let event = param_event(&instance, "Key", 0, value);
    instance.activate(48_000.0, 512).expect("activate");
    let rendered = instance
        .process_blocks(282, |i, block| {
            if i == 0 {
                block.events.push(event);
            }
        })
        .expect("process");
    assert_sane(&rendered, key);
    assert!((instance.value(key_id).expect("Key") - value).abs() < 1e-4);
    assert_eq!(instance.text_by_name("Key").expect("text"), key);
    (instance, rendered)
}

#[test]
fn key_automation_in_process_transposes_the_music() {
    // Two instances, same seed and time window, one in C and one in F# (Dorian, the default
    // scale): each plays in its own key, so the pitch classes move by a tritone. The weights
    // differ (registers are fixed, so a transposed chord is voiced differently), so the test
    // checks which scale the energy falls on, not that the spectra match.
    let (mut in_c, rendered_c) = render_in_key("C");
    let (_, rendered_f_sharp) = render_in_key("F#");
    let (l, r) = rendered_c.tail(2.0);
    let chroma_c = chroma(l, r, rendered_c.sample_rate);
    let (l, r) = rendered_f_sharp.tail(2.0);
    let chroma_f_sharp = chroma(l, r, rendered_f_sharp.sample_rate);
    let shares = |chroma: &[f64; 12]| (dorian_share(chroma, 0), dorian_share(chroma, 6));
    eprintln!(
        "chroma in C:  {}\nchroma in F#: {}\nC Dorian / F# Dorian shares: {:?} and {:?}",
        format_chroma(&chroma_c),
        format_chroma(&chroma_f_sharp),
        shares(&chroma_c),
        shares(&chroma_f_sharp),
    );
    assert_ne!(
        strongest_class(&chroma_c),
        strongest_class(&chroma_f_sharp),
        "the strongest pitch class did not move with the key"
    );
    assert!(
        dorian_share(&chroma_c, 0) > 0.8,
        "C: {}",
        format_chroma(&chroma_c)
    );
    assert!(
        dorian_share(&chroma_f_sharp, 6) > 0.8,
        "F#: {}",
        format_chroma(&chroma_f_sharp)
    );
    // Two Dorian scales a tritone apart share two pitch classes, so neither render may fit the
    // other key nearly as well as its own.
    assert!(dorian_share(&chroma_c, 0) > dorian_share(&chroma_c, 6) + 0.25);
    assert!(dorian_share(&chroma_f_sharp, 6) > dorian_share(&chroma_f_sharp, 0) + 0.25);

    // Automating the key mid-stream (an event in the middle of a block) moves the music there,
    // at the next chord change: within 20 s at the default intensity.
    let key_f_sharp = param_event(&in_c, "Key", 100, 6.0);
    let changed = in_c
        .process_blocks(1_875, |i, block| {
            if i == 0 {
                block.events.push(key_f_sharp);
            }
        })
        .expect("process");
    assert_sane(&changed, "after a key change");
    assert_eq!(in_c.text_by_name("Key").expect("text"), "F#");
    let (l, r) = changed.tail(5.0);
    let chroma_changed = chroma(l, r, changed.sample_rate);
    let (in_c_share, in_f_sharp_share) = shares(&chroma_changed);
    eprintln!(
        "after C → F# mid-stream: {} (C Dorian {in_c_share:.2}, F# Dorian {in_f_sharp_share:.2})",
        format_chroma(&chroma_changed)
    );
    assert!(
        in_f_sharp_share > 0.8 && in_f_sharp_share > in_c_share,
        "after switching to F# the music is not in F# Dorian: {}",
        format_chroma(&chroma_changed)
    );
}

/// Share of the chroma on the Dorian scale starting at pitch class `tonic`.
fn dorian_share(chroma: &[f64; 12], tonic: usize) -> f64 {
    [0, 2, 3, 5, 7, 9, 10]
        .iter()
        .map(|step| chroma[(tonic + step) % 12])
        .sum()
}

#[test]
fn automation_is_read_back_and_out_of_range_values_are_contained() {
    let mut instance = new_instance();
    instance.activate(48_000.0, 512).expect("activate");
    let before = instance.render(2.0, 512).expect("process");
    let loud = rms_dbfs(before.tail(1.0).0, before.tail(1.0).1);

    // Values parsed from text, sent at different frames of one block, read back as text.
    let tempo = instance.param("Tempo").expect("Tempo").id;
    let seed = instance.param("Seed").expect("Seed").id;
    let gain = instance.param("Gain").expect("Gain").id;
    let events = [
        InEvent::ParamValue {
            time: 0,
            param: tempo,
            value: instance.text_to_value(tempo, "120").expect("parse tempo"),
        },
        InEvent::ParamValue {
            time: 10,
            param: seed,
            value: instance.text_to_value(seed, "4242").expect("parse seed"),
        },
        InEvent::ParamValue {
            time: 20,
            param: gain,
            value: instance.text_to_value(gain, "-60").expect("parse gain"),
        },
    ];
    let quiet = instance
        .process_blocks(94, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&events);
            }
        })
        .expect("process");
    assert_sane(&quiet, "gain -60 dB");
    assert_eq!(instance.text_by_name("Tempo").expect("text"), "120.0 BPM");
    assert_eq!(instance.text_by_name("Seed").expect("text"), "4242");
    assert_eq!(instance.text_by_name("Gain").expect("text"), "-60.0 dB");
    let soft = rms_dbfs(quiet.tail(0.5).0, quiet.tail(0.5).1);
    eprintln!("gain 0 dB → -60 dB: RMS {loud:.1} → {soft:.1} dBFS");
    assert!(
        loud - soft > 40.0,
        "Gain -60 dB is not audible: {loud:.1} → {soft:.1} dBFS"
    );

    // Out-of-range and non-finite automation: every value stays in range.
    let garbage = [
        param_event(&instance, "Tempo", 0, 1e9),
        param_event(&instance, "Intensity", 1, -5.0),
        param_event(&instance, "Key", 2, 99.0),
        param_event(&instance, "Gain", 3, f64::NAN),
        param_event(&instance, "Seed", 4, f64::INFINITY),
    ];
    let rendered = instance
        .process_blocks(10, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&garbage);
            }
        })
        .expect("process garbage automation");
    assert_sane(&rendered, "garbage automation");
    for p in instance.params().to_vec() {
        let value = instance.value(p.id).expect("get_value");
        assert!(p.contains(value), "{} = {value} after garbage", p.name);
    }
    assert_eq!(instance.text_by_name("Tempo").expect("text"), "180.0 BPM");
    assert_eq!(instance.text_by_name("Intensity").expect("text"), "0%");
    assert_eq!(instance.text_by_name("Key").expect("text"), "B");
    assert_eq!(
        instance.text_by_name("Gain").expect("text"),
        "-60.0 dB",
        "a NaN must be ignored"
    );
    assert_eq!(
        instance.text_by_name("Seed").expect("text"),
        "4242",
        "an infinity must be ignored"
    );

    // params.flush: on the audio thread while active, on the main thread while inactive.
    let intensity = instance.param("Intensity").expect("Intensity").id;
    let brightness = instance.param("Brightness").expect("Brightness").id;
    instance.flush(&[(intensity, 0.8)]).expect("flush (active)");
    assert_eq!(instance.text_by_name("Intensity").expect("text"), "80%");
    instance.deactivate().expect("deactivate");
    instance
        .flush(&[(brightness, 0.25)])
        .expect("flush (inactive)");
    assert_eq!(instance.text_by_name("Brightness").expect("text"), "25%");
    instance.activate(48_000.0, 512).expect("reactivate");
    let rendered = instance.render(0.5, 512).expect("process");
    assert_sane(&rendered, "after flush");
}

// ---------------------------------------------------------------------------------------------
// 4. State
// ---------------------------------------------------------------------------------------------

/// Every parameter's plain value.
fn all_values(instance: &mut ClapInstance) -> Vec<(String, f64)> {
    instance
        .params()
        .to_vec()
        .into_iter()
        .map(|p| {
            let value = instance.value(p.id).expect("get_value");
            (p.name, value)
        })
        .collect()
}

/// Non-default values for every parameter, as plain values.
fn patch(instance: &mut ClapInstance) -> Vec<(ClapId, f64)> {
    [
        ("Key", "F#"),
        ("Scale", "Lydian"),
        ("Tempo", "97.3"),
        ("Sync to Host", "Off"),
        ("Intensity", "81%"),
        ("Brightness", "23%"),
        ("Space", "37%"),
        ("Seed", "12345"),
        ("Gain", "-3.5"),
        ("MIDI Out", "All"),
    ]
    .into_iter()
    .map(|(name, text)| {
        let id = instance.param(name).expect("param").id;
        let value = instance
            .text_to_value(id, text)
            .unwrap_or_else(|e| panic!("{name} from {text:?}: {e:#}"));
        (id, value)
    })
    .collect()
}

#[test]
fn state_round_trips_into_a_fresh_instance() {
    let mut original = new_instance();
    let changes = patch(&mut original);
    original.activate(48_000.0, 512).expect("activate");
    let events: Vec<InEvent> = changes
        .iter()
        .enumerate()
        .map(|(i, &(param, value))| InEvent::ParamValue {
            time: i as u32,
            param,
            value,
        })
        .collect();
    original
        .process_blocks(4, |i, block| {
            if i == 0 {
                block.events.extend_from_slice(&events);
            }
        })
        .expect("process");
    let saved_values = all_values(&mut original);
    let defaults: Vec<f64> = original.params().iter().map(|p| p.default_value).collect();
    for ((name, value), default) in saved_values.iter().zip(&defaults) {
        assert!(
            (value - default).abs() > 1e-6,
            "{name} still at its default: the patch did not apply"
        );
    }
    let blob = original.save_state().expect("save");
    eprintln!(
        "state: {} bytes: {}",
        blob.len(),
        String::from_utf8_lossy(blob.get(8..).unwrap_or_default())
    );

    let mut restored = new_instance();
    let rescans_before = restored.param_rescans().0;
    restored
        .load_state(&blob)
        .expect("load into a fresh instance");
    let restored_values = all_values(&mut restored);
    for ((name, saved), (_, loaded)) in saved_values.iter().zip(&restored_values) {
        assert_eq!(
            saved.to_bits(),
            loaded.to_bits(),
            "{name}: saved {saved}, loaded {loaded}"
        );
    }
    assert_eq!(restored.text_by_name("Key").expect("text"), "F#");
    assert_eq!(restored.text_by_name("Tempo").expect("text"), "97.3 BPM");
    let (rescans, flags) = restored.param_rescans();
    assert!(
        rescans > rescans_before && flags.is_some_and(|f| f.contains(ParamRescanFlags::VALUES)),
        "the host was not asked to rescan values after a load ({rescans} rescans, {flags:?})"
    );
    assert_eq!(
        restored.save_state().expect("save again"),
        blob,
        "saving the restored instance gives a different blob"
    );

    restored.activate(44_100.0, 256).expect("activate restored");
    let rendered = restored.render(1.5, 256).expect("process restored");
    assert_sane(&rendered, "restored");
    let rms = rms_dbfs(rendered.tail(1.0).0, rendered.tail(1.0).1);
    assert!(rms > -50.0, "restored instance is silent: {rms:.1} dBFS");
}

/// nice-plug's CLAP state: an 8-byte little-endian length, then JSON.
fn framed(json: &[u8]) -> Vec<u8> {
    let mut blob = (json.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(json);
    blob
}

#[test]
fn corrupted_state_is_rejected_or_loaded_safely() {
    let mut instance = new_instance();
    let good = instance.save_state().expect("save");
    let length = u64::from_le_bytes(good[..8].try_into().expect("8 bytes"));
    assert_eq!(
        length as usize,
        good.len() - 8,
        "the state framing changed (length prefix + JSON); update this test's corruptions"
    );
    let json: serde_json::Value = serde_json::from_slice(&good[8..]).expect("state is JSON");
    assert!(json["params"].is_object(), "no params map in {json}");

    let with_params = |params: serde_json::Value| {
        let mut doc = json.clone();
        for (id, value) in params.as_object().expect("object") {
            doc["params"][id] = value.clone();
        }
        framed(doc.to_string().as_bytes())
    };
    let mut rng = XorShift(0x5eed_cafe);
    let random: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let mut deep = vec![b'['; 100_000];
    deep.extend(vec![b']'; 100_000]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty stream", Vec::new()),
        ("three bytes", vec![1, 2, 3]),
        ("random bytes", random.clone()),
        ("random bytes with a valid length", framed(&random)),
        ("length u64::MAX", {
            let mut b = u64::MAX.to_le_bytes().to_vec();
            b.extend_from_slice(&good[8..]);
            b
        }),
        ("length longer than the data", {
            let mut b = (1u64 << 20).to_le_bytes().to_vec();
            b.extend_from_slice(&good[8..]);
            b
        }),
        ("truncated JSON", framed(&good[8..good.len() / 2])),
        ("truncated stream", good[..good.len() / 2].to_vec()),
        ("JSON null", framed(b"null")),
        ("JSON array", framed(b"[1, 2, 3]")),
        ("JSON number", framed(b"42")),
        ("deeply nested JSON", framed(&deep)),
        (
            "invalid UTF-8",
            framed(b"{\"version\": \"\xff\xfe\", \"params\": {}}"),
        ),
        (
            "huge number",
            framed(b"{\"params\": {\"tempo\": {\"f32\": 1e999999}}}"),
        ),
        ("version is a number", {
            let mut doc = json.clone();
            doc["version"] = serde_json::json!(5);
            framed(doc.to_string().as_bytes())
        }),
        ("params is a list", {
            let mut doc = json.clone();
            doc["params"] = serde_json::json!([1, 2]);
            framed(doc.to_string().as_bytes())
        }),
        (
            "wrong value types",
            with_params(serde_json::json!({
                "tempo": {"f32": "fast"},
            })),
        ),
        (
            "mismatched variants",
            with_params(serde_json::json!({
                "tempo": {"i32": 5},
                "sync": {"f32": 1.0},
                "seed": {"bool": true},
                "key": {"string": "h#"},
                "scale": {"f32": 2.0},
                "gain": {"string": "loud"},
            })),
        ),
        (
            "out of range",
            with_params(serde_json::json!({
                "tempo": {"f32": 1e9},
                "intens": {"f32": -3.0},
                "bright": {"f32": 7.0},
                "space": {"f32": 1e39},
                "seed": {"i32": -5},
                "key": {"i32": 40},
                "scale": {"i32": -1},
                "gain": {"f32": -1e30},
            })),
        ),
        (
            "unknown ids",
            with_params(serde_json::json!({
                "future": {"f32": 0.5},
                "": {"bool": true},
            })),
        ),
    ];

    instance.activate(48_000.0, 512).expect("activate");
    instance.render(0.2, 512).expect("process");
    let mut outcomes = Vec::new();
    for (what, blob) in &cases {
        let before = all_values(&mut instance);
        let result = instance.load_state(blob);
        let after = all_values(&mut instance);
        for (p, (name, value)) in instance.params().iter().zip(&after) {
            assert!(
                p.contains(*value),
                "{what}: {name} = {value} is outside {}..={}",
                p.min_value,
                p.max_value
            );
        }
        if result.is_err() {
            assert_eq!(before, after, "{what}: a rejected state changed parameters");
        }
        let rendered = instance
            .render(0.1, 512)
            .unwrap_or_else(|e| panic!("{what}: process after the load failed: {e:#}"));
        assert_sane(&rendered, what);
        outcomes.push(format!(
            "{what}: {}",
            if result.is_ok() { "loaded" } else { "rejected" }
        ));
    }
    eprintln!("corrupted states:\n  {}", outcomes.join("\n  "));

    // The clamped case, checked value by value on a fresh instance.
    let (_, out_of_range) = cases
        .iter()
        .find(|(what, _)| *what == "out of range")
        .expect("case");
    let mut fresh = new_instance();
    fresh
        .load_state(out_of_range)
        .expect("an in-format state with wild values loads (clamped)");
    assert_eq!(fresh.text_by_name("Tempo").expect("text"), "180.0 BPM");
    assert_eq!(fresh.text_by_name("Intensity").expect("text"), "0%");
    assert_eq!(fresh.text_by_name("Brightness").expect("text"), "100%");
    assert_eq!(fresh.text_by_name("Seed").expect("text"), "0");
    assert_eq!(fresh.text_by_name("Gain").expect("text"), "-60.0 dB");
    assert_eq!(
        fresh.text_by_name("Key").expect("text"),
        "D",
        "an invalid key index must leave the key alone"
    );
    assert_eq!(fresh.text_by_name("Scale").expect("text"), "Dorian");
    fresh.activate(48_000.0, 512).expect("activate");
    let rendered = fresh.render(1.0, 512).expect("process");
    assert_sane(&rendered, "after a clamped state");
}

// ---------------------------------------------------------------------------------------------
// 5. Lifecycle (child process)
// ---------------------------------------------------------------------------------------------

const LIFECYCLE_DONE: &str = "AURALIS-LIFECYCLE-DONE";

#[test]
fn reactivation_at_other_rates_and_destroy_join_the_engine() {
    let run = run_child(
        "lifecycle_child",
        &[("AURALIS_BUNDLE_DIR", bundle_dir().as_os_str())],
        Duration::from_secs(60),
    );
    eprintln!(
        "lifecycle child: {} in {:.1} s\n{}",
        run.status,
        run.elapsed.as_secs_f64(),
        run.stdout
            .lines()
            .filter_map(|l| l.find("lifecycle:").map(|at| &l[at..]))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_child_passed(&run, LIFECYCLE_DONE);
}

#[test]
#[ignore = "runs in a child process of reactivation_at_other_rates_and_destroy_join_the_engine"]
fn lifecycle_child() {
    if !is_child(
        "lifecycle_child",
        "reactivation_at_other_rates_and_destroy_join_the_engine",
    ) {
        return;
    }
    assert_engine_threads(0, "before any instance");
    let mut instance = new_instance();
    assert_engine_threads(0, "after instantiation (the engine starts on activate)");

    let mut chroma_at = Vec::new();
    for (rate, block) in [(48_000.0, 512), (44_100.0, 256), (96_000.0, 1024)] {
        instance.activate(rate, block).expect("activate");
        assert_engine_threads(1, &format!("while active at {rate} Hz"));
        let rendered = instance.render(2.0, block).expect("process");
        assert_sane(&rendered, &format!("{rate} Hz"));
        let (l, r) = rendered.tail(1.5);
        let rms = rms_dbfs(l, r);
        let profile = chroma(l, r, rate);
        println!(
            "lifecycle: {rate} Hz / {block}: RMS {rms:.1} dBFS, strongest pitch class {}, {} \
             dropouts",
            PITCH_CLASSES[strongest_class(&profile)],
            dropouts(&rendered, 0.1, 64)
        );
        assert!(rms > -50.0, "silent after (re)activation at {rate} Hz");
        chroma_at.push((rate, profile));
        let start = Instant::now();
        instance.deactivate().expect("deactivate");
        println!(
            "lifecycle: deactivate took {:.2} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
        assert_engine_threads(0, &format!("after deactivating at {rate} Hz"));
    }
    // Same settings at any sample rate: the same pitches.
    let (_, reference) = chroma_at[0];
    for (rate, chroma) in &chroma_at[1..] {
        assert_eq!(
            best_transposition(&reference, chroma),
            0,
            "pitch at {rate} Hz differs from 48 kHz:\n{}\n{}",
            format_chroma(&reference),
            format_chroma(chroma)
        );
    }

    // Two instances own an engine each; destroying an active one joins its engine.
    let mut second = new_instance();
    instance.activate(48_000.0, 512).expect("activate");
    second.activate(48_000.0, 512).expect("activate second");
    assert_engine_threads(2, "with two active instances");
    instance.render(0.5, 512).expect("process");
    second.render(0.5, 512).expect("process second");
    let start = Instant::now();
    drop(second);
    println!(
        "lifecycle: destroying an active, processing instance took {:.2} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    assert_engine_threads(1, "after destroying one of two");
    let rendered = instance.render(0.5, 512).expect("the other keeps playing");
    assert_sane(&rendered, "survivor");
    drop(instance);
    assert_engine_threads(0, "after destroying both");
    println!("{LIFECYCLE_DONE}");
}

// ---------------------------------------------------------------------------------------------
// 6. Realtime safety of the debug build (child process)
// ---------------------------------------------------------------------------------------------

const REALTIME_DONE: &str = "AURALIS-REALTIME-DONE";

#[test]
fn debug_build_never_allocates_in_process_under_random_automation() {
    let Some(path) = std::env::var_os(DEBUG_CLAP_ENV) else {
        eprintln!(
            "SKIPPED: set {DEBUG_CLAP_ENV} to target/debug/libauralis.so (cargo xtask test does) \
             to check process() for allocations"
        );
        return;
    };
    assert!(
        PathBuf::from(&path).is_file(),
        "{DEBUG_CLAP_ENV}={} does not exist: build it with `cargo build -p auralis`",
        PathBuf::from(&path).display()
    );
    let run = run_child(
        "realtime_child",
        &[(DEBUG_CLAP_ENV, path.as_os_str())],
        Duration::from_secs(180),
    );
    eprintln!(
        "realtime child: {} in {:.1} s\n{}",
        run.status,
        run.elapsed.as_secs_f64(),
        run.stdout
            .lines()
            .filter_map(|l| l.find("realtime:").map(|at| &l[at..]))
            .collect::<Vec<_>>()
            .join("\n")
    );
    if let Some(line) = run
        .stderr
        .lines()
        .find(|l| l.contains("memory allocation of"))
    {
        panic!(
            "process() allocated on the audio thread (nice-plug's assert_process_allocs aborted \
             the child: \"{line}\"); child stderr:\n{}",
            run.stderr
        );
    }
    assert_child_passed(&run, REALTIME_DONE);
}

/// Random automation for one block: values anywhere a host could send, at random times.
fn automate(
    rng: &mut XorShift,
    params: &[ParamDescription],
    block: &mut Block,
    extra_events: &mut usize,
) {
    block.frames = match rng.below(16) {
        0 | 1 => 64,
        2 | 3 => 1024,
        4 => 1,
        _ => 64 + rng.below(961) as u32,
    };
    let frames = block.frames;
    // Now and then the transport goes wrong within a chunk too: the plugin reads it on the
    // audio thread, so absurd values must not reach an allocating path either.
    if let Some(transport) = block.transport.as_mut() {
        match rng.below(64) {
            0 => transport.tempo_bpm = 0.0,
            1 => transport.tempo_bpm = f64::NAN,
            2 => transport.tempo_bpm = -1e9,
            3 => transport.pos_beats = -transport.pos_beats - 1e6,
            4 => transport.playing = !transport.playing,
            _ => {}
        }
    }
    for _ in 0..1 + rng.below(6) {
        let p = &params[rng.below(params.len() as u64) as usize];
        let value = match rng.below(14) {
            0 => p.min_value,
            1 => p.max_value,
            2 => -1.0,
            3 => p.max_value + 7.0,
            4 => f64::NAN,
            5 => f64::INFINITY,
            6 => f64::NEG_INFINITY,
            7 => 1e12,
            8 => -1e300,
            9 => 5e-324,
            _ => p.plain(rng.unit()),
        };
        let time = rng.below(u64::from(frames)) as u32;
        block
            .events
            .push(InEvent::param_change(time, p.id, value, rng.below(10) == 0));
    }
    if rng.below(20) == 0 {
        // A parameter id the plugin never listed.
        block.events.push(InEvent::ParamValue {
            time: 0,
            param: ClapId::new(0xdead_beef),
            value: 0.5,
        });
    }
    if rng.below(4) == 0 {
        let key = rng.below(128) as u16;
        let time = rng.below(u64::from(frames)) as u32;
        block.events.push(if rng.below(2) == 0 {
            InEvent::NoteOn {
                time,
                key,
                velocity: rng.unit(),
            }
        } else {
            InEvent::NoteOff { time, key }
        });
    }
    *extra_events += block.events.len();
}

#[test]
#[ignore = "runs in a child process of debug_build_never_allocates_in_process_under_random_automation"]
fn realtime_child() {
    if !is_child(
        "realtime_child",
        "debug_build_never_allocates_in_process_under_random_automation",
    ) {
        return;
    }
    let path = std::env::var_os(DEBUG_CLAP_ENV).expect("debug build path");
    let bundle = ClapBundle::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
    let mut instance = bundle.instantiate(PLUGIN_ID).expect("instantiate");
    let params = instance.params().to_vec();
    let mut rng = XorShift(0x00a1_10c5);
    let mut events = 0;

    // Realtime mode with a playing, jumping transport: the host's normal case.
    instance.set_transport(Some(HostTransport {
        playing: true,
        tempo_bpm: 96.0,
        pos_beats: 0.0,
    }));
    instance.activate(48_000.0, 1024).expect("activate");
    let start = Instant::now();
    let mut realtime = Rendered::default();
    for chunk in 0..15 {
        let rendered = instance
            .process_blocks(200, |_, block| {
                automate(&mut rng, &params, block, &mut events)
            })
            .unwrap_or_else(|e| panic!("realtime chunk {chunk}: {e:#}"));
        realtime.extend(rendered);
        // Between chunks the host's transport jumps, stops, or changes tempo.
        instance.set_transport(match chunk % 4 {
            0 => Some(HostTransport {
                playing: true,
                tempo_bpm: 30.0 + 150.0 * rng.unit(),
                pos_beats: 64.0 * rng.unit(),
            }),
            1 => Some(HostTransport {
                playing: false,
                tempo_bpm: 120.0,
                pos_beats: 3.0,
            }),
            2 => None,
            _ => Some(HostTransport {
                playing: true,
                tempo_bpm: 999.0,
                pos_beats: -8.0,
            }),
        });
    }
    assert_sane(&realtime, "realtime under automation");
    println!(
        "realtime: {} blocks, {events} events, {:.1} s of audio in {:.1} s, process() max {:.2} \
         ms, {} dropouts",
        realtime.blocks,
        realtime.seconds(),
        start.elapsed().as_secs_f64(),
        realtime.max_process_time.as_secs_f64() * 1e3,
        dropouts(&realtime, 0.1, 64)
    );
    instance.deactivate().expect("deactivate");

    // Offline mode (a bounce) at another rate: process() waits for the engine there.
    instance
        .set_render_mode(RenderMode::Offline)
        .expect("render.set(offline)");
    instance.set_transport(None);
    instance.activate(44_100.0, 1024).expect("activate offline");
    let start = Instant::now();
    let offline = instance
        .process_blocks(500, |_, block| {
            automate(&mut rng, &params, block, &mut events)
        })
        .expect("offline");
    assert_sane(&offline, "offline under automation");
    println!(
        "realtime: offline {} blocks, {:.1} s of audio in {:.1} s",
        offline.blocks,
        offline.seconds(),
        start.elapsed().as_secs_f64()
    );
    drop(instance);
    println!("{REALTIME_DONE}");
}

// ---------------------------------------------------------------------------------------------
// The web monitor inside the plugin
// ---------------------------------------------------------------------------------------------

const MONITOR_SCENARIO: &str = "monitor_scenario_in_a_child";

/// The monitor (off by default; see the switch's unit tests), switched on by
/// `AURALIS_MONITOR_PORT` (the setting for hosts without a window), streams the plugin's own output while the host plays it. Runs in a
/// child process because the setting is read from the environment when the plugin is created.
#[test]
fn the_web_monitor_inside_the_plugin_streams_what_the_host_plays() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let port_text = std::ffi::OsString::from(port.to_string());
    let run = run_child(
        MONITOR_SCENARIO,
        &[("AURALIS_MONITOR_PORT", port_text.as_os_str())],
        Duration::from_secs(60),
    );
    assert_child_passed(&run, "monitor scenario done");
}

#[test]
#[ignore = "run by the_web_monitor_inside_the_plugin_streams_what_the_host_plays"]
fn monitor_scenario_in_a_child() {
    if !is_child(
        MONITOR_SCENARIO,
        "the_web_monitor_inside_the_plugin_streams_what_the_host_plays",
    ) {
        return;
    }
    let port: u16 = std::env::var("AURALIS_MONITOR_PORT")
        .expect("port")
        .parse()
        .expect("a port number");
    let mut instance = new_instance();
    instance.activate(48_000.0, 512).expect("activate");

    let listener = std::thread::spawn(move || {
        let stream =
            std::net::TcpStream::connect(("127.0.0.1", port)).expect("the monitor listens");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let (mut socket, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/stream"), stream)
            .expect("WebSocket handshake");
        let started = Instant::now();
        let (mut packets, mut loudest) = (0usize, 0i16);
        let mut hello = None;
        while started.elapsed() < Duration::from_secs(3) {
            match socket.read().expect("the stream keeps coming") {
                tungstenite::Message::Binary(bytes) => {
                    let (header, payload) =
                        auralis::monitor::PacketHeader::parse(&bytes).expect("a packet");
                    assert_eq!(header.sample_rate, 48_000);
                    assert_eq!(payload.len(), header.frame_count as usize * 4);
                    for pair in payload.chunks_exact(2) {
                        loudest =
                            loudest.max(i16::from_le_bytes([pair[0], pair[1]]).saturating_abs());
                    }
                    packets += 1;
                }
                tungstenite::Message::Text(text) => {
                    hello.get_or_insert_with(|| text.to_string());
                }
                _ => {}
            }
        }
        (packets, loudest, hello)
    });

    // The host plays in real time: 512-frame blocks, paced by the clock.
    let started = Instant::now();
    let mut played = 0.0;
    while !listener.is_finished() && started.elapsed() < Duration::from_secs(20) {
        let rendered = instance.render(0.05, 512).expect("process");
        played += rendered.seconds();
        let ahead = played - started.elapsed().as_secs_f64();
        if ahead > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(ahead));
        }
    }
    let (packets, loudest, hello) = listener.join().expect("the listener thread");
    println!("monitor in the plugin: {packets} packets, loudest sample {loudest}, hello {hello:?}");
    // 3 s of 20 ms packets is 150; the first second may be lost to connecting and fade-in.
    assert!(packets >= 80, "only {packets} packets in 3 s");
    assert!(
        loudest > 300,
        "the stream is silent (loudest sample {loudest})"
    );
    let hello = hello.expect("a hello message with the status");
    assert!(hello.contains("\"key\":\"D\""), "{hello}");
    drop(instance);
    println!("monitor scenario done");
}
