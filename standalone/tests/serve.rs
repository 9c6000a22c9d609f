//! `auralis serve`, run as a server admin runs it: the real binary without a display or a sound
//! card, spoken to over loopback HTTP, played by a real headless browser, stopped by SIGTERM.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;

#[test]
fn serve_needs_no_display_or_sound_card_reports_status_and_stops_on_sigterm() {
    let server = Server::start(&["--preset", "dawn"]);
    let status = server.status("");
    assert_eq!(status["key"], "E", "{status}");
    assert_eq!(status["scale"], "Lydian", "{status}");
    assert_eq!(status["sample_rate"], 48_000, "{status}");
    // The engine is playing: a chord is reported. The deadline is a watchdog against a hang,
    // not a speed requirement (speed is measured by `cargo xtask bench`).
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.status("")["chord"].as_str().unwrap_or("").is_empty() {
        assert!(Instant::now() < deadline, "no chord reported in 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, _) = server.request("GET", "/api/v1/params", "");
    assert_ne!(code, 200, "the parameter API is off without a token");
    let (code, _) = server.request("GET", "/nope", "");
    assert_eq!(code, 404);

    // SIGTERM stops it cleanly (terminate() fails a hang): exit status 0, and the port is
    // free for the next start.
    let port = server.port;
    let exit = server.terminate();
    assert!(exit.success(), "exit status {exit}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections after the exit"
    );
}

#[test]
fn the_parameter_api_needs_the_token_and_validates_every_value() {
    let server = Server::start(&["--token", "s3cret"]);
    let token = "?token=s3cret";
    let (code, _) = server.request("PUT", "/api/v1/params", r#"{"key":"F#"}"#);
    assert_eq!(code, 401, "no token, no change");
    for (body, field) in [
        (r#"{"tempo_bpm": 500}"#, "tempo_bpm"),
        (r#"{"intensity": "loud"}"#, "intensity"),
        (r#"{"key": "H"}"#, "key"),
        (r#"{"volume": 3}"#, "volume"),
    ] {
        let (code, reply) = server.request("PUT", &format!("/api/v1/params{token}"), body);
        assert_eq!(code, 422, "{body}: {reply}");
        let reply: serde_json::Value = serde_json::from_str(&reply).expect("JSON error");
        assert_eq!(reply["field"], field, "{reply}");
        assert!(
            reply["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{reply}"
        );
    }
    assert_eq!(
        server.status(token)["key"],
        "D",
        "refused changes changed nothing"
    );

    let (code, reply) = server.request(
        "PUT",
        &format!("/api/v1/params{token}"),
        r#"{"key":"f#","scale":"lydian","intensity":0.3}"#,
    );
    assert_eq!(code, 200, "{reply}");
    let status = server.status(token);
    assert_eq!(
        (status["key"].as_str(), status["scale"].as_str()),
        (Some("F#"), Some("Lydian"))
    );
    let (code, params) = server.request("GET", &format!("/api/v1/params{token}"), "");
    assert_eq!(code, 200);
    let params: serde_json::Value = serde_json::from_str(&params).expect("JSON");
    assert_eq!(params["intensity"], 0.3, "{params}");
}

#[test]
fn a_real_browser_plays_the_live_stream() {
    let Some(dir) = std::env::var_os("AURALIS_BROWSER_TESTS") else {
        panic!(
            "AURALIS_BROWSER_TESTS is not set: run the tests with `cargo xtask test`, which \
             installs Chromium and the browser test's npm packages"
        );
    };
    let server = Server::start(&[]);
    let mut test = Command::new("node")
        .arg("monitor.test.mjs")
        .current_dir(&dir)
        .env("AURALIS_MONITOR_URL", &server.url)
        .env("AURALIS_TEST_TIMEOUT_S", "120")
        .spawn()
        .expect("run node monitor.test.mjs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = test.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = test.kill();
            panic!("the browser test hung");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "the browser test failed ({status}); its output is above"
    );
    assert_eq!(
        server.status("")["underruns"],
        0,
        "the engine ran dry while streaming"
    );
}
