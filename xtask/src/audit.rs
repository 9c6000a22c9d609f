//! `cargo xtask audit [--db DIR]`: checks every locked dependency (the workspace's and the
//! fuzzers') against the RustSec advisory database with cargo-audit, installed from crates.io on
//! first use.
//!
//! Without `--db`, cargo-audit fetches the database from GitHub. With `--db DIR` it reads a
//! checkout of <https://github.com/rustsec/advisory-db> and fetches nothing, for machines that
//! reach only the package registries (as CI's do, which is why the test command cannot run it).
//! The crates carried in `vendor/` are path dependencies, which cargo-audit does not look up:
//! they are nice-plug 0.4.2 with two fixes (`vendor/PATCHES.md`), so an advisory for that
//! release applies to them too.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{cargo, ensure_cargo_subcommand, run_in, workspace_root};

/// The lock files of the two workspaces: the product's and the fuzzers'.
const LOCK_FILES: &[&str] = &["Cargo.lock", "fuzz/Cargo.lock"];

pub fn audit(args: &[String]) -> Result<()> {
    let mut db: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => {
                let dir = args
                    .next()
                    .context("--db needs the directory of an advisory-db checkout")?;
                db = Some(PathBuf::from(dir));
            }
            other => bail!("unknown argument {other:?} for `cargo xtask audit` (only --db DIR)"),
        }
    }
    if let Some(dir) = &db
        && !dir.join("crates").is_dir()
    {
        bail!(
            "{} is not an advisory-db checkout (it has no crates/ folder)",
            dir.display()
        );
    }
    ensure_cargo_subcommand("audit", "cargo-audit")?;
    let root = workspace_root();
    let mut failed = Vec::new();
    for lock in LOCK_FILES {
        let mut command = Command::new(cargo());
        command.arg("audit").arg("--file").arg(root.join(lock));
        if let Some(dir) = &db {
            command.arg("--db").arg(dir).arg("--no-fetch");
        }
        // Every lock file is audited even when one has findings, so one run shows them all.
        if let Err(err) = run_in(&mut command, &format!("cargo audit ({lock})")) {
            eprintln!("xtask: {err:#}");
            failed.push(*lock);
        }
    }
    if !failed.is_empty() {
        bail!("cargo audit found problems in {}", failed.join(", "));
    }
    Ok(())
}
