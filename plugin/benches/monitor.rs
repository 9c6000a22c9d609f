//! Web monitor benchmark: what many listeners cost the monitor, with 100 loopback WebSocket
//! clients fed a sine pushed into the tap in real time (10 ms blocks).
//!
//! - `monitor_listeners_cpu_pct`: CPU time of the monitor's own threads (those named
//!   `auralis-monito…`, from /proc) over wall time, in % of one core. The clients' threads are
//!   not counted: they stand for browsers on other machines.
//! - `monitor_latency_ms` (median) and `monitor_latency_ms_p99`: from the moment the last block
//!   of a packet is pushed into the tap to the moment a client has read the whole packet, over
//!   every packet every client received.
//!
//! A `harness = false` program run by `cargo xtask bench`: figures go to the JSON file in
//! `AURALIS_BENCH_OUT` and stdout. `--quick` measures 3 s instead of 10. Linux only (reads
//! /proc).

use std::error::Error;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use auralis::monitor::{MonitorConfig, MonitorServer, MonitorStatus, StatusSource};
use auralis::realtime::{TapProducer, tap_ring};
use auralis::signal::SampleRate;
use tungstenite::Message;

const SAMPLE_RATE: u32 = 48_000;
const LISTENERS: usize = 100;
const BLOCK_FRAMES: usize = 480;
/// Linux's USER_HZ, the unit of /proc's CPU times, on every mainstream architecture.
const CLOCK_TICKS_PER_S: f64 = 100.0;

struct Quiet;

impl StatusSource for Quiet {
    fn status(&self) -> MonitorStatus {
        MonitorStatus {
            key: "D".into(),
            chord: "Dm9".into(),
            sample_rate: SAMPLE_RATE,
            ..MonitorStatus::default()
        }
    }
}

/// Pushes a sine in real time from `start`, 10 ms per block; block b is pushed at b × 10 ms.
fn play_sine(mut tap: TapProducer, start: Instant, running: Arc<AtomicBool>) {
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let mut phase = 0.0f64;
    let mut block = 0u64;
    while running.load(Ordering::Relaxed) {
        let due = start + Duration::from_millis(10 * block);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        for (l, r) in left.iter_mut().zip(&mut right) {
            let sample = (0.3 * (phase * std::f64::consts::TAU).sin()) as f32;
            (*l, *r) = (sample, sample);
            phase = (phase + 440.0 / f64::from(SAMPLE_RATE)).fract();
        }
        tap.push_block(&left, &right);
        block += 1;
    }
}

/// CPU seconds used so far by this process's threads whose name starts with the monitor's.
fn monitor_cpu_s() -> Result<f64, Box<dyn Error>> {
    let mut ticks = 0u64;
    let tasks = std::fs::read_dir("/proc/self/task")
        .map_err(|err| format!("reading /proc/self/task (this benchmark needs Linux): {err}"))?;
    for task in tasks.flatten() {
        // A thread may end between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // "tid (comm) state …": comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with("auralis-monito") {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after comm.
        ticks += fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
    }
    Ok(ticks as f64 / CLOCK_TICKS_PER_S)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 3 } else { 10 };
    if let Err(err) = run(LISTENERS, seconds) {
        eprintln!("monitor benchmark: {err}");
        std::process::exit(1);
    }
}

fn run(clients: usize, seconds: u64) -> Result<(), Box<dyn Error>> {
    let (producer, consumer) = tap_ring(SAMPLE_RATE as usize / 2);
    let config = MonitorConfig {
        bind: "127.0.0.1:0".parse()?,
        // The figure is defined for 100 listeners, above the default limit.
        max_listeners: LISTENERS,
        ..MonitorConfig::default()
    };
    let server = MonitorServer::start(config, consumer, SampleRate::DEFAULT, Arc::new(Quiet), None)
        .map_err(|err| format!("starting the monitor: {err}"))?;
    let addr = server.local_addr();
    let start = Instant::now();
    let running = Arc::new(AtomicBool::new(true));
    let producer_running = running.clone();
    let producer = thread::spawn(move || play_sine(producer, start, producer_running));

    let readers: Vec<_> = (0..clients)
        .map(|_| {
            let running = running.clone();
            thread::spawn(move || -> Result<Vec<f64>, String> {
                let stream = TcpStream::connect(addr).map_err(|err| format!("connect: {err}"))?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|err| format!("read timeout: {err}"))?;
                let (mut socket, _) = tungstenite::client(format!("ws://{addr}/stream"), stream)
                    .map_err(|err| format!("WebSocket handshake: {err}"))?;
                let mut latencies_ms = Vec::new();
                while running.load(Ordering::Relaxed) {
                    let Ok(Message::Binary(packet)) = socket.read() else {
                        continue;
                    };
                    let Some(sequence) = packet.get(16..24) else {
                        return Err(format!("a {}-byte audio packet", packet.len()));
                    };
                    let sequence = u64::from_le_bytes(sequence.try_into().expect("8 bytes"));
                    // Packet n is complete once block 2n+1 is pushed, at (2n+1) × 10 ms.
                    let complete = start + Duration::from_millis(10 * (2 * sequence + 1));
                    latencies_ms.push(
                        Instant::now()
                            .saturating_duration_since(complete)
                            .as_secs_f64()
                            * 1e3,
                    );
                }
                Ok(latencies_ms)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.listeners() < clients {
        if Instant::now() > deadline {
            running.store(false, Ordering::Relaxed);
            return Err(format!(
                "only {} of {clients} listeners connected within 30 s",
                server.listeners()
            )
            .into());
        }
        thread::sleep(Duration::from_millis(10));
    }
    // Every client is past its handshake and receiving before the window opens.
    thread::sleep(Duration::from_secs(1));
    let (cpu_before, wall_before) = (monitor_cpu_s()?, Instant::now());
    thread::sleep(Duration::from_secs(seconds));
    let cpu_s = monitor_cpu_s()? - cpu_before;
    let wall_s = wall_before.elapsed().as_secs_f64();
    running.store(false, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for reader in readers {
        let received = reader.join().map_err(|_| "a listener thread panicked")?;
        latencies.extend(received.map_err(|err| format!("a listener failed: {err}"))?);
    }
    producer.join().map_err(|_| "the tap thread panicked")?;
    server.stop();
    if latencies.is_empty() {
        return Err("no listener received any audio".into());
    }

    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let figures = serde_json::json!({
        "monitor_listeners": clients,
        "monitor_listeners_cpu_pct": round1(100.0 * cpu_s / wall_s),
        "monitor_latency_ms": round1(at(0.5)),
        "monitor_latency_ms_p99": round1(at(0.99)),
    });
    let json = serde_json::to_string_pretty(&figures)? + "\n";
    print!("{json}");
    eprintln!(
        "{clients} listeners, {wall_s:.1} s, {} packets received; latency max {:.1} ms",
        latencies.len(),
        at(1.0)
    );
    if let Some(path) = std::env::var_os("AURALIS_BENCH_OUT") {
        std::fs::write(&path, &json)
            .map_err(|err| format!("writing {}: {err}", std::path::Path::new(&path).display()))?;
    }
    Ok(())
}
