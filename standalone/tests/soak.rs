//! Soak: `auralis serve` playing on while 50 listeners keep connecting and leaving and the
//! other core is kept busy. Every listener must hear continuous audio, the engine must never
//! run dry, and the server's memory must stay flat.
//!
//! The test command runs it for 60 s. `AURALIS_SOAK_SECONDS=1800 cargo test --release -p
//! auralis-standalone --test soak -- --nocapture` is the long run whose figures the README
//! quotes; the figures are printed either way.

mod common;

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auralis::monitor::{FLAG_DISCONTINUITY, PacketHeader};
use common::Server;
use tungstenite::Message;

const LISTENERS: usize = 50;
/// A listener that receives nothing for this long has been left behind.
const STALL: Duration = Duration::from_secs(2);

fn soak_duration() -> Duration {
    let seconds = std::env::var("AURALIS_SOAK_SECONDS")
        .ok()
        .map(|s| {
            s.parse::<u64>()
                .ok()
                .filter(|s| *s >= 20)
                .unwrap_or_else(|| panic!("AURALIS_SOAK_SECONDS={s:?}: a whole number ≥ 20"))
        })
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

/// What one connection heard, from its first packet to its last.
#[derive(Debug, Default)]
struct Session {
    packets: u64,
    frames: u64,
    /// Sequence numbers skipped: packets this listener never got.
    skipped: u64,
    /// Packets flagged as following frames the server lost.
    discontinuities: u64,
    /// Sum of squared samples and their count, for the level.
    energy: f64,
    samples: u64,
    listened: Duration,
    failure: Option<String>,
}

/// Connects, listens for `length`, and reports what arrived.
fn listen(port: u16, length: Duration) -> Session {
    let mut session = Session::default();
    let result = (|| -> Result<(), String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(STALL))
            .map_err(|e| e.to_string())?;
        let (mut socket, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/stream"), stream)
            .map_err(|e| format!("handshake: {e}"))?;
        let mut first: Option<Instant> = None;
        let mut next_sequence = None;
        loop {
            let message = socket
                .read()
                .map_err(|e| format!("after {} packets: {e}", session.packets))?;
            let Message::Binary(bytes) = message else {
                continue;
            };
            let (header, payload) =
                PacketHeader::parse(&bytes).ok_or("a packet that does not parse")?;
            let now = Instant::now();
            let started = *first.get_or_insert(now);
            if let Some(expected) = next_sequence
                && header.sequence != expected
            {
                session.skipped += header.sequence.saturating_sub(expected);
            }
            next_sequence = Some(header.sequence + 1);
            if header.flags & FLAG_DISCONTINUITY != 0 && session.packets > 0 {
                session.discontinuities += 1;
            }
            session.packets += 1;
            session.frames += u64::from(header.frame_count);
            for sample in payload.chunks_exact(2) {
                let value = f64::from(i16::from_le_bytes([sample[0], sample[1]])) / 32768.0;
                session.energy += value * value;
                session.samples += 1;
            }
            session.listened = now - started;
            if session.listened >= length {
                let _ = socket.close(None);
                return Ok(());
            }
        }
    })();
    session.failure = result.err();
    session
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    // Linux reports CPU time in clock ticks of 100 Hz to user space.
    ticks / 100.0
}

#[test]
fn serve_plays_on_for_listeners_who_come_and_go_with_flat_memory_and_no_underrun() {
    let length = soak_duration();
    let server = Server::start(&["--renderer", "cpu", "--max-listeners", "64"]);
    let pid = server.child.id();
    let running = Arc::new(AtomicBool::new(true));

    // The other core: kept busy for the whole soak.
    let burner = {
        let running = running.clone();
        std::thread::spawn(move || {
            let mut x = 1u64;
            while running.load(Ordering::Relaxed) {
                for _ in 0..10_000 {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
        })
    };

    let started = Instant::now();
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let listeners: Vec<_> = (0..LISTENERS)
        .map(|index| {
            let (running, sessions) = (running.clone(), sessions.clone());
            let port = server.port;
            std::thread::spawn(move || {
                // Each listener stays a different while, 3–12 s, then comes back.
                let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (index as u64 + 1);
                while running.load(Ordering::Relaxed) {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let stay = Duration::from_millis(3_000 + state % 9_000);
                    let session = listen(port, stay);
                    sessions.lock().unwrap().push(session);
                }
            })
        })
        .collect();

    let mut memory = Vec::new();
    let cpu_at_start = cpu_seconds(pid);
    while started.elapsed() < length {
        std::thread::sleep(Duration::from_secs(1));
        memory.push(resident_kib(pid));
    }
    let cpu = (cpu_seconds(pid) - cpu_at_start) / started.elapsed().as_secs_f64();
    let status = server.status("");
    running.store(false, Ordering::Relaxed);
    for listener in listeners {
        listener.join().expect("listener thread");
    }
    burner.join().expect("burner");

    let sessions = sessions.lock().unwrap();
    let failures: Vec<_> = sessions.iter().filter_map(|s| s.failure.as_ref()).collect();
    let packets: u64 = sessions.iter().map(|s| s.packets).sum();
    let skipped: u64 = sessions.iter().map(|s| s.skipped).sum();
    let discontinuities: u64 = sessions.iter().map(|s| s.discontinuities).sum();
    let energy: f64 = sessions.iter().map(|s| s.energy).sum();
    let samples: u64 = sessions.iter().map(|s| s.samples).sum();
    let rms_db = 10.0 * (energy / samples.max(1) as f64).log10();
    // Flat: after the first quarter (start-up, the listeners' first connections), the highest
    // resident size stays within a few MiB of where it was.
    let settled = memory[memory.len() / 4];
    let highest = *memory[memory.len() / 4..].iter().max().unwrap_or(&0);
    let growth_mib = (highest.saturating_sub(settled)) as f64 / 1024.0;
    println!(
        "soak: {:.0} s, {} sessions, {packets} packets, {skipped} skipped, {discontinuities} \
         discontinuities, level {rms_db:.1} dBFS, underruns {}, server CPU {:.1}% of a core, \
         memory {:.1} → {:.1} MiB (highest {:.1})",
        started.elapsed().as_secs_f64(),
        sessions.len(),
        status["underruns"],
        cpu * 100.0,
        memory[0] as f64 / 1024.0,
        memory.last().copied().unwrap_or(0) as f64 / 1024.0,
        highest as f64 / 1024.0,
    );

    assert!(
        failures.is_empty(),
        "listeners lost the stream: {failures:?}"
    );
    assert!(
        sessions.len() >= LISTENERS * 2,
        "listeners came and went: {} sessions",
        sessions.len()
    );
    assert_eq!(status["underruns"], 0, "the engine ran dry: {status}");
    assert_eq!(status["dropped_frames"], 0, "the tap overflowed: {status}");
    assert_eq!(skipped, 0, "listeners were skipped ahead (fell behind)");
    assert_eq!(discontinuities, 0, "the stream had discontinuities");
    for session in sessions.iter() {
        // 20 ms packets: a listener that was served continuously got one per 20 ms.
        let expected = session.listened.as_secs_f64() / 0.02;
        assert!(
            session.packets as f64 >= expected * 0.95,
            "a listener got {} packets in {:?}",
            session.packets,
            session.listened
        );
    }
    assert!(
        rms_db > -45.0,
        "the listeners heard music, not silence ({rms_db:.1} dBFS)"
    );
    assert!(
        growth_mib < 8.0,
        "memory grew {growth_mib:.1} MiB after settling: {memory:?}"
    );
}
