//! Running commands with the workspace as the working directory, failing loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Prints and runs `program args…` in the workspace root; an unsuccessful exit is an error.
pub fn run(program: &str, args: &[&str]) -> Result<()> {
    run_in(
        Command::new(program).args(args),
        &format!("{program} {}", args.join(" ")),
    )
}

/// Runs a prepared command (in the workspace root unless it names a directory); an unsuccessful
/// exit is an error.
pub fn run_in(command: &mut Command, label: &str) -> Result<()> {
    eprintln!("\n==> {label}");
    if command.get_current_dir().is_none() {
        command.current_dir(workspace_root());
    }
    let status = command
        .status()
        .with_context(|| format!("could not start `{label}`"))?;
    if !status.success() {
        bail!("`{label}` failed ({status})");
    }
    Ok(())
}

/// The `cargo` that runs this xtask.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Installs the Cargo subcommand `cargo <subcommand>` from crates.io (`package`, at the versions
/// its lock file names) unless it already runs.
pub fn ensure_cargo_subcommand(subcommand: &str, package: &str) -> Result<()> {
    let cargo = cargo();
    let installed = Command::new(&cargo)
        .args([subcommand, "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if installed {
        return Ok(());
    }
    run_in(
        Command::new(&cargo).args(["install", package, "--locked"]),
        &format!("cargo install {package} --locked"),
    )
}
