//! `cargo xtask …`: the project's tasks.
//!
//! - `bundle auralis-plugin [--release]`: build `target/bundled/Auralis.clap` and `Auralis.vst3` (with
//!   the factory presets as `.vstpreset` files inside).
//! - `demo`: the main job: install what is needed, build, and make music.
//! - `test`: every check CI runs: formatting, lints, unit tests, the plugin in real hosts.
//! - `bench [--quick]`: run the benchmarks and gather their figures in `target/bench/summary.json`.
//! - `fuzz [TARGET…] [--seconds N]`: coverage-guided fuzzing of the input parsers (cargo-fuzz).
//! - `audit [--db DIR]`: check the locked dependencies against the RustSec advisories.
//! - `package`: the Debian package and a tarball of the same files, in `target/dist/`.
//! - `deps`: install the system packages and the Python test environment only.

mod audit;
mod bench;
mod deps;
mod fuzz;
mod package;
mod process;
mod tasks;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bundle") | Some("bundle-universal") => tasks::bundle(&args),
        Some("demo") => tasks::demo(&args[1..]),
        Some("test") => tasks::test(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("audit") => audit::audit(&args[1..]),
        Some("package") => package::package(&args[1..]),
        Some("deps") => deps::install_all(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  demo                  build and play the default \
                 patch (the main job)\n  test                  run every check and test (what \
                 CI runs)\n  bench [--quick]       run the benchmarks, figures in \
                 target/bench/summary.json\n  fuzz [--seconds N]    fuzz the input parsers with cargo-fuzz \
                 (60 s a target)\n  audit [--db DIR]      check the dependencies against the RustSec \
                 advisories\n  package               the Debian package and a tarball in \
                 target/dist\n  deps                  install system packages and the Python test \
                 venv\n  bundle auralis-plugin [--release]   build Auralis.clap and Auralis.vst3 into \
                 target/bundled"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}
