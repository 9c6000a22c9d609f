//! Scenarios in a child process: this test binary re-run with one ignored test, so that an
//! abort, a crash or a hang in it fails the parent test with a clear message instead of
//! taking the whole test run down.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child process to the name of the scenario it runs.
const CHILD_ENV: &str = "AURALIS_CLAP_CHILD";

pub struct ChildRun {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Re-runs this test binary with only the ignored test `name` (its full path, `module::test`), in a child process with
/// `CHILD_ENV=name` and `envs`, killing it after `timeout`.
pub fn run_child(name: &str, envs: &[(&str, &std::ffi::OsStr)], timeout: Duration) -> ChildRun {
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut command = Command::new(exe);
    command
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("spawn the child test process");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let (success, status) = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break (status.success(), status.to_string());
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break (
                false,
                format!("killed by the watchdog after {timeout:?} (hang)"),
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    ChildRun {
        success,
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// Asserts that the child ran its scenario to the end: clean exit and its closing line printed.
pub fn assert_child_passed(run: &ChildRun, done_marker: &str) {
    let tail = |text: &str| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    assert!(
        run.success && run.stdout.contains(done_marker),
        "child process failed: {} after {:.1} s\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}",
        run.status,
        run.elapsed.as_secs_f64(),
        tail(&run.stdout),
        tail(&run.stderr)
    );
}

/// Whether this process was started to run scenario `name`; if not, says who runs it.
pub fn is_child(name: &str, parent: &str) -> bool {
    let child = std::env::var(CHILD_ENV).is_ok_and(|v| v == name);
    if !child {
        eprintln!("{name} does nothing on its own: {parent} runs it in a child process");
    }
    child
}
