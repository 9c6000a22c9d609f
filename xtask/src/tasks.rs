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
    // The allocation-checked build: debug assertions make nice-plug abort on any allocation
    // inside process(), which the CLAP host test drives with random automation.
    clock.time("debug build of the plugin", || {
        run(&cargo, &["build", "-p", PLUGIN_PACKAGE])
    })?;
    clock.time("release bundles", bundle_release)?;

    // The package holds the release binary and the bundles just made; its test installs it.
    let package = clock.time("Debian package and tarball", package::build)?;

    let bundled = target_dir().join("bundled");
    let debug_clap = target_dir().join("debug").join("libauralis_plugin.so");
    clock.time("cargo test --workspace (build and run)", || {
        let mut test = Command::new(&cargo);
        skip_missing_simd_paths(&mut test);
        run_in(
            test.args(["test", "--workspace"])
                .env("AURALIS_BUNDLE_DIR", &bundled)
                .env("AURALIS_BROWSER_TESTS", &browser_tests)
                // Mesa warns on every device it creates without a runtime directory.
                .env("XDG_RUNTIME_DIR", xdg_runtime_dir()?)
                .env("AURALIS_DEBUG_CLAP", &debug_clap)
                .env("AURALIS_DEB", &package.deb)
                .env("AURALIS_TARBALL", &package.tarball),
            "cargo test --workspace",
        )
    })?;

    if skip_hosts {
        eprintln!("skipping the Python VST3 hosts (--no-hosts)");
        return Ok(());
    }
    let python = clock.time("Python venv", deps::python_venv)?;
    clock.time("pytest tests/python", || {
        run_in(
            Command::new(&python)
                .args(["-m", "pytest", "-q", "tests/python"])
                .env("AURALIS_VST3", bundled.join("Auralis.vst3"))
                // The GUI test runs the standalone that `cargo test` built, under Xvfb.
                .env(
                    "AURALIS_STANDALONE",
                    target_dir().join("debug").join("auralis"),
                )
                .env("AURALIS_ARTIFACTS", target_dir().join("test-artifacts"))
                .env("XDG_RUNTIME_DIR", xdg_runtime_dir()?)
                .current_dir(workspace_root()),
            "pytest tests/python (pedalboard, DawDreamer, the GUI under Xvfb)",
        )
    })
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

/// Wall-clock time of each stage of a run, in the order they ran.
#[derive(Default)]
struct StageClock {
    stages: Vec<(&'static str, Duration, bool)>,
}

impl StageClock {
    /// Runs `stage`, remembering how long it took and whether it succeeded.
    fn time<T>(&mut self, name: &'static str, stage: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let outcome = stage();
        self.stages.push((name, started.elapsed(), outcome.is_ok()));
        outcome
    }

    fn report(&self) {
        let total: Duration = self.stages.iter().map(|(_, took, _)| *took).sum();
        eprintln!("\n==> time per stage");
        for (name, took, ok) in &self.stages {
            let mark = if *ok { "" } else { "  (failed)" };
            eprintln!("{:>8}  {name}{mark}", minutes_seconds(*took));
        }
        eprintln!("{:>8}  in all", minutes_seconds(total));
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
