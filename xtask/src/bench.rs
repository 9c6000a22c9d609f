//! `cargo xtask bench [--quick]`: every benchmark, gathered into `target/bench/summary.json`.
//!
//! Each benchmark program writes a JSON object of named figures to the file in
//! `AURALIS_BENCH_OUT`; the criterion micro benchmarks leave their estimates in
//! `target/criterion`, of which the medians are taken. The summary is the union of them all.
//! The release plugin bundle is built first, because the plugin benchmark loads it the way a
//! DAW does.

use std::path::Path;
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::deps;
use crate::process::{cargo, run_in, target_dir};
use crate::tasks::xdg_runtime_dir;

/// A benchmark program that writes its own figures.
struct FigureBench {
    package: &'static str,
    name: &'static str,
}

/// Run in this order: the plugin benchmark first, because it times a realtime callback and is
/// the most sensitive to a machine still busy with the build.
const FIGURE_BENCHES: &[FigureBench] = &[
    FigureBench {
        package: "auralis-tests",
        name: "plugin",
    },
    FigureBench {
        package: "auralis",
        name: "engine",
    },
    FigureBench {
        package: "auralis",
        name: "monitor",
    },
];

/// The criterion benchmark program and the ids of its benchmarks, whose medians become
/// `micro_<id>_ns`.
const MICRO_BENCH: &str = "micro";
const MICRO_IDS: &[&str] = &[
    "cpu_block_4096_partials",
    "effects_block_256",
    "realtime_block_128",
];

/// Runs every benchmark and writes `target/bench/summary.json`.
pub fn bench(args: &[String]) -> Result<()> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => bail!("unknown option {other:?} for `cargo xtask bench` (only --quick)"),
        }
    }
    let started = Instant::now();
    deps::install_debian_packages(false)?;
    nice_plug_xtask::main_with_args(
        "cargo xtask",
        ["bundle", "auralis", "--release"].map(String::from),
    )?;
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).context("create target/bench")?;
    let cargo = cargo();
    let xdg_runtime = xdg_runtime_dir()?;
    let mut summary = Map::new();

    for bench in FIGURE_BENCHES {
        let out = dir.join(format!("{}.json", bench.name));
        // A figure left over from an earlier run must not pass for this run's.
        let _ = std::fs::remove_file(&out);
        let mut command = Command::new(&cargo);
        command
            .args(["bench", "-p", bench.package, "--bench", bench.name, "--"])
            .env("AURALIS_BENCH_OUT", &out)
            .env("AURALIS_BUNDLE_DIR", target_dir().join("bundled"))
            // Mesa warns on every device it creates without a runtime directory.
            .env("XDG_RUNTIME_DIR", &xdg_runtime);
        if quick {
            command.arg("--quick");
        }
        run_in(&mut command, &format!("benchmark {}", bench.name))?;
        summary.extend(read_object(&out)?);
    }

    let micro_started = SystemTime::now();
    let mut command = Command::new(&cargo);
    command.args(["bench", "-p", "auralis", "--bench", MICRO_BENCH, "--"]);
    if quick {
        command.args(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    run_in(
        &mut command,
        &format!("benchmark {MICRO_BENCH} (criterion)"),
    )?;
    for id in MICRO_IDS {
        let median_ns = criterion_median_ns(id, micro_started)?;
        summary.insert(format!("micro_{id}_ns"), Value::from(median_ns.round()));
    }

    let summary = serde_json::to_string_pretty(&summary)? + "\n";
    let path = dir.join("summary.json");
    std::fs::write(&path, &summary).with_context(|| format!("write {}", path.display()))?;
    eprintln!(
        "\n{summary}figures in {} ({:.0} s)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The JSON object a benchmark wrote to `path`.
fn read_object(path: &Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("the benchmark wrote no figures to {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a JSON object", path.display()))
}

/// The median time of criterion benchmark `id`, in ns, from the estimates criterion wrote after
/// `since` (older ones belong to an earlier run).
fn criterion_median_ns(id: &str, since: SystemTime) -> Result<f64> {
    let path = target_dir()
        .join("criterion")
        .join(id)
        .join("new")
        .join("estimates.json");
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| modified >= since);
    if !fresh {
        bail!(
            "criterion left no estimates for {id} in this run (expected {})",
            path.display()
        );
    }
    let estimates = read_object(&path)?;
    estimates
        .get("median")
        .and_then(|median| median.get("point_estimate"))
        .and_then(Value::as_f64)
        .with_context(|| format!("{} has no median.point_estimate", path.display()))
}
