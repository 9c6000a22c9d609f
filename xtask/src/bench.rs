//! `cargo xtask bench [--quick]`: every benchmark, gathered into `target/bench/summary.json`.
//!
//! Each benchmark program writes a JSON object of named figures to the file in
//! `AURALIS_BENCH_OUT`; the criterion micro benchmarks leave their estimates in
//! `target/criterion`, of which the medians are taken. The summary is the union of them all.
//! The release plugin bundle is built first, because the plugin benchmark loads it the way a
//! DAW does. Last, the window's CPU is measured with its piano roll scrolling
//! (`gui_cpu_pct`, see [`gui_cpu`]).

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

    summary.extend(gui_cpu(quick, &xdg_runtime)?);

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
