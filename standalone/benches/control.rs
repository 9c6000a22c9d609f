//! `serve_control_latency_ms`: from a parameter change through `serve`'s API to the first
//! changed sample reaching a listener, measured by a client.
//!
//! Each trial starts two servers playing the same seed on the CPU renderer, which stream the
//! same samples, and listens to both over the web monitor's PCM16 stream. After a few seconds
//! (varied per trial, so the call lands anywhere between the engine's saved states) the client
//! sends `PUT /api/v1/params` to one of them, noting the time just before it connects. The
//! first sample where the two streams differ is the change; the figure is the time from the
//! call to the arrival of the packet that carries that sample. It includes everything a
//! listener waits for: the API, the engine's revision of its lead, the clock, the packet
//! assembly (20 ms packets) and the socket.
//!
//! Figures: `serve_control_latency_ms` (median over the trials), `serve_control_latency_ms_max`,
//! `serve_control_trials`, and `serve_control_underruns` (from `/metrics` of both servers: the
//! revisions must not cost a gap) and `serve_rss_mb` (the changed server's resident memory at
//! the end of its trial, largest over the trials). A `harness = false` program run by `cargo xtask bench`:
//! figures go to the JSON file in `AURALIS_BENCH_OUT` and stdout. `--quick` runs 4 trials
//! instead of 10.

use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use auralis::monitor::{Codec, PacketHeader};
use serde_json::Map;

const TOKEN: &str = "bench";
/// The changes the trials make, in turn: each one heard at once by the engine. (A new key,
/// scale or intensity is heard from the next notes the composer plans, a few beats ahead, so
/// its latency would measure the music, not the server.)
const CHANGES: [&str; 4] = [
    r#"{"brightness":0.9}"#,
    r#"{"space":0.95}"#,
    r#"{"seed":4242}"#,
    r#"{"brightness":0.15}"#,
];

/// The tests' `auralis serve` on a free port, killed when dropped.
#[path = "../tests/common/mod.rs"]
mod common;

use common::Server;

/// Starts a server playing the benchmark's seed on the CPU renderer, with the API on.
fn start_server() -> Server {
    Server::start_with_env(
        &["--token", TOKEN, "--seed", "7", "--renderer", "cpu"],
        &[("AURALIS_LOG", "warn")],
    )
}

/// Resident memory of `server`, MB (from /proc): what keeping the engine's states along the
/// lead costs shows here.
fn rss_mb(server: &Server) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kb| kb / 1024.0)
        .context("no VmRSS in /proc/<pid>/status")
}

/// `auralis_underruns_total` from `server`'s `/metrics`.
fn underruns(server: &Server) -> Result<u64> {
    let (_, body) = server.request("GET", &format!("/metrics?token={TOKEN}"), "");
    body.lines()
        .find_map(|line| line.strip_prefix("auralis_underruns_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
        .context("no auralis_underruns_total in /metrics")
}

/// One packet as a listener got it.
struct Packet {
    first_frame: u64,
    samples: Vec<i16>,
    arrived: Instant,
}

/// What a listener has received so far.
type Received = Arc<Mutex<Vec<Packet>>>;

/// Listens to `server`'s PCM16 stream on a thread until `until`.
fn listen(server: &Server, until: Instant) -> Result<(Received, thread::JoinHandle<()>)> {
    let stream = TcpStream::connect(("127.0.0.1", server.port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let url = format!(
        "ws://127.0.0.1:{}/stream?codec=pcm16&token={TOKEN}",
        server.port
    );
    let (mut socket, _) = tungstenite::client(url, stream).context("WebSocket handshake")?;
    let received = Received::default();
    let sink = received.clone();
    let handle = thread::spawn(move || {
        while Instant::now() < until {
            let Ok(message) = socket.read() else { break };
            let arrived = Instant::now();
            let tungstenite::Message::Binary(bytes) = message else {
                continue;
            };
            let Some((header, payload)) = PacketHeader::parse(&bytes) else {
                continue;
            };
            if header.codec != Codec::Pcm16 {
                continue;
            }
            let samples = payload
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            let first_frame = header.sequence * u64::from(header.frame_count);
            sink.lock().unwrap().push(Packet {
                first_frame,
                samples,
                arrived,
            });
        }
    });
    Ok((received, handle))
}

/// What one trial measured.
struct Outcome {
    latency_ms: f64,
    underruns: u64,
    rss_mb: f64,
}

/// One trial: the latency of one change.
fn trial(index: usize) -> Result<Outcome> {
    let (changed, reference) = (start_server(), start_server());
    // Both engines prime their lead before playing; start listening once both play.
    let settle = Duration::from_millis(2_500 + 137 * index as u64);
    let end = Instant::now() + settle + Duration::from_secs(3);
    let (changed_rx, changed_thread) = listen(&changed, end)?;
    let (reference_rx, reference_thread) = listen(&reference, end)?;
    thread::sleep(settle);
    let body = CHANGES[index % CHANGES.len()];
    let asked = Instant::now();
    let (code, reply) = changed.request("PUT", &format!("/api/v1/params?token={TOKEN}"), body);
    if code != 200 {
        bail!("PUT {body} answered {code}: {reply}");
    }
    changed_thread.join().ok();
    reference_thread.join().ok();
    let underruns = underruns(&changed)? + underruns(&reference)?;
    let rss_mb = rss_mb(&changed)?;

    let changed = changed_rx.lock().unwrap();
    let reference = reference_rx.lock().unwrap();
    let by_frame: std::collections::HashMap<u64, &Packet> =
        reference.iter().map(|p| (p.first_frame, p)).collect();
    let mut compared = 0;
    for packet in changed.iter() {
        let Some(other) = by_frame.get(&packet.first_frame) else {
            continue;
        };
        compared += 1;
        if packet.samples != other.samples {
            if packet.arrived < asked {
                bail!(
                    "the streams differ before the change, at frame {} (an underrun?)",
                    packet.first_frame
                );
            }
            return Ok(Outcome {
                latency_ms: (packet.arrived - asked).as_secs_f64() * 1e3,
                underruns,
                rss_mb,
            });
        }
    }
    bail!("no changed sample within 3 s of the call ({compared} packets compared)")
}

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let trials = if quick { 4 } else { 10 };
    let mut latencies = Vec::new();
    let (mut underruns, mut rss_mb) = (0, 0.0f64);
    for index in 0..trials {
        let outcome = trial(index)?;
        eprintln!(
            "control: {} → {:.1} ms ({} underruns, {:.0} MB resident)",
            CHANGES[index % CHANGES.len()],
            outcome.latency_ms,
            outcome.underruns,
            outcome.rss_mb
        );
        latencies.push(outcome.latency_ms);
        underruns += outcome.underruns;
        rss_mb = rss_mb.max(outcome.rss_mb);
    }
    latencies.sort_by(f64::total_cmp);
    let median = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    let mut figures = Map::new();
    let round = |v: f64| (v * 10.0).round() / 10.0;
    figures.insert("serve_control_latency_ms".into(), round(median).into());
    figures.insert("serve_control_latency_ms_max".into(), round(max).into());
    figures.insert("serve_control_trials".into(), trials.into());
    figures.insert("serve_control_underruns".into(), underruns.into());
    figures.insert("serve_rss_mb".into(), rss_mb.round().into());
    let text = serde_json::to_string_pretty(&figures)?;
    println!("{text}");
    if let Ok(path) = std::env::var("AURALIS_BENCH_OUT") {
        std::fs::write(&path, text + "\n").with_context(|| format!("write {path}"))?;
    }
    Ok(())
}
