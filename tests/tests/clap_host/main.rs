//! Auralis in a real CLAP host: the release bundle loaded through `clack-host`, activated,
//! processed, automated, saved and restored, reactivated and destroyed; and the debug build
//! driven with random automation under nice-plug's allocation checker.
//!
//! One test binary, one module per subject. Four scenarios run in a child process (this test
//! binary re-executed with `--exact`, see [`child`]): the allocation check, because an
//! allocation in `process()` aborts the whole process; the lifecycle, because it counts the
//! process's engine threads and needs no other test's engines around; the starved engine, for
//! the same reason, since it starves the process-wide engine workers; and the web monitor
//! inside the plugin, because the plugin reads its port from the environment. The parent turns
//! a crash, an abort or a hang (watchdog) into a clear failure.

mod audio;
mod bundle;
mod child;
mod follow;
mod key;
mod lifecycle;
mod measure;
mod midi;
mod monitor;
mod params;
mod presets;
mod realtime;
mod starved;
mod state;

use std::path::PathBuf;

use auralis_tests::bundle_dir;
use auralis_tests::clap_host::{ClapBundle, ClapInstance, InEvent};

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

/// Thread ids of this process's engine workers, which the plugin names `auralis-engine`.
fn engine_workers() -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            (name.trim() == "auralis-engine")
                .then(|| task.file_name().to_str()?.parse().ok())
                .flatten()
        })
        .collect()
}

fn param_event(instance: &ClapInstance, name: &str, time: u32, value: f64) -> InEvent {
    let param = instance.param(name).unwrap_or_else(|e| panic!("{e:#}")).id;
    InEvent::ParamValue { time, param, value }
}
