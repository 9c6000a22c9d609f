//! Shared helpers for the end-to-end tests: where the built artifacts are, a small CLAP host
//! ([`clap_host`]) that loads them and browses their presets ([`clap_presets`]), the checks on
//! the audio it collects ([`checks`]), and a host audio thread's clock and scheduling
//! ([`audio_thread`]).

pub mod audio_thread;
pub mod checks;
pub mod clap_host;
pub mod clap_presets;

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Where `cargo xtask bundle auralis-plugin --release` puts the bundles.
pub fn bundle_dir() -> PathBuf {
    std::env::var_os("AURALIS_BUNDLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("bundled"))
}
