//! Measures what many listeners cost the monitor: CPU of the monitor's own threads and the
//! latency from the tap to the clients, with N loopback WebSocket clients (default 100).
//!
//! `cargo run --release --example listeners -- [N] [SECONDS]`. Linux only (reads /proc).

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use auralis::monitor::{MonitorConfig, MonitorServer, MonitorStatus, StatusSource};
use auralis::realtime::{TapProducer, tap_ring};
use tungstenite::Message;

const SAMPLE_RATE: u32 = 48_000;
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
fn monitor_cpu_s() -> f64 {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").expect("Linux /proc") {
        let Ok(stat) = std::fs::read_to_string(task.unwrap().path().join("stat")) else {
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
    ticks as f64 / CLOCK_TICKS_PER_S
}

fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().map_or(100, |n| n.parse().expect("N clients"));
    let seconds: u64 = args.next().map_or(10, |s| s.parse().expect("SECONDS"));

    let (producer, consumer) = tap_ring(SAMPLE_RATE as usize / 2);
    let config = MonitorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..MonitorConfig::default()
    };
    let server =
        MonitorServer::start(config, consumer, SAMPLE_RATE, Arc::new(Quiet), None).unwrap();
    let addr = server.local_addr();
    let start = Instant::now();
    let running = Arc::new(AtomicBool::new(true));
    let producer_running = running.clone();
    let producer = thread::spawn(move || play_sine(producer, start, producer_running));

    let readers: Vec<_> = (0..clients)
        .map(|_| {
            let running = running.clone();
            thread::spawn(move || {
                let stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let (mut socket, _) =
                    tungstenite::client(format!("ws://{addr}/stream"), stream).unwrap();
                let mut latencies_ms = Vec::new();
                while running.load(Ordering::Relaxed) {
                    let Ok(Message::Binary(packet)) = socket.read() else {
                        continue;
                    };
                    let sequence = u64::from_le_bytes(packet[16..24].try_into().unwrap());
                    // Packet n is complete once block 2n+1 is pushed, at (2n+1) × 10 ms.
                    let complete = start + Duration::from_millis(10 * (2 * sequence + 1));
                    latencies_ms.push(
                        Instant::now()
                            .saturating_duration_since(complete)
                            .as_secs_f64()
                            * 1e3,
                    );
                }
                latencies_ms
            })
        })
        .collect();
    while server.listeners() < clients {
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_secs(1));
    let (cpu_before, wall_before) = (monitor_cpu_s(), Instant::now());
    thread::sleep(Duration::from_secs(seconds));
    let cpu_s = monitor_cpu_s() - cpu_before;
    let wall_s = wall_before.elapsed().as_secs_f64();
    running.store(false, Ordering::Relaxed);
    let mut latencies: Vec<f64> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    producer.join().unwrap();
    server.stop();

    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{clients} listeners, {wall_s:.1} s: monitor threads used {:.1}% of one core",
        100.0 * cpu_s / wall_s
    );
    println!(
        "tap→client latency over {} packets: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
