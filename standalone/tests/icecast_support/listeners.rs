//! The Icecast test's listeners: ffmpeg as an ordinary player, plain HTTP pulls checked as
//! Ogg, and a browser's WebSocket view of the web monitor.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use auralis::monitor::{FLAG_DISCONTINUITY, PacketHeader};
use ogg::reading::PacketReader;
use tungstenite::Message;

use super::{Auralis, MOUNT};

/// What ffmpeg decoded from the mount over a measured stretch of listening.
pub struct Decoded {
    pub decoded: Duration,
    pub wall: Duration,
    pub rms_db: f64,
    pub errors: String,
}

/// Decodes the stream with ffmpeg as an ordinary listener and measures `window` of it. The
/// first second is skipped: Icecast sends each new listener a burst of the recent past, which
/// arrives faster than real time by design.
pub fn decode_with_ffmpeg(url: &str, window: Duration) -> Decoded {
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
pub fn cpu_rate(auralis: &Auralis, window: Duration) -> f64 {
    let (cpu_before, wall_before) = (auralis.cpu_seconds(), Instant::now());
    thread::sleep(window);
    (auralis.cpu_seconds() - cpu_before) / wall_before.elapsed().as_secs_f64()
}

/// A plain HTTP listener on the mount for `length`; the seconds of audio in what it got,
/// after checking that it is one continuous Ogg/Opus stream.
pub fn pull_ogg(port: u16, length: Duration) -> JoinHandle<Result<f64, String>> {
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
pub fn ogg_audio_seconds(bytes: &[u8]) -> Result<f64, String> {
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
pub struct Heard {
    pub skipped: u64,
    pub discontinuities: u64,
    pub audio: Duration,
    pub wall: Duration,
}

/// A browser's view of the web monitor: a WebSocket listener on `/stream` until `stop` (or,
/// if it is already set, for two seconds).
pub fn listen_to_monitor(port: u16, stop: Arc<AtomicBool>) -> JoinHandle<Result<Heard, String>> {
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
