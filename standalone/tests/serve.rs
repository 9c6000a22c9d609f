//! `auralis serve`, run as a server admin runs it: the real binary without a display or a sound
//! card, spoken to over loopback HTTP, played by a real headless browser, stopped by SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `auralis serve` on a free port, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    url: String,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_auralis"))
            .args(["serve", "--port", "0"])
            .args(extra)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start auralis serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("serve printed its URL within 30 s");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        let port = url
            .trim_start_matches("http://127.0.0.1:")
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url}"));
        Self { child, port, url }
    }

    /// One HTTP/1.1 request; returns the status code and the body.
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let code = response
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        (code, body)
    }

    fn status(&self, token: &str) -> serde_json::Value {
        let (code, body) = self.request("GET", &format!("/status{token}"), "");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("status is JSON")
    }

    /// Sends SIGTERM and waits for the exit; returns the status and how long it took.
    fn terminate(mut self) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "serve ignored SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_needs_no_display_or_sound_card_reports_status_and_stops_on_sigterm() {
    let server = Server::start(&["--preset", "dawn"]);
    let status = server.status("");
    assert_eq!(status["key"], "E", "{status}");
    assert_eq!(status["scale"], "Lydian", "{status}");
    assert_eq!(status["sample_rate"], 48_000, "{status}");
    // The engine is playing: within a few seconds a chord is reported.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.status("")["chord"].as_str().unwrap_or("").is_empty() {
        assert!(Instant::now() < deadline, "no chord reported");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, _) = server.request("GET", "/api/v1/params", "");
    assert_ne!(code, 200, "the parameter API is off without a token");
    let (code, _) = server.request("GET", "/nope", "");
    assert_eq!(code, 404);

    let (exit, took) = server.terminate();
    assert!(exit.success(), "exit status {exit}");
    assert!(took < Duration::from_secs(2), "took {took:?} to stop");
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
