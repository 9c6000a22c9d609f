//! Realtime safety of the debug build (in a child process): random automation, note input
//! and absurd transports never make process() allocate, realtime or offline.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use auralis_tests::checks::{XorShift, assert_sane, dropouts};
use auralis_tests::clap_host::{
    Block, ClapBundle, HostTransport, InEvent, ParamDescription, Rendered,
};
use clack_extensions::render::RenderMode;
use clack_host::utils::ClapId;

use crate::child::{assert_child_passed, is_child, run_child};
use crate::{DEBUG_CLAP_ENV, PLUGIN_ID};

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
        "{DEBUG_CLAP_ENV}={} does not exist: build it with `cargo build -p auralis-plugin`",
        PathBuf::from(&path).display()
    );
    let run = run_child(
        "realtime::realtime_child",
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
        "realtime::realtime_child",
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
