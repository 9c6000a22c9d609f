//! One Icecast output's thread: connect, send the stream's headers, pass the broadcaster's
//! packets on as they arrive, and when anything fails wait (capped exponential backoff) and
//! start over with a fresh Ogg stream on a new serial number.
//!
//! Pacing is the packets' arrival: the broadcaster hands over each 20 ms packet when the
//! engine's clock produced it, so the stream is never faster than real time, and the queue
//! between the two ([`super::QUEUE_PACKETS`], one second) bounds any burst after a stall.
//! The thread blocks on its socket and its queue only; the broadcaster never waits for it.
//!
//! Logging: one line per change of state (live, lost, a new reason for failing), never one per
//! retry. Nothing here prints the password: targets print without it and every text from the
//! server is scrubbed ([`IcecastTarget::redact`]).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nice_plug::{nice_log, nice_warn};
use tungstenite::Bytes;

use super::handshake::{self, MAX_RESPONSE_BYTES, StreamInfo};
use super::metadata::TitleUpdates;
use super::ogg_opus::{OggOpusStream, StreamTags};
use super::report::{IcecastState, IcecastTargetStatus};
use super::target::IcecastTarget;
use crate::monitor::status::{MonitorStatus, StatusSource};

/// Time allowed to open the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for Icecast's answer, and for each write: an Icecast that takes longer is
/// treated as gone (its own source timeout is 10 s).
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between attempts, so a restarted Icecast has its stream back within it.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A connection that lasted this long was healthy: the next failure starts the backoff over.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// How long a wait for the next packet lasts before the thread looks around again.
const PACKET_WAIT: Duration = Duration::from_millis(200);

/// One Icecast output.
pub(super) struct Source {
    /// Where to.
    pub target: IcecastTarget,
    /// Opus packets (payloads only) from the broadcaster; disconnected when it stops.
    pub packets: Receiver<Bytes>,
    /// What `/status` shows of this output.
    pub status: Arc<IcecastTargetStatus>,
    /// The engine's status, for the stream's description and titles.
    pub engine: Arc<dyn StatusSource>,
    /// Nominal bitrate for the `Ice-*` headers, kbit/s.
    pub bitrate_kbps: u32,
}

/// How a connection ended.
enum Ended {
    /// The server is stopping.
    Stopped,
    /// The connection failed or was refused, for this reason.
    Failed(String),
}

impl Source {
    /// Feeds the target until the broadcaster stops.
    pub fn run(self) {
        let mut backoff = FIRST_BACKOFF;
        // The reason last logged, so a retry that fails the same way stays quiet.
        let mut reported: Option<String> = None;
        let mut titles = TitleUpdates::new(self.target.clone());
        for attempt in 0u64.. {
            if attempt > 0 {
                self.status.count_reconnect();
            }
            self.status.set_state(IcecastState::Connecting);
            let problem = match self.connect() {
                Err(problem) => {
                    if reported.as_ref() != Some(&problem) {
                        nice_warn!(
                            "icecast {}: {problem}; retrying, at least every {} s",
                            self.target,
                            MAX_BACKOFF.as_secs()
                        );
                    }
                    problem
                }
                Ok(socket) => {
                    self.status.set_state(IcecastState::Live);
                    let again = if attempt > 0 { " again" } else { "" };
                    nice_log!("icecast {}: live{again}", self.target);
                    let since = Instant::now();
                    match self.stream(socket, &mut titles) {
                        Ended::Stopped => break,
                        Ended::Failed(problem) => {
                            nice_warn!(
                                "icecast {}: stream lost ({problem}); reconnecting",
                                self.target
                            );
                            if since.elapsed() >= HEALTHY_AFTER {
                                backoff = FIRST_BACKOFF;
                            }
                            problem
                        }
                    }
                }
            };
            self.status.fail(problem.clone());
            reported = Some(problem);
            if !self.wait(backoff) {
                break;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        self.status.set_state(IcecastState::Stopped);
    }

    /// Connects and has Icecast accept the stream, or says why not.
    fn connect(&self) -> Result<TcpStream, String> {
        let target = &self.target;
        let addresses: Vec<_> = (target.host(), target.port())
            .to_socket_addrs()
            .map_err(|error| format!("cannot resolve {}: {error}", target.host()))?
            .collect();
        let mut last_error = None;
        let mut socket = None;
        for address in &addresses {
            match TcpStream::connect_timeout(address, CONNECT_TIMEOUT) {
                Ok(connected) => {
                    socket = Some(connected);
                    break;
                }
                Err(error) => last_error = Some(error),
            }
        }
        let mut socket = socket.ok_or_else(|| {
            let why = last_error.map_or_else(|| "no address".to_owned(), |e| plain(&e));
            format!("cannot reach {}: {why}", target.authority())
        })?;
        let io_problem =
            |error: io::Error| format!("no answer from {}: {}", target.authority(), plain(&error));
        socket.set_nodelay(true).map_err(io_problem)?;
        socket
            .set_read_timeout(Some(IO_TIMEOUT))
            .map_err(io_problem)?;
        socket
            .set_write_timeout(Some(IO_TIMEOUT))
            .map_err(io_problem)?;
        let info = stream_info(&self.engine.status(), self.bitrate_kbps);
        socket
            .write_all(handshake::request(target, &info).as_bytes())
            .map_err(io_problem)?;

        let mut answer = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        loop {
            let read = socket.read(&mut chunk).map_err(io_problem)?;
            if read == 0 && answer.is_empty() {
                return Err(format!(
                    "{} closed the connection without an answer",
                    target.authority()
                ));
            }
            answer.extend_from_slice(&chunk[..read]);
            match handshake::parse_response(target, &answer) {
                Ok(Some(())) => return Ok(socket),
                Err(refusal) => return Err(refusal.to_string()),
                Ok(None) if read == 0 || answer.len() > MAX_RESPONSE_BYTES => {
                    return Err(format!("{} sent an incomplete answer", target.authority()));
                }
                Ok(None) => {}
            }
        }
    }

    /// Streams on an accepted connection until it fails or the server stops.
    fn stream(&self, mut socket: TcpStream, titles: &mut TitleUpdates) -> Ended {
        // Packets that waited while we connected are stale; sending them would be a burst.
        while self.packets.try_recv().is_ok() {}
        let engine = self.engine.status();
        let mut ogg = OggOpusStream::start(new_serial(), &stream_tags(&engine));
        titles.restart(&title(&engine));
        if let Err(problem) = self.send(&mut socket, &ogg.take_pages()) {
            return Ended::Failed(problem);
        }
        loop {
            match self.packets.recv_timeout(PACKET_WAIT) {
                Ok(packet) => {
                    if ogg.push(&packet)
                        && let Err(problem) = self.send(&mut socket, &ogg.take_pages())
                    {
                        return Ended::Failed(problem);
                    }
                }
                // The engine paused; if it lasts, Icecast's source timeout ends the connection.
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ended::Stopped,
            }
            titles.poll(|| title(&self.engine.status()));
        }
    }

    /// Writes `bytes` and counts them.
    fn send(&self, socket: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
        socket.write_all(bytes).map_err(|error| plain(&error))?;
        self.status.add_bytes(bytes.len());
        Ok(())
    }

    /// Waits `pause`, draining packets meanwhile; false when the server is stopping.
    fn wait(&self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        loop {
            let now = Instant::now();
            if now >= until {
                return true;
            }
            match self.packets.recv_timeout(until - now) {
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
    }
}

/// An I/O error as a short phrase ("connection refused"), the same every time it recurs.
fn plain(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::BrokenPipe => "connection closed by Icecast".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".into(),
        _ => error.to_string(),
    }
}

/// A serial number unlike the last one, so players see each connection as a new stream.
fn new_serial() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos() ^ t.as_secs() as u32);
    nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9)
}

/// "Generative ambient in D Dorian at 70 BPM".
fn description(status: &MonitorStatus) -> String {
    format!(
        "Generative ambient in {} {} at {:.0} BPM",
        status.key, status.scale, status.tempo_bpm
    )
}

/// "Dm9 · D Dorian", or just the key before the first chord.
pub(super) fn title(status: &MonitorStatus) -> String {
    if status.chord.is_empty() {
        format!("{} {}", status.key, status.scale)
    } else {
        format!("{} · {} {}", status.chord, status.key, status.scale)
    }
}

fn stream_info(status: &MonitorStatus, bitrate_kbps: u32) -> StreamInfo {
    StreamInfo {
        name: "Auralis".into(),
        description: description(status),
        genre: "Ambient".into(),
        bitrate_kbps,
    }
}

fn stream_tags(status: &MonitorStatus) -> StreamTags {
    StreamTags {
        title: title(status),
        description: description(status),
    }
}
