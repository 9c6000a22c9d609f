//! Validation breadth for the release CLAP: every sample rate a DAW offers, block sizes from one
//! frame to 8192 and changing from block to block, parameters fuzzed every block, state that
//! reloads to the same bytes, many activation cycles, a missing or absurd transport, and
//! several instances in one process.
//!
//! Most of it renders offline (a bounce): there the plugin waits for its engine, so the audio
//! must be complete and is deterministic, which turns "no gaps" and "independent" into exact
//! comparisons with a plain render rather than thresholds on timing.

use std::time::Instant;

use auralis_tests::bundle_dir;
use auralis_tests::checks::{
    XorShift, assert_sane, dropouts, max_difference, peak, rms_after, rms_dbfs,
};
use auralis_tests::clap_host::{
    ClapBundle, ClapInstance, HostTransport, InEvent, MAX_BLOCK_FRAMES, ParamDescription, Rendered,
};
use clack_extensions::params::ParamInfoFlags;
use clack_extensions::render::RenderMode;

const PLUGIN_ID: &str = "audio.auralis.generative";
const SAMPLE_RATES: [f64; 4] = [44_100.0, 48_000.0, 96_000.0, 192_000.0];
/// Below this the plugin is effectively silent; above it an ambient patch is clipping or noise.
const MIN_RMS_DBFS: f64 = -50.0;
const MAX_RMS_DBFS: f64 = -6.0;
/// The music needs a moment to come in after an activation (fade-in, first notes' attacks).
const SETTLE_S: f64 = 0.5;
/// Two offline renders of the same music differ by no more than rounding.
const SAME_SAMPLES: f32 = 1e-6;

fn new_instance() -> ClapInstance {
    ClapBundle::load(bundle_dir().join("Auralis.clap"))
        .and_then(|bundle| bundle.instantiate(PLUGIN_ID))
        .unwrap_or_else(|err| panic!("{err:#}"))
}

/// A new instance set to render offline, active at `sample_rate` for blocks up to `max_frames`.
fn bounce_instance(sample_rate: f64, max_frames: u32) -> ClapInstance {
    let mut instance = new_instance();
    instance
        .set_render_mode(RenderMode::Offline)
        .expect("render.set(offline)");
    instance
        .activate(sample_rate, max_frames)
        .expect("activate");
    instance
}

/// Processes one block per entry of `sizes`, without events.
fn render_sizes(instance: &mut ClapInstance, sizes: &[u32]) -> Rendered {
    instance
        .process_blocks(sizes.len(), |i, block| block.frames = sizes[i])
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// A block size in 1..=`max`, log-uniform so that tiny blocks come up as often as huge ones.
fn random_block(rng: &mut XorShift, max: u32) -> u32 {
    let size = (rng.unit() * f64::from(max).ln()).exp().round() as u32;
    size.clamp(1, max)
}

/// Block sizes adding up to exactly `frames`: with `edge_cases`, first single frames in a row,
/// the largest block and sizes that are not powers of two; then random sizes up to `max`.
fn block_sizes(rng: &mut XorShift, frames: usize, max: u32, edge_cases: bool) -> Vec<u32> {
    let mut edge = [1, 1, 2, 3, max, 1, max - 1, 7, 127, 1000, 4097]
        .into_iter()
        .filter(|s| (1..=max).contains(s))
        .chain(std::iter::repeat_n(1, 2000))
        .filter(|_| edge_cases);
    let mut sizes = Vec::new();
    let mut left = frames;
    while left > 0 {
        let size = edge.next().unwrap_or_else(|| random_block(rng, max));
        let size = size.min(left as u32);
        sizes.push(size);
        left -= size as usize;
    }
    sizes
}

/// Blocks of `size` frames adding up to exactly `frames`.
fn fixed_sizes(frames: usize, size: u32) -> Vec<u32> {
    let mut sizes = vec![size; frames / size as usize];
    if !frames.is_multiple_of(size as usize) {
        sizes.push((frames % size as usize) as u32);
    }
    sizes
}

/// Largest absolute sample difference; the renders must have the same length.
fn same_length_difference(a: &Rendered, b: &Rendered) -> f32 {
    assert_eq!(a.frames(), b.frames(), "renders of different lengths");
    max_difference(a, b)
}

/// Runs of exact digital silence longer than 1 ms after the first `skip_s` seconds: at any
/// sample rate, a sounding pad never sits at 0.0 on both channels that long.
fn gaps(rendered: &Rendered, skip_s: f64) -> usize {
    dropouts(rendered, skip_s, (rendered.sample_rate / 1000.0) as usize)
}

/// Sane, audible after [`SETTLE_S`], not too loud, and without gaps after `SETTLE_S`.
fn assert_plays(rendered: &Rendered, what: &str) {
    assert_sane(rendered, what);
    let rms = rms_after(rendered, SETTLE_S);
    assert!(
        rms > MIN_RMS_DBFS,
        "{what}: silent after {SETTLE_S} s (RMS {rms:.1} dBFS)"
    );
    assert!(
        rms < MAX_RMS_DBFS,
        "{what}: too loud to be music (RMS {rms:.1} dBFS)"
    );
    let gaps = gaps(rendered, SETTLE_S);
    assert_eq!(gaps, 0, "{what}: {gaps} gaps of digital silence");
}

// ---------------------------------------------------------------------------------------------
// Sample rates and block sizes
// ---------------------------------------------------------------------------------------------

#[test]
fn every_sample_rate_and_block_size_renders_the_same_complete_audio() {
    let mut rng = XorShift(0x0b10_c5e5);
    for rate in SAMPLE_RATES {
        let frames = (1.5 * rate) as usize;
        let started = Instant::now();
        let mut plain = bounce_instance(rate, 512);
        let reference = render_sizes(&mut plain, &fixed_sizes(frames, 512));
        drop(plain);

        let sizes = block_sizes(&mut rng, frames, MAX_BLOCK_FRAMES, true);
        let mut varied = bounce_instance(rate, MAX_BLOCK_FRAMES);
        let rendered = render_sizes(&mut varied, &sizes);
        let what = format!(
            "{rate} Hz, {} blocks of 1..={MAX_BLOCK_FRAMES}",
            sizes.len()
        );
        assert_eq!(rendered.frames(), reference.frames(), "{what}: frames lost");
        assert_plays(&reference, &format!("{rate} Hz, 512-frame blocks"));
        assert_plays(&rendered, &what);
        let diff = same_length_difference(&reference, &rendered);
        eprintln!(
            "{what}: RMS {:.1} dBFS, peak {:.3}, differs from 512-frame blocks by {diff:e}; \
             {:.2} s wall",
            rms_after(&rendered, SETTLE_S),
            peak(&rendered),
            started.elapsed().as_secs_f64()
        );
        // A block boundary is only where the host looks: the music must not depend on it.
        assert!(
            diff <= SAME_SAMPLES,
            "{what}: differs from the same bounce in 512-frame blocks by {diff}"
        );
    }
}

#[test]
fn every_sample_rate_plays_through_a_host_with_one_frame_blocks() {
    // Some hosts process single frames (sample-accurate automation, feedback routing): every
    // call must be served, at any rate, without the engine falling behind by a block.
    for rate in [44_100.0, 192_000.0] {
        let mut instance = bounce_instance(rate, 1);
        let rendered = render_sizes(&mut instance, &vec![1; (SETTLE_S * rate) as usize * 2]);
        assert_plays(&rendered, &format!("{rate} Hz, one-frame blocks"));
    }
}

// ---------------------------------------------------------------------------------------------
// Parameter fuzzing
// ---------------------------------------------------------------------------------------------

/// A value a host could send for `p`: the ends of the range, 0 and 1 (a normalised value sent
/// as plain), just outside the range, non-finite, enormous, subnormal, or anywhere inside.
fn wild_value(rng: &mut XorShift, p: &ParamDescription) -> f64 {
    match rng.below(18) {
        0 => p.min_value,
        1 => p.max_value,
        2 => 0.0,
        3 => 1.0,
        4 => p.min_value - 1.0,
        5 => p.max_value + 1.0,
        6 => f64::NAN,
        7 => f64::INFINITY,
        8 => f64::NEG_INFINITY,
        9 => 1e300,
        10 => -1e300,
        11 => f64::MIN_POSITIVE / 4.0,
        12 => -0.0,
        _ => p.plain(rng.unit()),
    }
}

/// Changes to several parameters at random frames of a block of `frames` frames.
fn fuzz_events(rng: &mut XorShift, params: &[ParamDescription], frames: u32) -> Vec<InEvent> {
    (0..1 + rng.below(5))
        .map(|_| {
            let p = &params[rng.below(params.len() as u64) as usize];
            let time = rng.below(u64::from(frames)) as u32;
            let value = wild_value(rng, p);
            InEvent::param_change(time, p.id, value, rng.below(8) == 0)
        })
        .collect()
}

/// Every parameter back to its default, at the first frame of a block. A CLAP modulation
/// offset stays until the host sends another, so the fuzzer's offsets are taken back too.
fn defaults(params: &[ParamDescription]) -> Vec<InEvent> {
    params
        .iter()
        .flat_map(|p| {
            [
                InEvent::ParamMod {
                    time: 0,
                    param: p.id,
                    amount: 0.0,
                },
                InEvent::ParamValue {
                    time: 0,
                    param: p.id,
                    value: p.default_value,
                },
            ]
        })
        .collect()
}

#[test]
fn parameters_fuzzed_every_block_never_break_the_output_and_the_music_comes_back() {
    let mut rng = XorShift(0xf022_2ed0);
    let mut instance = bounce_instance(48_000.0, 2048);
    let params = instance.params().to_vec();
    let mut fuzzed = Rendered::default();
    let mut events = 0;
    for chunk in 0..8 {
        let rendered = instance
            .process_blocks(150, |_, block| {
                block.frames = random_block(&mut rng, 2048);
                block.events = fuzz_events(&mut rng, &params, block.frames);
                events += block.events.len();
            })
            .unwrap_or_else(|e| panic!("fuzz chunk {chunk}: {e:#}"));
        assert_sane(&rendered, &format!("fuzz chunk {chunk}"));
        fuzzed.extend(rendered);
        for p in &params {
            let value = instance.value(p.id).expect("get_value");
            assert!(
                p.contains(value),
                "after fuzz chunk {chunk}: {} = {value}, outside {}..={}",
                p.name,
                p.min_value,
                p.max_value
            );
        }
    }
    eprintln!(
        "fuzz: {} blocks, {events} parameter events, {:.1} s of audio, RMS {:.1} dBFS, peak \
         {:.3}, {} gaps",
        fuzzed.blocks,
        fuzzed.seconds(),
        rms_dbfs(&fuzzed.left, &fuzzed.right),
        peak(&fuzzed),
        gaps(&fuzzed, 0.0)
    );
    let gaps = gaps(&fuzzed, SETTLE_S);
    assert_eq!(gaps, 0, "{gaps} gaps of digital silence while fuzzing");

    // The fuzzing stops where a user would reset the patch: the music must come back.
    let reset = defaults(&params);
    let after = instance
        .process_blocks(200, |i, block| {
            block.frames = 512;
            if i == 0 {
                block.events.clone_from(&reset);
            }
        })
        .expect("process after fuzzing");
    assert_plays(&after, "after fuzzing, with the defaults restored");
    for p in &params {
        let value = instance.value(p.id).expect("get_value");
        assert!(
            (value - p.default_value).abs() < 1e-6,
            "{} = {value}, not back at its default {}",
            p.name,
            p.default_value
        );
    }
}

/// A host (Bitwig, for one) modulates a parameter up to the end of its range, and its automation
/// moves the parameter underneath meanwhile. When the modulation ends, the parameter must sit
/// where the automation put it. nice-plug-core 0.4.2 dropped that automation
/// (`vendor/PATCHES.md`).
#[test]
fn automation_while_modulation_pins_a_parameter_is_not_lost() {
    let mut instance = bounce_instance(48_000.0, 512);
    let mut lost = Vec::new();
    for name in ["Brightness", "Key"] {
        let p = instance.param(name).expect("param").clone();
        let automated = if p.flags.contains(ParamInfoFlags::IS_STEPPED) {
            p.plain(0.25).round()
        } else {
            p.plain(0.25)
        };
        let steps: [(&str, InEvent); 3] = [
            (
                "modulated to the top",
                InEvent::ParamMod {
                    time: 0,
                    param: p.id,
                    amount: p.max_value - p.min_value,
                },
            ),
            (
                "automated underneath",
                InEvent::ParamValue {
                    time: 0,
                    param: p.id,
                    value: automated,
                },
            ),
            (
                "modulation ended",
                InEvent::ParamMod {
                    time: 0,
                    param: p.id,
                    amount: 0.0,
                },
            ),
        ];
        let mut seen = Vec::new();
        for (what, event) in steps {
            instance
                .process_blocks(1, |_, block| block.events.push(event))
                .expect("process");
            seen.push(format!(
                "{what}: {}",
                instance.value(p.id).expect("get_value")
            ));
        }
        let value = instance.value(p.id).expect("get_value");
        if (value - automated).abs() > 1e-6 {
            lost.push(format!(
                "{name} automated to {automated}: {}",
                seen.join(", ")
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "automation was lost while modulation held the parameter at its maximum:\n{}",
        lost.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Sends every parameter a value (a wild one now and then) through `process()`.
fn randomise(rng: &mut XorShift, instance: &mut ClapInstance) {
    let params = instance.params().to_vec();
    let events: Vec<InEvent> = params
        .iter()
        .map(|p| InEvent::ParamValue {
            time: rng.below(256) as u32,
            param: p.id,
            value: if rng.below(4) == 0 {
                wild_value(rng, p)
            } else {
                p.plain(rng.unit())
            },
        })
        .collect();
    instance
        .process_blocks(2, |i, block| {
            block.frames = 256;
            if i == 0 {
                block.events.clone_from(&events);
            }
        })
        .expect("process the changes");
}

fn values_bits(instance: &mut ClapInstance) -> Vec<(String, u64)> {
    instance
        .params()
        .to_vec()
        .into_iter()
        .map(|p| {
            let value = instance.value(p.id).expect("get_value");
            (p.name, value.to_bits())
        })
        .collect()
}

#[test]
fn state_reloads_to_the_same_bytes_after_random_changes() {
    let mut rng = XorShift(0x57a7_e0b1);
    let mut source = new_instance();
    // A state is also loaded over an instance that has a patch of its own, as when a user opens
    // a project in a running session: nothing of the old patch may survive.
    let mut reused = new_instance();
    reused.activate(44_100.0, 1024).expect("activate reused");

    let untouched = source.save_state().expect("save defaults");
    let mut fresh = new_instance();
    fresh.load_state(&untouched).expect("load defaults");
    assert_eq!(
        fresh.save_state().expect("save"),
        untouched,
        "default state"
    );

    source.activate(48_000.0, 512).expect("activate");
    let mut blobs = Vec::new();
    for round in 0..12 {
        randomise(&mut rng, &mut source);
        randomise(&mut rng, &mut reused);
        let saved = source.save_state().expect("save");
        let values = values_bits(&mut source);

        let mut fresh = new_instance();
        fresh
            .load_state(&saved)
            .expect("load into a fresh instance");
        assert_eq!(
            values_bits(&mut fresh),
            values,
            "round {round}: values after load"
        );
        let resaved = fresh.save_state().expect("save the fresh instance");
        assert!(
            resaved == saved,
            "round {round}: a fresh instance saves other bytes than it loaded:\n{}\n{}",
            String::from_utf8_lossy(&saved),
            String::from_utf8_lossy(&resaved)
        );
        // A second generation: what a project saved twice over looks like.
        let mut grandchild = new_instance();
        grandchild.load_state(&resaved).expect("load again");
        assert_eq!(
            grandchild.save_state().expect("save"),
            saved,
            "round {round}"
        );

        reused.load_state(&saved).expect("load over another patch");
        assert_eq!(values_bits(&mut reused), values, "round {round}: reused");
        assert_eq!(reused.save_state().expect("save"), saved, "round {round}");
        blobs.push(saved);
    }
    blobs.dedup();
    assert!(
        blobs.len() >= 10,
        "the random changes hardly changed the state"
    );

    // Bytes are not the point in themselves: a reloaded state must sound the same.
    let last = blobs.last().expect("a state").clone();
    let bounce = |blob: &[u8]| {
        let mut instance = new_instance();
        instance.load_state(blob).expect("load");
        instance
            .set_render_mode(RenderMode::Offline)
            .expect("offline");
        instance.activate(48_000.0, 1024).expect("activate");
        instance.render(3.0, 1024).expect("process")
    };
    source.deactivate().expect("deactivate");
    source
        .set_render_mode(RenderMode::Offline)
        .expect("offline");
    source.activate(48_000.0, 1024).expect("reactivate");
    let original = source.render(3.0, 1024).expect("process");
    let restored = bounce(&last);
    assert_sane(&original, "original");
    let diff = same_length_difference(&original, &restored);
    assert!(
        diff <= SAME_SAMPLES,
        "a reloaded state sounds different (max difference {diff})"
    );
}

// ---------------------------------------------------------------------------------------------
// Activation cycles
// ---------------------------------------------------------------------------------------------

#[test]
fn many_activation_cycles_at_alternating_rates_keep_playing_and_start_over() {
    let mut rng = XorShift(0xac71_0a7e);
    let max_blocks = [512, 8192, 64, 4096, 333, 1];
    let mut instance = new_instance();
    let started = Instant::now();
    for cycle in 0..24 {
        let rate = SAMPLE_RATES[cycle % SAMPLE_RATES.len()];
        let max = max_blocks[cycle % max_blocks.len()];
        // Every third cycle runs in realtime mode, where no one waits for the engine: only
        // its output's sanity is asserted there, not its timing.
        let offline = cycle % 3 != 2;
        let mode = if offline {
            RenderMode::Offline
        } else {
            RenderMode::Realtime
        };
        instance.set_render_mode(mode).expect("render.set");
        instance.activate(rate, max).expect("activate");
        let what = format!("cycle {cycle}: {rate} Hz, blocks up to {max}, {mode:?}");
        // Hosts activate and deactivate without processing when they rebuild their graph.
        if cycle % 5 == 4 {
            instance.deactivate().expect("deactivate");
            continue;
        }
        let seconds = if max == 1 { 0.8 } else { 1.0 };
        let sizes = block_sizes(&mut rng, (seconds * rate) as usize, max, true);
        let rendered = render_sizes(&mut instance, &sizes);
        if offline {
            assert_plays(&rendered, &what);
        } else {
            assert_sane(&rendered, &what);
        }
        instance.deactivate().expect("deactivate");
    }
    eprintln!(
        "24 activation cycles in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // An activation starts the music over: after all that, the same as a new instance.
    instance
        .set_render_mode(RenderMode::Offline)
        .expect("offline");
    instance.activate(48_000.0, 1024).expect("activate");
    let cycled = instance.render(3.0, 1024).expect("process");
    let fresh = bounce_instance(48_000.0, 1024)
        .render(3.0, 1024)
        .expect("process");
    assert_plays(&cycled, "after 24 cycles");
    let diff = same_length_difference(&cycled, &fresh);
    assert!(
        diff <= SAME_SAMPLES,
        "after 24 activation cycles the bounce differs from a new instance's by {diff}"
    );
}

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

/// Changes the transport now and then the way no sane host would, or sends none at all.
fn wild_transport(rng: &mut XorShift, transport: &mut Option<HostTransport>) {
    let t = transport.get_or_insert(HostTransport {
        playing: true,
        tempo_bpm: 120.0,
        pos_beats: 0.0,
    });
    match rng.below(16) {
        0 => t.tempo_bpm = 0.0,
        1 => t.tempo_bpm = -120.0,
        2 => t.tempo_bpm = 1e9,
        3 => t.tempo_bpm = f64::NAN,
        4 => t.tempo_bpm = f64::INFINITY,
        5 => t.tempo_bpm = 1e-300,
        6 => t.tempo_bpm = 20.0 + 280.0 * rng.unit(),
        7 => t.pos_beats -= 64.0 * rng.unit(),
        8 => t.pos_beats += 1e6 * rng.unit(),
        9 => t.pos_beats = -1e12,
        10 => t.pos_beats = f64::NAN,
        11 | 12 => t.playing = !t.playing,
        13 => *transport = None,
        _ => {}
    }
}

#[test]
fn without_a_transport_or_with_an_absurd_one_the_music_plays_on() {
    let mut rng = XorShift(0x7a45_9047);
    let mut instance = bounce_instance(48_000.0, 1024);
    instance.set_transport(None);
    let sizes = block_sizes(&mut rng, 96_000, 1024, true);
    assert_plays(&render_sizes(&mut instance, &sizes), "no transport");

    let wild = instance
        .process_blocks(600, |_, block| {
            block.frames = random_block(&mut rng, 1024);
            wild_transport(&mut rng, &mut block.transport);
        })
        .expect("process with a wild transport");
    assert_sane(&wild, "wild transport");
    let rms = rms_dbfs(&wild.left, &wild.right);
    eprintln!(
        "wild transport: {} blocks, {:.1} s, RMS {rms:.1} dBFS, {} gaps",
        wild.blocks,
        wild.seconds(),
        gaps(&wild, 0.0)
    );
    assert!(
        rms > MIN_RMS_DBFS,
        "silent under a wild transport: {rms:.1}"
    );

    instance.set_transport(Some(HostTransport {
        playing: true,
        tempo_bpm: 100.0,
        pos_beats: 32.0,
    }));
    let calm = instance.render(2.0, 512).expect("process");
    assert_plays(&calm, "a sane transport after a wild one");

    // With Sync to Host off the transport means nothing: the same bounce with or without it.
    let sync = instance.param("Sync to Host").expect("Sync to Host").id;
    let unsynced = |transport: bool, rng: &mut XorShift| {
        let mut instance = new_instance();
        instance.flush(&[(sync, 0.0)]).expect("Sync off");
        instance
            .set_render_mode(RenderMode::Offline)
            .expect("offline");
        instance.activate(48_000.0, 1024).expect("activate");
        instance
            .process_blocks(120, |_, block| {
                block.frames = 800;
                if transport {
                    wild_transport(rng, &mut block.transport);
                } else {
                    block.transport = None;
                }
            })
            .expect("process")
    };
    let ignored = unsynced(true, &mut rng);
    let plain = unsynced(false, &mut rng);
    assert_plays(&ignored, "Sync off, wild transport");
    let diff = same_length_difference(&ignored, &plain);
    assert!(
        diff <= SAME_SAMPLES,
        "with Sync to Host off the transport still changes the music (by {diff})"
    );
}

// ---------------------------------------------------------------------------------------------
// Several instances
// ---------------------------------------------------------------------------------------------

/// Parameter display names and the text to set each to.
type Patch = &'static [(&'static str, &'static str)];

/// A new instance with `patch`, rendering offline at `sample_rate` in blocks up to `max_frames`.
fn patched_bounce_instance(sample_rate: f64, max_frames: u32, patch: Patch) -> ClapInstance {
    let mut instance = new_instance();
    let changes: Vec<_> = patch
        .iter()
        .map(|(name, text)| {
            let id = instance.param(name).expect("param").id;
            (id, instance.text_to_value(id, text).expect("parse"))
        })
        .collect();
    instance.flush(&changes).expect("flush the patch");
    instance
        .set_render_mode(RenderMode::Offline)
        .expect("offline");
    instance
        .activate(sample_rate, max_frames)
        .expect("activate");
    instance
}

#[test]
fn four_instances_in_one_process_play_independently() {
    // Each instance must render exactly what it renders alone, whatever the others do between
    // its blocks. Instances 0 and 3 share a patch; 3 gets random block sizes.
    let seconds = 3.0;
    let setups: [(f64, u32, Patch); 4] = [
        (48_000.0, 512, &[]),
        (44_100.0, 1024, &[("Key", "F#"), ("Seed", "99")]),
        (
            96_000.0,
            256,
            &[("Scale", "Lydian"), ("Intensity", "90%"), ("Seed", "1234")],
        ),
        (48_000.0, 2048, &[]),
    ];
    let solos: Vec<Rendered> = setups
        .iter()
        .map(|&(rate, _, patch)| {
            let mut alone = patched_bounce_instance(rate, 512, patch);
            render_sizes(&mut alone, &fixed_sizes((seconds * rate) as usize, 512))
        })
        .collect();
    let mut instances: Vec<ClapInstance> = setups
        .iter()
        .map(|&(rate, max, patch)| patched_bounce_instance(rate, max, patch))
        .collect();

    let mut rng = XorShift(0x4115_7a9c);
    let mut rendered: Vec<Rendered> = vec![Rendered::default(); 4];
    let slices = 30;
    for slice in 0..slices {
        for (i, instance) in instances.iter_mut().enumerate() {
            let (rate, max, _) = setups[i];
            let frames = (rate * seconds / slices as f64) as usize;
            let sizes = if i == 3 {
                block_sizes(&mut rng, frames, max, slice == 0)
            } else {
                fixed_sizes(frames, max)
            };
            rendered[i].extend(render_sizes(instance, &sizes));
        }
    }

    for (i, r) in rendered.iter().enumerate() {
        assert_plays(r, &format!("instance {i}"));
    }
    for (i, (solo, together)) in solos.iter().zip(&rendered).enumerate() {
        let diff = same_length_difference(solo, together);
        assert!(
            diff <= SAME_SAMPLES,
            "instance {i} differs from the same patch played alone by {diff}: the instances \
             are not independent"
        );
    }
    for (i, key, intensity) in [
        (0, "D", "45%"),
        (1, "F#", "45%"),
        (2, "D", "90%"),
        (3, "D", "45%"),
    ] {
        assert_eq!(
            instances[i].text_by_name("Key").expect("text"),
            key,
            "instance {i}"
        );
        assert_eq!(
            instances[i].text_by_name("Intensity").expect("text"),
            intensity,
            "instance {i}"
        );
    }
}
