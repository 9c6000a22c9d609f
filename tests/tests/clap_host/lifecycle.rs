//! Lifecycle (in a child process): reactivation at other rates, and the engine workers: one per
//! active instance up to the cores, joined as instances deactivate or are destroyed.

use std::time::{Duration, Instant};

use auralis_tests::bundle_dir;
use auralis_tests::checks::{assert_sane, dropouts, rms_dbfs};
use auralis_tests::clap_host::ClapInstance;

use crate::child::{assert_child_passed, is_child, run_child};
use crate::measure::{PITCH_CLASSES, best_transposition, chroma, format_chroma, strongest_class};
use crate::{engine_workers, new_instance};

/// Waits (briefly) for the engine thread count to reach `expected`: a new thread names itself
/// a moment after it starts.
fn assert_engine_threads(expected: usize, when: &str) {
    let start = Instant::now();
    while engine_workers().len() != expected && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(engine_workers().len(), expected, "engine threads {when}");
}

/// Plays single blocks until one is not silent. This host calls `process()` back to back, far
/// faster than a sound card, so its first blocks may come before the engine has started (set
/// up its renderer, which probes for a GPU): those are silent, and the music starts from the
/// top with the first block the engine delivers. A DAW's first blocks after activation are
/// silent the same way, only paced. A watchdog fails an engine that never starts.
fn until_the_music_starts(instance: &mut ClapInstance, rate: f64, block: u32) {
    let watchdog = Instant::now() + Duration::from_secs(30);
    loop {
        let rendered = instance
            .render(f64::from(block) / rate, block)
            .expect("process");
        if rendered.left.iter().any(|&s| s != 0.0) {
            return;
        }
        assert!(
            Instant::now() < watchdog,
            "no music within 30 s of activation at {rate} Hz"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

const LIFECYCLE_DONE: &str = "AURALIS-LIFECYCLE-DONE";

#[test]
fn reactivation_at_other_rates_and_destroy_join_the_engine() {
    let run = run_child(
        "lifecycle::lifecycle_child",
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
        "lifecycle::lifecycle_child",
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
        until_the_music_starts(&mut instance, rate, block);
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

    // Two active instances share the pool's workers, no more than the cores; destroying one
    // leaves no more workers than engines.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut second = new_instance();
    instance.activate(48_000.0, 512).expect("activate");
    second.activate(48_000.0, 512).expect("activate second");
    assert_engine_threads(2.min(cores), "with two active instances");
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
