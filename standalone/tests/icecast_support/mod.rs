//! The Icecast test's processes: a real `icecast2` from a generated config, `auralis serve`
//! with its output kept, and the small HTTP and process helpers around them.

#![allow(dead_code)] // Each test uses its own part.

pub mod listeners;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const MOUNT: &str = "/auralis.opus";
pub const PASSWORD: &str = "right-horse-battery";

/// A real Icecast server, killed when dropped.
pub struct Icecast {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
}

impl Icecast {
    pub fn start() -> Self {
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
    pub fn launch(&mut self) {
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
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn stats(&self) -> Option<Value> {
        let (code, body) = http_get(self.port, "/status-json.xsl").ok()?;
        (code == 200).then(|| serde_json::from_str(&body).ok())?
    }

    /// Whether a source feeds our mount now.
    pub fn mount_is_live(&self) -> bool {
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

    pub fn wait_for_mount(&self, within: Duration) -> Duration {
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

    pub fn listen_url(&self) -> String {
        format!("http://127.0.0.1:{}{MOUNT}", self.port)
    }

    pub fn target(&self, password: &str) -> String {
        format!("icecast://source:{password}@127.0.0.1:{}{MOUNT}", self.port)
    }

    pub fn log(&self) -> String {
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
pub struct Auralis {
    pub child: Child,
    pub output: Arc<Mutex<Vec<String>>>,
    pub port: u16,
}

impl Auralis {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
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

    pub fn lines(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    pub fn status(&self) -> (String, Value) {
        let (code, body) = http_get(self.port, "/status").expect("GET /status");
        assert_eq!(code, 200, "{body}");
        let json = serde_json::from_str(&body).expect("status is JSON");
        (body, json)
    }

    /// The value of the `/metrics` series written exactly as `series` (name and labels).
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (code, body) = http_get(self.port, "/metrics").expect("GET /metrics");
        assert_eq!(code, 200, "{body}");
        body.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// User plus system CPU time so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
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

    pub fn terminate(mut self) -> std::process::ExitStatus {
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

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// One HTTP/1.0 GET on loopback: status code and body.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
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
pub fn run_with_watchdog(command: &mut Command, limit: Duration) -> String {
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
