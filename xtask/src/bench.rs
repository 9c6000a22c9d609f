//! `cargo xtask bench [--quick]`: every benchmark, gathered into `target/bench/summary.json`.
//!
//! Each benchmark program writes a JSON object of named figures to the file in
//! `AURALIS_BENCH_OUT`; the criterion micro benchmarks leave their estimates in
//! `target/criterion`, of which the medians are taken. The summary is the union of them all,
//! with the machine they were measured on (`cpu_model`, `cpu_cores`) and `goals`: each goal's
//! figure, its bound and whether this run met it ([`GOALS`]), also printed as a table. The
//! release plugin bundle is built first, because the plugin benchmark loads it the way a DAW
//! does, and so is the bench-only gain plugin it is compared with. Last, the window's CPU is
//! measured with its piano roll scrolling (`gui_cpu_pct`, see [`gui_cpu`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

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
    FigureBench {
        package: "auralis-standalone",
        name: "control",
    },
];

/// A goal: the figure, the bound, and which side of it is good.
struct Goal {
    key: &'static str,
    bound: f64,
    at_least: bool,
}

const fn at_least(key: &'static str, bound: f64) -> Goal {
    Goal {
        key,
        bound,
        at_least: true,
    }
}

const fn at_most(key: &'static str, bound: f64) -> Goal {
    Goal {
        key,
        bound,
        at_least: false,
    }
}

/// Every speed goal, each a ratio against a limit measured in the same run (this machine's
/// roof, its floor, a peer plugin, fundsp, real time) or a share of one core, so that a goal
/// is met or missed by the code rather than by the machine.
const GOALS: &[Goal] = &[
    at_least("cpu_partials_roof_pct", 60.0),
    at_least("partials_vs_fundsp", 20.0),
    at_least("cpu_realtime_factor", 50.0),
    at_most("callback_p999_over_floor", 2.0),
    at_most("callback_p999_over_gain_plugin", 1.5),
    at_most("callback_silent_blocks", 0.0),
    at_least("instances_realtime", 64.0),
    at_most("monitor_listeners_cpu_pct", 10.0),
    at_most("monitor_latency_ms", 150.0),
    at_most("gui_cpu_pct", 5.0),
    at_most("plugin_instantiate_ms", 50.0),
    at_most("serve_control_latency_ms", 100.0),
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
    let (mut quick, mut gui_only) = (false, false);
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            // The window's figure alone, while working on the editor.
            "--gui" => gui_only = true,
            other => bail!("unknown option {other:?} for `cargo xtask bench` (--quick, --gui)"),
        }
    }
    if gui_only {
        deps::install_debian_packages(true)?;
        let figures = gui_cpu(quick, &xdg_runtime_dir()?)?;
        eprintln!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    let started = Instant::now();
    // The window's benchmark draws on Xvfb, one of the test packages.
    deps::install_debian_packages(true)?;
    crate::tasks::bundle_release()?;
    run_in(
        Command::new(cargo()).args(["build", "--release", "-p", "auralis-bench-gain"]),
        "build the gain plugin the callback is compared with",
    )?;
    // On Linux a CLAP plugin is one shared object; the host loads it as it is.
    let gain_plugin = target_dir()
        .join("release")
        .join("libauralis_bench_gain.so");
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
            .env("AURALIS_GAIN_PLUGIN", &gain_plugin)
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

    summary.extend(gui_cpu(quick, &xdg_runtime)?);

    summary.insert("cpu_model".into(), cpu_model().into());
    summary.insert(
        "cpu_cores".into(),
        std::thread::available_parallelism()
            .map_or(0, usize::from)
            .into(),
    );
    let (goals, table) = check_goals(&summary);
    summary.insert("goals".into(), Value::Object(goals));

    let text = serde_json::to_string_pretty(&summary)? + "\n";
    let path = dir.join("summary.json");
    std::fs::write(&path, &text).with_context(|| format!("write {}", path.display()))?;
    eprintln!(
        "\n{text}\n{table}figures in {} ({:.0} s)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Each goal of [`GOALS`] against `summary`: the `goals` object (key → figure, goal, met) and
/// the same as a table for the terminal. A figure the run did not produce is "not measured",
/// which is not met.
fn check_goals(summary: &Map<String, Value>) -> (Map<String, Value>, String) {
    let mut goals = Map::new();
    let mut table = format!(
        "goals on {}\n{:<34} {:>12} {:>10}  met\n",
        cpu_model(),
        "figure",
        "measured",
        "goal"
    );
    for goal in GOALS {
        let value = summary.get(goal.key).and_then(Value::as_f64);
        let met = value.is_some_and(|v| {
            if goal.at_least {
                v >= goal.bound
            } else {
                v <= goal.bound
            }
        });
        let bound = format!("{} {}", if goal.at_least { "≥" } else { "≤" }, goal.bound);
        let mut entry = Map::new();
        entry.insert("goal".into(), bound.clone().into());
        entry.insert("value".into(), value.map_or(Value::Null, Value::from));
        entry.insert("met".into(), met.into());
        goals.insert(goal.key.into(), Value::Object(entry));
        let shown = value.map_or_else(|| "not measured".into(), |v| format!("{v}"));
        let mark = if met { "yes" } else { "NO" };
        table += &format!("{:<34} {shown:>12} {bound:>10}  {mark}\n", goal.key);
    }
    (goals, table)
}

/// The CPU's model name from `/proc/cpuinfo`, which every figure is measured on, with its
/// family and model numbers: a virtual machine may show only "AMD EPYC", which names no
/// generation.
fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_owned())
    };
    match (field("model name"), field("cpu family"), field("model")) {
        (Some(name), Some(family), Some(model)) => {
            format!("{name} (family {family}, model {model})")
        }
        (Some(name), ..) => name,
        _ => "unknown CPU".into(),
    }
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

/// The window's CPU while its piano roll scrolls at 60 frames per second: `gui_cpu_pct` (% of
/// one core) and the frame rate it ran at, `gui_fps`.
///
/// The release standalone plays the default patch on the dummy audio backend, its window on
/// Xvfb, drawn by Mesa's software OpenGL (llvmpipe) as on a machine without a GPU. The window
/// draws at every other vblank of the X Present extension, so the virtual screen runs at
/// 120 Hz for 60 frames per second. Counted: the thread that draws the window (the editor's
/// probe names it) and llvmpipe's rasterising threads; not the engine or the audio thread.
fn gui_cpu(quick: bool, xdg_runtime: &Path) -> Result<Map<String, Value>> {
    let cargo = cargo();
    run_in(
        Command::new(&cargo).args(["build", "--release", "-p", "auralis-standalone"]),
        "build the release standalone for the window's benchmark",
    )?;
    let dir = target_dir().join("bench").join("gui");
    std::fs::create_dir_all(&dir).context("create target/bench/gui")?;
    let number = (90..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .context("no free X display number in :90..:199")?;
    let display = format!(":{number}");
    let server = Command::new("Xvfb")
        .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .args(["-noreset", "-fakescreenfps", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start Xvfb for the window's benchmark")?;
    let server = Reaped(server);
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
    wait_until("Xvfb to start", Duration::from_secs(15), || {
        Ok(socket.exists().then_some(()))
    })?;

    let probe = dir.join("probe.json");
    let _ = std::fs::remove_file(&probe);
    let app = Command::new(target_dir().join("release").join("auralis"))
        .args(["run", "--backend", "dummy"])
        .env("DISPLAY", &display)
        .env("AURALIS_RENDERER", "cpu")
        .env("AURALIS_GUI_PROBE", &probe)
        .env("XDG_RUNTIME_DIR", xdg_runtime)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start auralis run for the window's benchmark")?;
    let app = Reaped(app);
    let pid = app.0.id();
    let report = || -> Result<Option<Map<String, Value>>> {
        Ok(std::fs::read_to_string(&probe)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok()))
    };
    let frames = |report: &Map<String, Value>| report.get("frames").and_then(Value::as_u64);
    let first = wait_until("the window to draw", Duration::from_secs(60), || {
        Ok(report()?.filter(|r| frames(r).is_some_and(|f| f > 120)))
    })?;
    let thread = first
        .get("thread")
        .and_then(Value::as_u64)
        .context("the editor's probe names no drawing thread")?;
    // Settle: the roll fills with notes, the first second's font atlas uploads are done.
    std::thread::sleep(Duration::from_secs(3));

    let seconds = if quick { 4.0 } else { 15.0 };
    let (ticks_before, frames_before) = (gui_ticks(pid, thread)?, probe_frames(&report()?)?);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    // The probe is written twice a second: wait for the next report to count frames.
    std::thread::sleep(Duration::from_millis(600));
    let (ticks_after, frames_after) = (gui_ticks(pid, thread)?, probe_frames(&report()?)?);
    let elapsed = started.elapsed().as_secs_f64();
    drop(app);
    drop(server);

    let ticks_per_second = clock_ticks_per_second()?;
    let cpu_pct = 100.0 * (ticks_after - ticks_before) as f64 / ticks_per_second / elapsed;
    let fps = (frames_after.saturating_sub(frames_before)) as f64 / elapsed;
    eprintln!("the window: {cpu_pct:.1} % of a core at {fps:.1} frames/s");
    let mut figures = Map::new();
    figures.insert(
        "gui_cpu_pct".into(),
        Value::from((cpu_pct * 10.0).round() / 10.0),
    );
    figures.insert("gui_fps".into(), Value::from((fps * 10.0).round() / 10.0));
    Ok(figures)
}

/// A child process killed and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `probe` every 100 ms until it gives a value or `limit` passes.
fn wait_until<T>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn probe_frames(report: &Option<Map<String, Value>>) -> Result<u64> {
    report
        .as_ref()
        .and_then(|r| r.get("frames"))
        .and_then(Value::as_u64)
        .context("the editor's probe file has no frame count")
}

/// CPU time (user + system, in clock ticks) of the drawing thread and llvmpipe's threads.
fn gui_ticks(pid: u32, drawing_thread: u64) -> Result<u64> {
    let tasks = PathBuf::from(format!("/proc/{pid}/task"));
    let mut total = 0;
    for entry in std::fs::read_dir(&tasks).with_context(|| format!("read {}", tasks.display()))? {
        let task = entry?.path();
        let id: u64 = task
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if id != drawing_thread && !name.starts_with("llvmpipe") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
            continue; // The thread ended meanwhile.
        };
        // Fields after the name in brackets (which may hold spaces): state is the 3rd field,
        // utime the 14th and stime the 15th.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        total += field(14).unwrap_or(0) + field(15).unwrap_or(0);
    }
    Ok(total)
}

/// The kernel's clock ticks per second for /proc CPU times.
fn clock_ticks_per_second() -> Result<f64> {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("run getconf CLK_TCK")?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .context("getconf CLK_TCK printed no number")
}
