//! `auralis serve --icecast`, against a real Icecast (Debian's `icecast2`) started per test
//! from a generated config on a free loopback port, heard by real players (`ffprobe`,
//! `ffmpeg`) and by plain HTTP listeners, while Icecast is killed, restarted or refuses us.
//!
//! The tests run one at a time (a lock): one of them measures Auralis' CPU time, and the
//! others would be the noise in it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use auralis::monitor::{FLAG_DISCONTINUITY, PacketHeader};
use ogg::reading::PacketReader;
use serde_json::Value;
use tungstenite::Message;

const MOUNT: &str = "/auralis.opus";
const PASSWORD: &str = "right-horse-battery";

/// Serialises the tests of this file.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A real Icecast server, killed when dropped.
struct Icecast {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Icecast {
    fn start() -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("auralis-icecast-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("log")).expect("temp dir");
        let mut icecast = Self {
            child: None,
            port,
            dir,
        };
        icecast.write_config();
        icecast.launch();
        icecast
    }

    /// The config: loopback only, 60+ listeners, our password. Icecast refuses to run as root
    /// unless told which user to become; as root (CI containers) it becomes `nobody`, which
    /// then needs to write its log directory.
    fn write_config(&self) {
        let as_root = is_root();
        let change_owner = if as_root {
            "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
        } else {
            ""
        };
        if as_root {
            use std::os::unix::fs::PermissionsExt;
            for dir in [self.dir.clone(), self.dir.join("log")] {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
                    .expect("chmod");
            }
        }
        let dir = self.dir.display();
        let config = format!(
            "<icecast>
  <location>test</location><admin>test@localhost</admin>
  <limits><clients>100</clients><sources>4</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout><burst-size>65536</burst-size></limits>
  <authentication><source-password>{PASSWORD}</source-password>
    <admin-user>admin</admin-user><admin-password>admin-{PASSWORD}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths><basedir>{dir}</basedir><logdir>{dir}/log</logdir><pidfile>{dir}/icecast.pid</pidfile>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{change_owner}</security>
</icecast>
",
            port = self.port
        );
        std::fs::write(self.dir.join("icecast.xml"), config).expect("write the config");
    }

    /// Starts `icecast2` in the foreground and waits until it answers.
    fn launch(&mut self) {
        let child = Command::new("icecast2")
            .arg("-c")
            .arg(self.dir.join("icecast.xml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("icecast2 runs (Debian package icecast2; `cargo xtask test` installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.stats().is_none() {
            assert!(
                Instant::now() < deadline,
                "icecast2 did not answer: {}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills Icecast the hard way, as a crash or an OOM kill would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn stats(&self) -> Option<Value> {
        let (code, body) = http_get(self.port, "/status-json.xsl").ok()?;
        (code == 200).then(|| serde_json::from_str(&body).ok())?
    }

    /// Whether a source feeds our mount now.
    fn mount_is_live(&self) -> bool {
        let Some(stats) = self.stats() else {
            return false;
        };
        let sources = match &stats["icestats"]["source"] {
            Value::Array(sources) => sources.clone(),
            Value::Null => Vec::new(),
            one => vec![one.clone()],
        };
        sources.iter().any(|source| {
            source["listenurl"]
                .as_str()
                .is_some_and(|url| url.ends_with(MOUNT))
        })
    }

    fn wait_for_mount(&self, within: Duration) -> Duration {
        let started = Instant::now();
        while !self.mount_is_live() {
            assert!(
                started.elapsed() < within,
                "the mount was not live within {within:?}: {}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
        started.elapsed()
    }

    fn listen_url(&self) -> String {
        format!("http://127.0.0.1:{}{MOUNT}", self.port)
    }

    fn target(&self, password: &str) -> String {
        format!("icecast://source:{password}@127.0.0.1:{}{MOUNT}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log/error.log")).unwrap_or_default()
    }
}

impl Drop for Icecast {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `auralis serve` with every line it prints kept, killed when dropped.
struct Auralis {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    port: u16,
}

impl Auralis {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_auralis"))
            .args(["serve", "--port", "0", "--renderer", "cpu"])
            .args(args)
            .env_remove("AURALIS_ICECAST_PASSWORD")
            .envs(env.iter().copied())
            .env_remove("AURALIS_ICECAST")
            .env_remove("AURALIS_LOG")
            .env_remove("NICE_LOG")
            .env_remove("DISPLAY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start auralis serve");
        let output = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for pipe in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let output = output.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    output.lock().unwrap().push(line);
                }
            });
        }
        let mut auralis = Self {
            child,
            output,
            port: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        auralis.port = loop {
            let port = auralis.lines().iter().find_map(|line| {
                let url = line.split_whitespace().find(|w| w.starts_with("http://"))?;
                url.trim_start_matches("http://127.0.0.1:")
                    .split('/')
                    .next()?
                    .parse()
                    .ok()
            });
            if let Some(port) = port {
                break port;
            }
            assert!(Instant::now() < deadline, "no URL: {:?}", auralis.lines());
            thread::sleep(Duration::from_millis(20));
        };
        auralis
    }

    fn lines(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    fn status(&self) -> (String, Value) {
        let (code, body) = http_get(self.port, "/status").expect("GET /status");
        assert_eq!(code, 200, "{body}");
        let json = serde_json::from_str(&body).expect("status is JSON");
        (body, json)
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// User plus system CPU time so far, in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("/proc/PID/stat");
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks: f64 = [11, 12]
            .iter()
            .map(|&i| fields[i].parse::<f64>().expect("CPU ticks"))
            .sum();
        // Linux reports CPU time in clock ticks of 100 Hz to user space.
        ticks / 100.0
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "serve ignored SIGTERM");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Auralis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ordinary_players_hear_auralis_through_icecast_continuously() {
    let _serial = one_at_a_time();
    let icecast = Icecast::start();
    let target = icecast.target(PASSWORD);
    let auralis = Auralis::start(&["--icecast", &target], &[]);
    icecast.wait_for_mount(Duration::from_secs(20));

    let probe = run_with_watchdog(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,sample_rate,channels",
            ])
            .args(["-of", "json"])
            .arg(icecast.listen_url()),
        Duration::from_secs(20),
    );
    let streams: Value = serde_json::from_str(&probe).expect("ffprobe JSON");
    let stream = &streams["streams"][0];
    assert_eq!(stream["codec_name"], "opus", "{probe}");
    assert_eq!(stream["sample_rate"], "48000", "{probe}");
    assert_eq!(stream["channels"], 2, "{probe}");

    let heard = decode_with_ffmpeg(&icecast.listen_url(), Duration::from_secs(10));
    assert!(heard.errors.trim().is_empty(), "ffmpeg: {}", heard.errors);
    let ratio = heard.decoded.as_secs_f64() / heard.wall.as_secs_f64();
    assert!(
        (0.98..=1.02).contains(&ratio),
        "{:?} of audio decoded in {:?} of listening: not continuous",
        heard.decoded,
        heard.wall
    );
    assert!(heard.rms_db > -45.0, "silent: {:.1} dBFS", heard.rms_db);
    println!(
        "ffmpeg through Icecast: {:.2} s decoded in {:.2} s, {:.1} dBFS",
        heard.decoded.as_secs_f64(),
        heard.wall.as_secs_f64(),
        heard.rms_db
    );

    let (_, status) = auralis.status();
    let output = &status["icecast"][0];
    assert_eq!(output["state"], "live", "{status}");
    assert_eq!(
        output["url"],
        format!("icecast://source@127.0.0.1:{}{MOUNT}", icecast.port)
    );
    assert!(output["bytes_sent"].as_u64().unwrap() > 100_000, "{status}");
    assert_eq!(output["dropped_packets"], 0, "{status}");
    assert!(
        auralis.lines().iter().all(|line| !line.contains(PASSWORD)),
        "{:?}",
        auralis.lines()
    );
    assert!(auralis.terminate().success());
}

#[test]
fn fifty_icecast_listeners_get_continuous_ogg_and_cost_auralis_nothing() {
    const LISTENERS: usize = 50;
    const LISTEN: Duration = Duration::from_secs(20);
    const WINDOW: Duration = Duration::from_secs(10);
    let _serial = one_at_a_time();
    let icecast = Icecast::start();
    let auralis = Auralis::start(&["--icecast", &icecast.target(PASSWORD)], &[]);
    icecast.wait_for_mount(Duration::from_secs(20));

    // One listener, then fifty, then one again: the baseline is the mean of the two single
    // stretches, so a machine whose other load drifts meanwhile does not tilt the ratio.
    let first = pull_ogg(icecast.port, Duration::from_secs(46));
    thread::sleep(Duration::from_secs(2));
    let one_before = cpu_rate(&auralis, WINDOW);

    // An audience arrives over a second, not in one instant: Icecast 2.4 accepts with a
    // backlog of 5, and 49 connections in the same millisecond overflow it (resets).
    let others: Vec<_> = (1..LISTENERS)
        .map(|_| {
            thread::sleep(Duration::from_millis(25));
            pull_ogg(icecast.port, LISTEN)
        })
        .collect();
    thread::sleep(Duration::from_secs(2));
    let fifty = cpu_rate(&auralis, Duration::from_secs(14));
    let mut seconds = Vec::new();
    for (index, listener) in others.into_iter().enumerate() {
        let heard = listener
            .join()
            .expect("listener thread")
            .unwrap_or_else(|e| {
                panic!(
                    "listener {}: {e}; Icecast's log:\n{}",
                    index + 1,
                    icecast.log()
                )
            });
        seconds.push(heard);
    }
    let one_after = cpu_rate(&auralis, WINDOW);
    let one = (one_before + one_after) / 2.0;

    seconds.push(first.join().expect("listener thread").expect("listener 0"));
    let least = seconds.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        least >= LISTEN.as_secs_f64() - 1.0,
        "a listener got only {least:.1} s of audio in {LISTEN:?}"
    );
    let ratio = fifty / one;
    println!(
        "Auralis CPU with 1 Icecast listener: {:.1}% of a core ({:.1}% before, {:.1}% after); \
         with {LISTENERS}: {:.1}% (ratio {ratio:.2}); least audio per listener {least:.1} s",
        one * 100.0,
        one_before * 100.0,
        one_after * 100.0,
        fifty * 100.0
    );
    assert!(
        ratio < 1.2,
        "Auralis' CPU grew with Icecast's listeners: {:.1}% → {:.1}% of a core",
        one * 100.0,
        fifty * 100.0
    );
}

#[test]
fn icecast_restarting_mid_stream_is_rejoined_without_a_gap_for_the_browsers() {
    let _serial = one_at_a_time();
    let mut icecast = Icecast::start();
    let auralis = Auralis::start(&["--icecast", &icecast.target(PASSWORD)], &[]);
    icecast.wait_for_mount(Duration::from_secs(20));

    let stop = Arc::new(AtomicBool::new(false));
    let browser = listen_to_monitor(auralis.port, stop.clone());
    thread::sleep(Duration::from_secs(2));

    icecast.kill();
    thread::sleep(Duration::from_secs(3));
    let restarted = Instant::now();
    icecast.launch();
    let back = icecast.wait_for_mount(Duration::from_secs(15));
    println!(
        "the mount was live again {:.1} s after Icecast restarted",
        back.as_secs_f64()
    );
    let probe = run_with_watchdog(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
            ])
            .arg(icecast.listen_url()),
        Duration::from_secs(20),
    );
    assert_eq!(probe.trim(), "opus", "a fresh stream with its headers");
    thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let heard = browser
        .join()
        .expect("browser thread")
        .expect("the browser listened");

    let (_, status) = auralis.status();
    let output = &status["icecast"][0];
    assert_eq!(output["state"], "live", "{status}");
    assert!(output["reconnects"].as_u64().unwrap() >= 1, "{status}");
    let lines = auralis.lines();
    let lost = lines.iter().filter(|l| l.contains("stream lost")).count();
    let again = lines.iter().filter(|l| l.contains("live again")).count();
    assert_eq!((lost, again), (1, 1), "one line per change: {lines:#?}");
    // Retries that fail the same way say nothing new: no message appears twice.
    let mut messages: Vec<&str> = lines
        .iter()
        .filter_map(|line| line.split_once(" icecast "))
        .map(|(_, message)| message)
        .collect();
    let all = messages.len();
    messages.sort_unstable();
    messages.dedup();
    assert_eq!(
        messages.len(),
        all,
        "a line per retry in {:?}: {lines:#?}",
        restarted.elapsed()
    );

    assert_eq!(heard.skipped, 0, "the browser missed packets");
    assert_eq!(heard.discontinuities, 0, "the tap lost frames");
    let ratio = heard.audio.as_secs_f64() / heard.wall.as_secs_f64();
    assert!(
        ratio > 0.95,
        "the browser got {:?} of audio in {:?}",
        heard.audio,
        heard.wall
    );
    assert!(auralis.terminate().success());
}

#[test]
fn a_wrong_password_is_named_retried_and_never_shown() {
    const WRONG: &str = "Wr0ng-Env-Secret-42";
    let _serial = one_at_a_time();
    let icecast = Icecast::start();
    // The right password in the URL, a wrong one in the environment, which wins.
    let mut auralis = Auralis::start(
        &["--icecast", &icecast.target(PASSWORD)],
        &[("AURALIS_ICECAST_PASSWORD", WRONG)],
    );
    thread::sleep(Duration::from_secs(5));
    assert!(auralis.is_running(), "{:?}", auralis.lines());
    assert!(!icecast.mount_is_live());

    let (body, status) = auralis.status();
    let output = &status["icecast"][0];
    assert_eq!(output["state"], "retrying", "{status}");
    assert!(
        output["reconnects"].as_u64().unwrap() >= 2,
        "it retries: {status}"
    );
    assert!(
        output["last_error"]
            .as_str()
            .unwrap()
            .contains("authentication"),
        "{status}"
    );
    let lines = auralis.lines();
    let refusals: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("authentication"))
        .collect();
    assert_eq!(
        refusals.len(),
        1,
        "one clear line, not one per retry: {lines:#?}"
    );
    let everything = format!("{lines:?}{body}");
    for secret in [WRONG, PASSWORD] {
        assert!(!everything.contains(secret), "{secret} shown: {everything}");
    }
    // The browsers still hear the engine.
    let stop = Arc::new(AtomicBool::new(true));
    let browser = listen_to_monitor(auralis.port, stop);
    let heard = browser.join().unwrap().expect("the web monitor plays");
    assert!(heard.audio > Duration::ZERO);
    assert!(auralis.terminate().success());
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// One HTTP/1.0 GET on loopback: status code and body.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((code, body))
}

/// Runs a command to its end, killing it after `limit`; its stdout.
fn run_with_watchdog(command: &mut Command, limit: Duration) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffprobe/ffmpeg run (Debian package ffmpeg; `cargo xtask test` installs it)");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What ffmpeg decoded from the mount over a measured stretch of listening.
struct Decoded {
    decoded: Duration,
    wall: Duration,
    rms_db: f64,
    errors: String,
}

/// Decodes the stream with ffmpeg as an ordinary listener and measures `window` of it. The
/// first second is skipped: Icecast sends each new listener a burst of the recent past, which
/// arrives faster than real time by design.
fn decode_with_ffmpeg(url: &str, window: Duration) -> Decoded {
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i", url])
        .args([
            "-f",
            "f32le",
            "-ac",
            "2",
            "-ar",
            "48000",
            "-flush_packets",
            "1",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg runs (Debian package ffmpeg; `cargo xtask test` installs it)");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total_bytes = 0usize;
    let mut first: Option<Instant> = None;
    let mut measuring: Option<(Instant, usize)> = None;
    let mut energy = 0.0f64;
    let mut samples = 0u64;
    let mut carry = Vec::new();
    let watchdog = Instant::now() + window + Duration::from_secs(30);
    let result = loop {
        assert!(Instant::now() < watchdog, "ffmpeg stalled");
        let read = stdout.read(&mut buffer).expect("ffmpeg output");
        assert!(read > 0, "ffmpeg stopped decoding");
        let now = Instant::now();
        let started = *first.get_or_insert(now);
        total_bytes += read;
        if measuring.is_none() && now - started >= Duration::from_secs(1) {
            measuring = Some((now, total_bytes));
            continue;
        }
        let Some((since, bytes_then)) = measuring else {
            continue;
        };
        carry.extend_from_slice(&buffer[..read]);
        let whole = carry.len() / 4 * 4;
        for sample in carry[..whole].chunks_exact(4) {
            let value = f64::from(f32::from_le_bytes(sample.try_into().unwrap()));
            energy += value * value;
            samples += 1;
        }
        carry.drain(..whole);
        if now - since >= window {
            let frames = (total_bytes - bytes_then) / 8;
            break (
                Duration::from_secs_f64(frames as f64 / 48_000.0),
                now - since,
            );
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let mut errors = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut errors);
    }
    Decoded {
        decoded: result.0,
        wall: result.1,
        rms_db: 10.0 * (energy / samples.max(1) as f64).log10(),
        errors,
    }
}

/// Auralis' CPU use over `window`, in cores.
fn cpu_rate(auralis: &Auralis, window: Duration) -> f64 {
    let (cpu_before, wall_before) = (auralis.cpu_seconds(), Instant::now());
    thread::sleep(window);
    (auralis.cpu_seconds() - cpu_before) / wall_before.elapsed().as_secs_f64()
}

/// A plain HTTP listener on the mount for `length`; the seconds of audio in what it got,
/// after checking that it is one continuous Ogg/Opus stream.
fn pull_ogg(port: u16, length: Duration) -> JoinHandle<Result<f64, String>> {
    thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        write!(stream, "GET {MOUNT} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut received = Vec::with_capacity(512 * 1024);
        let mut buffer = [0u8; 16 * 1024];
        while started.elapsed() < length {
            let read = stream
                .read(&mut buffer)
                .map_err(|e| format!("after {} bytes: {e}", received.len()))?;
            if read == 0 {
                return Err(format!("Icecast closed after {} bytes", received.len()));
            }
            received.extend_from_slice(&buffer[..read]);
        }
        let body_at = received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("no HTTP head")?
            + 4;
        if !received.starts_with(b"HTTP/1.0 200") {
            return Err(String::from_utf8_lossy(&received[..body_at]).into_owned());
        }
        ogg_audio_seconds(&received[body_at..])
    })
}

/// Checks that `bytes` hold the Opus headers and then audio packets whose count matches the
/// granule positions (a lost page would break that), and returns the seconds of audio.
fn ogg_audio_seconds(bytes: &[u8]) -> Result<f64, String> {
    let mut reader = PacketReader::new(std::io::Cursor::new(bytes.to_vec()));
    let mut next = || reader.read_packet().map_err(|e| format!("bad Ogg: {e}"));
    let head = next()?.ok_or("no OpusHead")?;
    if !head.data.starts_with(b"OpusHead") {
        return Err("the stream does not start with OpusHead".into());
    }
    let tags = next()?.ok_or("no OpusTags")?;
    if !tags.data.starts_with(b"OpusTags") {
        return Err("OpusTags missing".into());
    }
    let serial = head.stream_serial();
    let mut packets_since_page = 0u64;
    let mut last_granule: Option<u64> = None;
    let mut counted = 0u64;
    // The last page may be cut off by the end of the listening; an error there is expected.
    while let Ok(Some(packet)) = next() {
        if packet.stream_serial() != serial {
            return Err("a second logical stream".into());
        }
        packets_since_page += 1;
        if packet.last_in_page() {
            let granule = packet.absgp_page();
            if let Some(last) = last_granule {
                if granule - last != packets_since_page * 960 {
                    return Err(format!(
                        "granule jumped {} for {packets_since_page} packets: pages lost",
                        granule - last
                    ));
                }
                counted += packets_since_page;
            }
            last_granule = Some(granule);
            packets_since_page = 0;
        }
    }
    Ok(counted as f64 * 0.020)
}

/// What a web monitor listener heard.
struct Heard {
    skipped: u64,
    discontinuities: u64,
    audio: Duration,
    wall: Duration,
}

/// A browser's view of the web monitor: a WebSocket listener on `/stream` until `stop` (or,
/// if it is already set, for two seconds).
fn listen_to_monitor(port: u16, stop: Arc<AtomicBool>) -> JoinHandle<Result<Heard, String>> {
    thread::spawn(move || {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        let (mut socket, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/stream"), stream)
            .map_err(|e| format!("handshake: {e}"))?;
        let mut heard = Heard {
            skipped: 0,
            discontinuities: 0,
            audio: Duration::ZERO,
            wall: Duration::ZERO,
        };
        let mut first: Option<Instant> = None;
        let mut next_sequence = None;
        let mut frames = 0u64;
        let minimum = Duration::from_secs(2);
        loop {
            let message = socket.read().map_err(|e| format!("stalled: {e}"))?;
            let Message::Binary(bytes) = message else {
                continue;
            };
            let (header, _) = PacketHeader::parse(&bytes).ok_or("a packet that does not parse")?;
            let now = Instant::now();
            // The first packet's arrival starts the clock; its own audio is counted from then.
            let started = *first.get_or_insert(now);
            if let Some(expected) = next_sequence {
                heard.skipped += header.sequence.saturating_sub(expected);
                frames += u64::from(header.frame_count);
            }
            if header.flags & FLAG_DISCONTINUITY != 0 && next_sequence.is_some() {
                heard.discontinuities += 1;
            }
            next_sequence = Some(header.sequence + 1);
            heard.wall = now - started;
            heard.audio = Duration::from_secs_f64(frames as f64 / f64::from(header.sample_rate));
            if stop.load(Ordering::Relaxed) && heard.wall >= minimum {
                let _ = socket.close(None);
                return Ok(heard);
            }
        }
    })
}
