//! `GET /metrics` as operators use it: checked by `promtool check metrics` and scraped by a
//! real Prometheus server (both from Debian's `prometheus` package, which `cargo xtask test`
//! installs), with values that follow what happens: a listener, the bytes sent to it, an
//! underrun.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use auralis::monitor::{MonitorConfig, MonitorServer, MonitorStatus, StatusSource};
use auralis::realtime::{AudioOutput, Telemetry, WaitPolicy, audio_ring, tap_ring};
use auralis::signal::SampleRate;
use common::Server;

const TOKEN: &str = "metrics-test-token";

/// The value of the sample `series` (its name and labels exactly as written) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// A Debian program the test needs, with how to get it when it is missing.
fn program(name: &str) -> &str {
    let found = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "`{name}` is missing: run the tests with `cargo xtask test`, which installs Debian's \
         prometheus package (promtool and the server)"
    );
    name
}

/// `promtool check metrics` on `text`: no parse errors and no lint problems.
fn assert_promtool_accepts(text: &str) {
    let mut check = Command::new(program("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let output = check.wait_with_output().expect("promtool ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics: {} {said}\n--- the metrics ---\n{text}",
        output.status
    );
}

/// GET `path` from a plain HTTP server on loopback; the status and the body, status 0 when
/// nothing listens yet. HTTP/1.0, so no server answers it in chunks.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (code, body)
}

/// Polls `probe` until it returns `Some`, for at most `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A WebSocket listener on `/stream` that reads until dropped.
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Listener {
    fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let url = format!("ws://127.0.0.1:{port}/stream?token={TOKEN}");
        let (mut socket, _) = tungstenite::client(url, stream).expect("WebSocket handshake");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut bytes = 0u64;
            while !flag.load(Ordering::Relaxed) {
                match socket.read() {
                    Ok(message) => bytes += message.len() as u64,
                    Err(tungstenite::Error::Io(e))
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
            let _ = socket.close(None);
            let _ = socket.flush();
            bytes
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Leaves and tells how many payload bytes arrived.
    fn leave(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map_or(0, |t| t.join().unwrap_or(0))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn scrape(server: &Server) -> String {
    let (code, body) = server.request("GET", &format!("/metrics?token={TOKEN}"), "");
    assert_eq!(code, 200, "{body}");
    body
}

#[test]
fn metrics_pass_promtool_and_follow_a_listener() {
    let server = Server::start(&["--token", TOKEN, "--renderer", "cpu"]);
    let (code, _) = server.request("GET", "/metrics", "");
    assert_eq!(code, 401, "/metrics needs the token as /status does");

    let idle = scrape(&server);
    assert_promtool_accepts(&idle);
    assert_eq!(value(&idle, "auralis_listeners"), Some(0.0), "{idle}");
    assert_eq!(value(&idle, "auralis_listener_sessions_total"), Some(0.0));
    assert!(
        idle.contains("auralis_renderer_info{renderer=\"cpu\",adapter=\"\"} 1"),
        "{idle}"
    );
    let lead = value(&idle, "auralis_engine_lead_seconds").expect("the engine's lead");
    assert!(
        lead > 0.0 && lead <= 1.5,
        "serve renders ahead, by about a second: {lead}"
    );
    let blocks = value(&idle, "auralis_block_render_seconds_count").expect("a histogram");
    assert!(blocks > 0.0, "the engine rendered blocks: {idle}");

    let listener = Listener::connect(server.port);
    let pcm16 = "auralis_bytes_sent_total{codec=\"pcm16\"}";
    let first = wait_for(
        "auralis_listeners 1 and bytes sent",
        Duration::from_secs(10),
        || {
            let text = scrape(&server);
            (value(&text, "auralis_listeners") == Some(1.0) && value(&text, pcm16)? > 0.0)
                .then_some(text)
        },
    );
    assert_promtool_accepts(&first);
    assert_eq!(value(&first, "auralis_listener_sessions_total"), Some(1.0));
    // Half a second of 48 kHz stereo PCM16 is 96 kB.
    let sent_before = value(&first, pcm16).unwrap_or_default();
    wait_for(
        "bytes sent growing with the stream",
        Duration::from_secs(10),
        || {
            let sent = value(&scrape(&server), pcm16)?;
            (sent - sent_before > 96_000.0).then_some(())
        },
    );
    let received = listener.leave();
    let left = wait_for(
        "auralis_listeners back to 0",
        Duration::from_secs(10),
        || {
            let text = scrape(&server);
            (value(&text, "auralis_listeners") == Some(0.0)).then_some(text)
        },
    );
    let sent_total = value(&left, pcm16).unwrap_or_default();
    assert!(
        received as f64 <= sent_total,
        "the listener got {received} bytes, more than the {sent_total} counted as sent"
    );
    assert_eq!(value(&left, "auralis_listener_sessions_total"), Some(1.0));
    assert_eq!(
        value(&left, "auralis_underruns_total"),
        Some(0.0),
        "serve ran dry"
    );
}

/// A status source around a real [`Telemetry`], as the plugin and `serve` report theirs.
struct EngineStatus(Arc<Telemetry>);

impl StatusSource for EngineStatus {
    fn status(&self) -> MonitorStatus {
        MonitorStatus {
            renderer: "cpu: CPU".into(),
            underruns: self.0.underruns(),
            sample_rate: 48_000,
            ..MonitorStatus::default()
        }
    }

    fn telemetry(&self) -> Option<&Telemetry> {
        Some(&self.0)
    }
}

#[test]
fn an_underrun_of_the_audio_output_is_counted() {
    let telemetry = Arc::new(Telemetry::default());
    let (_tap, tap_rx) = tap_ring(48_000);
    let server = MonitorServer::start(
        MonitorConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..MonitorConfig::default()
        },
        tap_rx,
        SampleRate::DEFAULT,
        Arc::new(EngineStatus(telemetry.clone())),
        None,
    )
    .expect("a server on a free port");
    let port = server.local_addr().port();
    let underruns = |text: &str| value(text, "auralis_underruns_total");

    // The audio side exactly as a host drives it: a ring the engine fills, an output that
    // plays it. Two blocks are rendered, three are asked for: the third finds the ring dry.
    let (mut frames, consumer) = audio_ring(1_024);
    let mut output = AudioOutput::new(
        consumer,
        telemetry.clone(),
        WaitPolicy::Realtime,
        SampleRate::DEFAULT,
    );
    assert_eq!(frames.push_frames(&[[0.1, 0.1]; 512]), 512);
    telemetry.add_frames_rendered(512);
    let (mut left, mut right) = (vec![0.0; 256], vec![0.0; 256]);
    output.fill(&mut left, &mut right);
    let (code, before) = http_get(port, "/metrics");
    assert_eq!(code, 200, "{before}");
    assert_promtool_accepts(&before);
    assert_eq!(underruns(&before), Some(0.0), "{before}");
    assert_eq!(
        value(&before, "auralis_engine_lead_seconds"),
        Some(256.0 / 48_000.0)
    );

    output.fill(&mut left, &mut right);
    output.fill(&mut left, &mut right);
    let (_, after) = http_get(port, "/metrics");
    assert_promtool_accepts(&after);
    assert_eq!(underruns(&after), Some(1.0), "{after}");
    assert_eq!(value(&after, "auralis_engine_lead_seconds"), Some(0.0));
    server.stop();
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .expect("a free port")
        .port()
}

/// A Prometheus server on loopback, stopped and its data removed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Prometheus {
    /// Scrapes `target` every second with the bearer `token`.
    fn start(target: u16, token: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("auralis-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  \
                 - job_name: auralis\n    authorization:\n      credentials: {token}\n    \
                 static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
            ),
        )
        .expect("write the config");
        let port = free_port();
        let child = Command::new(program("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start prometheus");
        Self { child, port, dir }
    }

    /// The instant vector of `query`, as Prometheus' HTTP API returns it.
    fn query(&mut self, query: &str) -> Vec<serde_json::Value> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("prometheus exited: {status}");
        }
        let (code, body) = http_get(self.port, &format!("/api/v1/query?query={query}"));
        if code != 200 {
            return Vec::new();
        }
        let reply: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        reply["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The value of a sample from the API, `[time, "value"]`.
fn sample_value(sample: &serde_json::Value) -> Option<f64> {
    sample["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_prometheus_server_scrapes_serve() {
    let server = Server::start(&["--token", TOKEN, "--renderer", "cpu"]);
    let _listener = Listener::connect(server.port);
    let mut prometheus = Prometheus::start(server.port, TOKEN);
    let instance = format!("127.0.0.1:{}", server.port);

    let up = wait_for(
        "Prometheus scraping serve (up == 1)",
        Duration::from_secs(90),
        || {
            let samples = prometheus.query("up");
            samples
                .into_iter()
                .find(|s| s["metric"]["instance"] == instance.as_str())
                .filter(|s| sample_value(s) == Some(1.0))
        },
    );
    assert_eq!(up["metric"]["job"], "auralis");
    let listeners = wait_for(
        "auralis_listeners in Prometheus",
        Duration::from_secs(30),
        || {
            prometheus
                .query("auralis_listeners")
                .into_iter()
                .find(|s| s["metric"]["instance"] == instance.as_str())
        },
    );
    assert_eq!(sample_value(&listeners), Some(1.0), "{listeners}");
    let sent = wait_for("a rate of bytes sent", Duration::from_secs(30), || {
        prometheus
            .query("rate(auralis_bytes_sent_total%7Bcodec%3D%22pcm16%22%7D%5B5s%5D)")
            .into_iter()
            .find_map(|s| sample_value(&s).filter(|rate| *rate > 0.0))
    });
    assert!(
        sent > 50_000.0,
        "PCM16 streams ~192 kB/s to one listener; Prometheus computed {sent} B/s"
    );
}
