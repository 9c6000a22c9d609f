//! `cargo xtask fuzz [TARGET…] [--seconds N]`: coverage-guided fuzzing of the plugin's input
//! parsers with cargo-fuzz (libFuzzer), installed from crates.io on first use.
//!
//! Runs on the stable toolchain with `--sanitizer none`: Rust's own checks (bounds, overflow in
//! debug assertions, the targets' asserts) are what finds faults; AddressSanitizer would need a
//! nightly compiler. The targets are in `fuzz/`, their seeds in `fuzz/seeds/`; what a run
//! learns stays in `fuzz/corpus/`, and a failing input lands in `fuzz/artifacts/`.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{cargo, ensure_cargo_subcommand, run_in, workspace_root};

/// Every target in `fuzz/fuzz_targets/`.
const TARGETS: &[&str] = &["saved_state", "preset_file", "http_request"];
/// Seconds per target unless `--seconds` says otherwise.
const DEFAULT_SECONDS: u32 = 60;

pub fn fuzz(args: &[String]) -> Result<()> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|s| *s > 0)
                    .context("--seconds needs a whole number of seconds above 0")?;
            }
            name if TARGETS.contains(&name) => targets.push(name),
            other => bail!(
                "unknown argument {other:?} for `cargo xtask fuzz`; targets: {}",
                TARGETS.join(", ")
            ),
        }
    }
    if targets.is_empty() {
        targets.extend_from_slice(TARGETS);
    }
    ensure_cargo_subcommand("fuzz", "cargo-fuzz")?;
    let cargo = cargo();
    let root = workspace_root();
    for target in targets {
        let corpus = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("creating {}", corpus.display()))?;
        let seeds = root.join("fuzz/seeds").join(target);
        run_in(
            Command::new(&cargo)
                .args(["fuzz", "run", "--sanitizer", "none", target])
                .arg(&corpus)
                .arg(&seeds)
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048"),
            &format!("cargo fuzz run --sanitizer none {target} ({seconds} s)"),
        )?;
    }
    Ok(())
}
