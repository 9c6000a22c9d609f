//! The two commands of the README, `demo` and `test`, as sequences of steps.

use std::process::Command;

use anyhow::{Context, Result};

use crate::deps;
use crate::process::{cargo, run, run_in, target_dir, workspace_root};

/// The main job: build the standalone and render a demo of the default patch.
pub fn demo(args: &[String]) -> Result<()> {
    deps::install_debian_packages()?;
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .unwrap_or("30");
    let cargo = cargo();
    run(&cargo, &["build", "--release", "-p", "auralis-standalone"])?;
    let out = target_dir().join("demo").join("auralis-demo.wav");
    std::fs::create_dir_all(out.parent().context("demo dir")?)?;
    let binary = target_dir().join("release").join("auralis");
    run_in(
        Command::new(&binary).args([
            "render",
            "--seconds",
            seconds,
            "--out",
            out.to_str().context("path")?,
        ]),
        "auralis render",
    )?;
    eprintln!("\nAuralis demo: {}", out.display());
    Ok(())
}

/// Everything CI checks, in the order that fails fastest.
pub fn test(args: &[String]) -> Result<()> {
    let skip_hosts = args.iter().any(|a| a == "--no-hosts");
    deps::install_debian_packages()?;
    let cargo = cargo();
    run(&cargo, &["fmt", "--all", "--check"])?;
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
    )?;
    // The allocation-checked build: debug assertions make nice-plug abort on any allocation
    // inside process(), which the CLAP host test drives with random automation.
    run(&cargo, &["build", "-p", "auralis"])?;
    nice_plug_xtask::main_with_args(
        "cargo xtask",
        ["bundle", "auralis", "--release"].map(String::from),
    )?;

    let bundled = target_dir().join("bundled");
    let debug_clap = target_dir().join("debug").join("libauralis.so");
    run_in(
        Command::new(&cargo)
            .args(["test", "--workspace"])
            .env("AURALIS_BUNDLE_DIR", &bundled)
            .env("AURALIS_DEBUG_CLAP", &debug_clap),
        "cargo test --workspace",
    )?;

    if skip_hosts {
        eprintln!("skipping the Python VST3 hosts (--no-hosts)");
        return Ok(());
    }
    let python = deps::python_venv()?;
    run_in(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "tests/python"])
            .env("AURALIS_VST3", bundled.join("Auralis.vst3"))
            .current_dir(workspace_root()),
        "pytest tests/python (pedalboard, DawDreamer)",
    )
}
