//! `auralis serve --icecast`, against a real Icecast (Debian's `icecast2`) started per test
//! from a generated config on a free loopback port, heard by real players (`ffprobe`,
//! `ffmpeg`) and by plain HTTP listeners, while Icecast is killed, restarted or refuses us.
//!
//! The tests run one at a time (a lock): one of them measures Auralis' CPU time, and the
//! others would be the noise in it.

mod icecast_support;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use icecast_support::listeners::{cpu_rate, decode_with_ffmpeg, listen_to_monitor, pull_ogg};
use icecast_support::{Auralis, Icecast, MOUNT, PASSWORD, http_get, run_with_watchdog};
use serde_json::Value;

/// Serialises the tests of this file.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
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
    let target = format!("target=\"{}\"", output["url"].as_str().expect("url"));
    assert_eq!(
        auralis.metric(&format!("auralis_icecast_state{{{target},state=\"live\"}}")),
        Some(1.0)
    );
    let reconnects = auralis.metric(&format!("auralis_icecast_reconnects_total{{{target}}}"));
    assert!(reconnects >= Some(1.0), "{reconnects:?}");
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
    let (_, metrics) = http_get(auralis.port, "/metrics").expect("GET /metrics");
    let everything = format!("{lines:?}{body}{metrics}");
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
