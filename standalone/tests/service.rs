//! What the service's defaults file sets reaches `serve`: the environment variables that
//! `/etc/default/auralis` documents, read by the real binary.

mod common;

use std::process::Command;

use common::Server;

#[test]
fn the_defaults_file_settings_reach_serve() {
    let server = Server::start_with_env(
        &[],
        &[
            ("AURALIS_PRESET", "tidal"),
            ("AURALIS_RENDERER", "cpu"),
            ("AURALIS_MONITOR_TOKEN", "service-token"),
        ],
    );
    let status = server.status("?token=service-token");
    assert_eq!(status["key"], "G", "{status}");
    assert_eq!(status["scale"], "Mixolydian", "{status}");
    assert_eq!(status["tempo_bpm"], 56.0, "{status}");
    let (code, _) = server.request("GET", "/status", "");
    assert_eq!(
        code, 401,
        "the token from the environment guards the server"
    );
}

#[test]
fn a_flag_beats_the_environment_and_a_bad_preset_is_one_clear_line() {
    let server = Server::start_with_env(&["--preset", "dawn"], &[("AURALIS_PRESET", "tidal")]);
    assert_ne!(server.status("")["key"], "G", "--preset dawn wins");
    drop(server);

    let output = Command::new(env!("CARGO_BIN_EXE_auralis"))
        .args(["serve", "--port", "0"])
        .env("AURALIS_PRESET", "no such preset")
        .output()
        .expect("run auralis serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AURALIS_PRESET") && stderr.contains("Deep Field"),
        "names the variable and the presets: {stderr}"
    );
}
