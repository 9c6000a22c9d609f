//! The two commands of the README, `demo` and `test`, as sequences of steps.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::deps;
use crate::package;
use crate::process::{cargo, run, run_in, target_dir, workspace_root};

/// The main job: build the standalone and start `auralis serve`, which prints the URL of the
/// web monitor and plays until Ctrl-C. Any flags are handed to `serve` (`--port`, `--preset`,
/// musical flags; see `auralis serve --help`).
pub fn demo(args: &[String]) -> Result<()> {
    deps::install_debian_packages(false)?;
    let cargo = cargo();
    run(&cargo, &["build", "--release", "-p", "auralis-standalone"])?;
    let binary = target_dir().join("release").join("auralis");
    eprintln!(
        "\nstarting Auralis; open the URL below in a browser and press Play (Ctrl-C stops)\n"
    );
    let mut serve = Command::new(&binary);
    serve.arg("serve").args(args);
    // Without a runtime directory Mesa complains on every GPU probe of `--renderer auto`.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        serve.env("XDG_RUNTIME_DIR", xdg_runtime_dir()?);
    }
    run_in(&mut serve, "auralis serve")
}

/// Everything CI checks, in the order that fails fastest. At the end, passed or not, a table
/// of how long each stage took, so a slow run shows where its time went.
pub fn test(args: &[String]) -> Result<()> {
    let mut clock = StageClock::default();
    let outcome = test_stages(args, &mut clock);
    clock.report();
    outcome
}

fn test_stages(args: &[String], clock: &mut StageClock) -> Result<()> {
    let skip_hosts = args.iter().any(|a| a == "--no-hosts");
    let browser_tests = clock.time("Debian, browser and npm packages", || {
        deps::install_debian_packages(true)?;
        deps::browser_test_packages()
    })?;
    let cargo = cargo();
    clock.time("cargo fmt --check", || {
        run(&cargo, &["fmt", "--all", "--check"])
    })?;
    clock.time("cargo clippy", || {
        run(
            &cargo,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        )
    })?;
    // Every test is built first, so a compile error fails the run before anything plays. The
    // same build makes the allocation-checked plugin: debug assertions make nice-plug abort on
    // any allocation inside process(), which the CLAP host test drives with random automation.
    // One build with the workspace's features for both: built on its own (`-p`), the plugin's
    // features unify differently and the engine and nice-plug compiled twice more in debug.
    clock.time("debug build: the plugin and every test", || {
        run(
            &cargo,
            &[
                "build",
                "--workspace",
                "--lib",
                "--bins",
                "--tests",
                "--examples",
            ],
        )
    })?;
    clock.time("release bundles", bundle_release)?;

    // The package holds the release binary and the bundles just made; its test installs it.
    let package = clock.time("Debian package and tarball", package::build)?;

    let bundled = target_dir().join("bundled");
    let debug_clap = target_dir().join("debug").join("libauralis_plugin.so");
    let test_env = TestEnv {
        bundled: bundled.clone(),
        browser_tests,
        debug_clap,
        deb: package.deb,
        tarball: package.tarball,
    };
    let python = if skip_hosts {
        eprintln!("skipping the Python VST3 hosts and the window (--no-hosts)");
        None
    } else {
        Some(clock.time("Python venv", deps::python_venv)?)
    };
    // The tests that wait on real time, or on the music, run beside the rest rather than
    // after it: the real-time tests (soak, Icecast), and the window's tests, which watch the
    // music scroll by in a software-rasterised window and use about a third of the two cores.
    let realtime = clock.time("start the real-time tests beside the rest", || {
        let mut command = test_env.command()?;
        command
            .args(["test", "--workspace"])
            .args(REALTIME_TESTS.iter().flat_map(|name| ["--test", name]));
        Beside::start(command, "realtime-tests.log")
    })?;
    let window = match &python {
        Some(python) => Some(clock.time("start the window's tests beside the rest", || {
            Beside::start(
                pytest_command(python, &bundled, Build::Debug, &[GUI_TESTS])?,
                "window-tests.log",
            )
        })?),
        None => None,
    };
    // Always the whole workspace, narrowed by target: selecting packages would change how
    // their dependencies' features unify and so rebuild them.
    let rest = clock.time("cargo test: every other test", || {
        run_in(
            test_env
                .command()?
                .args(["test", "--workspace", "--lib", "--bins", "--examples"])
                .args(other_test_targets()?),
            "cargo test --workspace (but the real-time tests)",
        )?;
        run_in(
            test_env.command()?.args(["test", "--workspace", "--doc"]),
            "cargo test --workspace --doc",
        )
    });
    let hosts = match (&rest, &python) {
        (Ok(()), Some(python)) => clock.time("pytest tests/python, but the window", || {
            run_in(
                &mut pytest_command(
                    python,
                    &bundled,
                    Build::Release,
                    &["--ignore", GUI_TESTS, "tests/python"],
                )?,
                "pytest tests/python, but the window",
            )
        }),
        _ => Ok(()),
    };
    // Waited for whatever happened before, so their output still says how they went.
    let realtime = clock.beside("the real-time tests (soak, Icecast)", || realtime.finish());
    let window = match window {
        Some(window) => clock.beside("the window's tests under Xvfb", || window.finish()),
        None => Ok(()),
    };
    rest.and(hosts).and(realtime).and(window)
}

/// The test targets that spend their time waiting on real time, not on the CPU: an hour's
/// worth of listeners squeezed into a minute, a real Icecast server with its listeners.
/// Together about two and a half minutes of a run, which would otherwise be added to the rest.
const REALTIME_TESTS: &[&str] = &["soak", "icecast"];

/// The environment every test run gets: where the bundles, the debug plugin and the package
/// are, which browser tests can run.
struct TestEnv {
    bundled: std::path::PathBuf,
    browser_tests: std::path::PathBuf,
    debug_clap: std::path::PathBuf,
    deb: std::path::PathBuf,
    tarball: std::path::PathBuf,
}

impl TestEnv {
    /// `cargo` with the environment set; the caller adds the arguments.
    fn command(&self) -> Result<Command> {
        let mut test = Command::new(cargo());
        skip_missing_simd_paths(&mut test);
        test.env("AURALIS_BUNDLE_DIR", &self.bundled)
            .env("AURALIS_BROWSER_TESTS", &self.browser_tests)
            // Mesa warns on every device it creates without a runtime directory.
            .env("XDG_RUNTIME_DIR", xdg_runtime_dir()?)
            .env("AURALIS_DEBUG_CLAP", &self.debug_clap)
            .env("AURALIS_DEB", &self.deb)
            .env("AURALIS_TARBALL", &self.tarball)
            .current_dir(workspace_root());
        Ok(test)
    }
}

/// Tests running in the background with their output kept in a log under
/// `target/test-logs`, which is printed when they end.
struct Beside {
    child: std::process::Child,
    log: std::path::PathBuf,
    label: String,
    started: Instant,
}

impl Beside {
    /// Starts `command` with its output going to `log_name`.
    fn start(mut command: Command, log_name: &str) -> Result<Self> {
        let dir = target_dir().join("test-logs");
        std::fs::create_dir_all(&dir).context("create target/test-logs")?;
        let log = dir.join(log_name);
        let out =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        command.stdout(out.try_clone()?).stderr(out);
        let label = format!(
            "{} {}",
            command.get_program().to_string_lossy(),
            command
                .get_args()
                .map(|arg| arg.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        eprintln!(
            "\n==> {label} (in the background; output in {})",
            log.display()
        );
        let child = command
            .spawn()
            .with_context(|| format!("could not start {label}"))?;
        Ok(Self {
            child,
            log,
            label,
            started: Instant::now(),
        })
    }

    /// Waits for them, prints their output, and fails if they did.
    fn finish(mut self) -> Result<()> {
        let status = self
            .child
            .wait()
            .with_context(|| format!("wait for {}", self.label))?;
        let output = std::fs::read_to_string(&self.log).unwrap_or_default();
        eprintln!(
            "\n==> {}, which ran beside the others (started {} ago)\n{output}",
            self.label,
            minutes_seconds(self.started.elapsed())
        );
        if !status.success() {
            anyhow::bail!("{} failed ({status}); its output is above", self.label);
        }
        Ok(())
    }
}

/// Every integration test target of the workspace but [`REALTIME_TESTS`], as `cargo test`
/// arguments, from `cargo metadata`: a test file added later is run without being listed here.
fn other_test_targets() -> Result<Vec<String>> {
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .context("cargo metadata")?;
    anyhow::ensure!(output.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata's JSON")?;
    let packages = metadata["packages"]
        .as_array()
        .context("no packages in cargo metadata")?;
    let mut args = Vec::new();
    for target in packages
        .iter()
        .filter_map(|package| package["targets"].as_array())
        .flatten()
    {
        let is_test = target["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "test"));
        let name = target["name"].as_str().unwrap_or_default();
        if is_test && !REALTIME_TESTS.contains(&name) {
            args.extend(["--test".to_owned(), name.to_owned()]);
        }
    }
    Ok(args)
}

/// The window's tests, run beside the others.
const GUI_TESTS: &str = "tests/python/test_gui.py";

/// Which `auralis` binary a pytest run gets.
#[derive(Clone, Copy)]
enum Build {
    /// What ships, as the hosts load the release bundles: the renders the Python tests
    /// measure (90 s of every mood, twice, for the ambience figures) are the same audio in any
    /// build, and took 66 s in the debug build one at a time, 24 s in release two at a time.
    Release,
    /// The window's tests: the debug build aborts on an allocation on its audio thread while
    /// the window plays.
    Debug,
}

/// pytest with `args` and the hosts' environment.
fn pytest_command(
    python: &std::path::Path,
    bundled: &std::path::Path,
    build: Build,
    args: &[&str],
) -> Result<Command> {
    let profile = match build {
        Build::Release => "release",
        Build::Debug => "debug",
    };
    let mut command = Command::new(python);
    command
        .args(["-m", "pytest", "-q", "--durations=10"])
        .args(args)
        .env("AURALIS_VST3", bundled.join("Auralis.vst3"))
        .env(
            "AURALIS_STANDALONE",
            target_dir().join(profile).join("auralis"),
        )
        .env("AURALIS_ARTIFACTS", target_dir().join("test-artifacts"))
        .env("XDG_RUNTIME_DIR", xdg_runtime_dir()?)
        .current_dir(workspace_root());
    Ok(command)
}

/// The CPU renderer's SIMD paths are compared bit for bit with the portable one, which a CPU
/// without the instructions cannot do: the test then fails unless its skip is asked for by
/// name. Here, where the CPU is known, the skip is asked for and said, so a missing comparison
/// is visible in the log rather than silent.
fn skip_missing_simd_paths(test: &mut Command) {
    #[cfg(target_arch = "x86_64")]
    for (present, name, env) in [
        (
            std::arch::is_x86_feature_detected!("avx"),
            "AVX",
            "AURALIS_SKIP_AVX_TEST",
        ),
        (
            std::arch::is_x86_feature_detected!("avx512f"),
            "AVX-512",
            "AURALIS_SKIP_AVX512_TEST",
        ),
    ] {
        if !present {
            eprintln!(
                "this CPU has no {name}: the CPU renderer's {name} path is not compared with \
                 the portable one in this run ({env}=1)"
            );
            test.env(env, "1");
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = test;
}

/// Wall-clock time of each stage of a run, in the order they ran, and of the work that ran
/// beside them.
struct StageClock {
    started: Instant,
    stages: Vec<(&'static str, Duration, bool)>,
    /// Background work, timed from its start to when it was waited for: not added to the
    /// total, which is the run's wall-clock time.
    beside: Vec<(&'static str, Duration, bool)>,
}

impl Default for StageClock {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            stages: Vec::new(),
            beside: Vec::new(),
        }
    }
}

impl StageClock {
    /// Runs `stage`, remembering how long it took and whether it succeeded.
    fn time<T>(&mut self, name: &'static str, stage: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let outcome = stage();
        self.stages.push((name, started.elapsed(), outcome.is_ok()));
        outcome
    }

    /// Waits for background work with `wait`, which returns how long it ran.
    fn beside(&mut self, name: &'static str, wait: impl FnOnce() -> Result<()>) -> Result<()> {
        let waited = Instant::now();
        let outcome = wait();
        self.beside.push((name, waited.elapsed(), outcome.is_ok()));
        outcome
    }

    fn report(&self) {
        eprintln!("\n==> time per stage");
        for (name, took, ok) in &self.stages {
            let mark = if *ok { "" } else { "  (failed)" };
            eprintln!("{:>8}  {name}{mark}", minutes_seconds(*took));
        }
        for (name, waited, ok) in &self.beside {
            let mark = if *ok { "" } else { "  (failed)" };
            eprintln!(
                "{:>8}  waited at the end for {name}{mark}",
                minutes_seconds(*waited)
            );
        }
        eprintln!(
            "{:>8}  in all (wall clock)",
            minutes_seconds(self.started.elapsed())
        );
    }
}

fn minutes_seconds(took: Duration) -> String {
    let seconds = took.as_secs();
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The package whose shared object the bundles hold.
pub const PLUGIN_PACKAGE: &str = "auralis-plugin";

/// `cargo xtask bundle …` (`args` from `bundle` on): nice-plug's bundler, then the factory
/// presets as `.vstpreset` files into the VST3 bundle, from the plugin's own preset table.
pub fn bundle(args: &[String]) -> Result<()> {
    nice_plug_xtask::main_with_args("cargo xtask", args.iter().cloned())?;
    if args.iter().any(|a| a == PLUGIN_PACKAGE) {
        let release = args.iter().any(|a| a == "--release");
        let mut command = Command::new(cargo());
        command.args([
            "run",
            "--quiet",
            "-p",
            "auralis",
            "--bin",
            "auralis-vst3-presets",
        ]);
        if release {
            command.arg("--release");
        }
        command
            .arg("--")
            .arg(target_dir().join("bundled").join("Auralis.vst3"));
        run_in(&mut command, "writing the VST3 factory presets")?;
    }
    Ok(())
}

/// The release bundles, as the tests, the benchmarks and the package use them.
pub fn bundle_release() -> Result<()> {
    bundle(&["bundle", PLUGIN_PACKAGE, "--release"].map(String::from))
}

/// A private runtime directory for Mesa's drivers (GPU tests, and the demo on a bare server).
pub fn xdg_runtime_dir() -> Result<std::path::PathBuf> {
    let dir = target_dir().join("xdg-runtime");
    std::fs::create_dir_all(&dir).context("create target/xdg-runtime")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}
