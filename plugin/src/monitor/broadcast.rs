//! The broadcast thread: pops the output tap, cuts it into packets, and fans them out to every
//! listener, with status messages when something changes.
//!
//! One ordinary (not realtime) thread owns the tap's consumer and every listener's socket.
//! It never blocks: the tap is popped without waiting, sockets are non-blocking, and each
//! listener's backlog lives in its own bounded queue. So the producer is never stalled (the
//! tap drops when this thread falls behind, which `dropped_frames` reports), and one listener
//! can never delay another.
//!
//! Why one thread with non-blocking sockets rather than a writer thread per listener: a packet
//! is encoded once and shared by reference, the cost is a `send` per listener per packet
//! (100 loopback listeners cost a few percent of a core, see `benches/monitor.rs`), and the
//! thread count does not grow with the audience.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, Utf8Bytes};

#[cfg(feature = "opus")]
use super::icecast::IcecastFeed;
use super::listener::{Listener, Liveness};
#[cfg(feature = "opus")]
use super::packet::HEADER_BYTES;
use super::packet::{
    CHANNELS, Codec, FLAG_DISCONTINUITY, PacketAssembler, PacketHeader, encode_pcm16,
    frames_per_packet,
};
use super::state::ServerState;
use super::status::{MonitorStatus, hello_message, status_message};
use crate::realtime::{Frame, TapConsumer};

/// Sleep between rounds. A quarter of a packet: latency stays low and wake-ups cheap.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How often the engine's status is polled for changes.
const STATUS_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// A status message goes out at least this often, so the page can tell the server is alive.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Listeners are serviced (reads, retries, closes) at least this often when no audio flows.
const IDLE_SERVICE_INTERVAL: Duration = Duration::from_millis(20);
/// Time given to listeners to receive the close frame on shutdown.
const STOP_GRACE: Duration = Duration::from_millis(500);
/// Frames popped from the tap per call.
const TAP_CHUNK_FRAMES: usize = 4096;

/// The broadcast thread's state.
pub(super) struct Broadcaster {
    /// Shared with the server and the request threads.
    shared: Arc<ServerState>,
    /// The output tap; only this thread reads it.
    tap: TapConsumer,
    /// Upgraded sockets from the request threads.
    incoming: Receiver<Listener>,
    /// Everyone connected, including listeners being closed.
    listeners: Vec<Listener>,
    /// Cuts tap frames into packets.
    assembler: PacketAssembler,
    /// Where tap frames are popped into.
    scratch: Vec<Frame>,
    /// The tap's dropped count at the last look, to flag discontinuities.
    last_dropped_frames: u64,
    /// Set when the tap dropped frames; goes into the next packet's flags.
    discontinuity: bool,
    /// Status and listener count last sent, to send only changes.
    last_status: Option<(MonitorStatus, usize)>,
    /// When the status is polled next.
    next_status_poll: Instant,
    /// When a status message last went out, for the heartbeat.
    last_status_sent: Instant,
    /// When listeners are serviced next if no packet comes first.
    next_service: Instant,
    /// Opus encoder, made when the first Opus packet is wanted.
    #[cfg(feature = "opus")]
    opus: Option<super::opus_codec::OpusPacketEncoder>,
    /// The Icecast outputs' queues; each gets every Opus packet. Dropping them (when this
    /// thread ends) ends their threads.
    #[cfg(feature = "opus")]
    icecast: Vec<IcecastFeed>,
}

impl Broadcaster {
    /// A broadcaster for `tap`, fed listeners through `incoming`, encoding for `icecast` too.
    pub fn new(
        shared: Arc<ServerState>,
        tap: TapConsumer,
        incoming: Receiver<Listener>,
        #[cfg(feature = "opus")] icecast: Vec<IcecastFeed>,
    ) -> Self {
        let now = Instant::now();
        Self {
            assembler: PacketAssembler::new(frames_per_packet(shared.sample_rate)),
            shared,
            tap,
            incoming,
            listeners: Vec::new(),
            scratch: vec![[0.0; 2]; TAP_CHUNK_FRAMES],
            last_dropped_frames: 0,
            discontinuity: false,
            last_status: None,
            next_status_poll: now,
            last_status_sent: now,
            next_service: now,
            #[cfg(feature = "opus")]
            opus: None,
            #[cfg(feature = "opus")]
            icecast,
        }
    }

    /// Runs until the server stops, then closes every listener and gives the tap back, so its
    /// owner can start another server on the same tap.
    pub fn run(mut self) -> TapConsumer {
        while !self.shared.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            self.admit_new(now);
            let produced = self.pump_audio(now);
            self.poll_status(now);
            if produced || now >= self.next_service {
                self.service_all(now);
                self.next_service = now + IDLE_SERVICE_INTERVAL;
            }
            thread::sleep(POLL_INTERVAL);
        }
        self.close_all();
        self.tap
    }

    /// Takes in new listeners, greeting each with `hello` or refusing it when full.
    fn admit_new(&mut self, now: Instant) {
        while let Ok(mut listener) = self.incoming.try_recv() {
            let open = self.listeners.iter().filter(|l| l.is_open()).count();
            if open >= self.shared.max_listeners {
                listener.close(CloseCode::Again, "too many listeners", now);
            } else {
                let status = match &self.last_status {
                    Some((status, _)) => status.clone(),
                    None => self.shared.status.status(),
                };
                let hello = hello_message(
                    self.shared.sample_rate,
                    listener.codec,
                    &status,
                    self.shared.counters(),
                );
                listener.enqueue(Message::Text(hello.into()), now);
                self.shared.metrics.count_listener_session();
            }
            self.listeners.push(listener);
        }
        self.publish_listener_count();
    }

    /// Moves everything the tap holds into packets for the listeners; whether any packet was made.
    fn pump_audio(&mut self, now: Instant) -> bool {
        let mut produced = false;
        loop {
            let frames = self.tap.pop_into(&mut self.scratch);
            if frames == 0 {
                break;
            }
            let dropped = self.tap.dropped_frames();
            self.discontinuity |= dropped != self.last_dropped_frames;
            self.last_dropped_frames = dropped;
            self.shared.dropped_frames.store(dropped, Ordering::Relaxed);

            let sample_rate = self.shared.sample_rate;
            let listeners = &mut self.listeners;
            let discontinuity = &mut self.discontinuity;
            #[cfg(feature = "opus")]
            let opus = &mut self.opus;
            #[cfg(feature = "opus")]
            let (icecast, opus_bitrate_bps) = (&self.icecast, self.shared.opus_bitrate_bps);
            self.assembler
                .push(&self.scratch[..frames], |sequence, packet_frames| {
                    produced = true;
                    let header = PacketHeader {
                        codec: Codec::Pcm16,
                        channels: CHANNELS,
                        flags: if std::mem::take(discontinuity) {
                            FLAG_DISCONTINUITY
                        } else {
                            0
                        },
                        sample_rate,
                        frame_count: 0,
                        sequence,
                    };
                    let wants = |codec| listeners.iter().any(|l| l.is_open() && l.codec == codec);
                    let pcm = wants(Codec::Pcm16).then(|| encode_pcm16(header, packet_frames));
                    // With Icecast outputs the encoder runs for every packet, so it stays in
                    // step whoever listens.
                    #[cfg(feature = "opus")]
                    let opus_packet = if wants(Codec::Opus) || !icecast.is_empty() {
                        super::opus_codec::encode(opus, opus_bitrate_bps, header, packet_frames)
                    } else {
                        None
                    };
                    #[cfg(feature = "opus")]
                    if let Some(packet) = &opus_packet {
                        for feed in icecast {
                            feed.offer(packet.slice(HEADER_BYTES..));
                        }
                    }
                    for listener in listeners.iter_mut() {
                        let packet = match listener.codec {
                            Codec::Pcm16 => pcm.clone(),
                            #[cfg(feature = "opus")]
                            Codec::Opus => opus_packet.clone(),
                            #[cfg(not(feature = "opus"))]
                            Codec::Opus => None,
                        };
                        if let Some(packet) = packet {
                            listener.enqueue(Message::Binary(packet), now);
                        }
                    }
                });
        }
        produced
    }

    /// Polls the engine's status and sends it when it changed or the heartbeat is due.
    fn poll_status(&mut self, now: Instant) {
        if now < self.next_status_poll {
            return;
        }
        self.next_status_poll = now + STATUS_POLL_INTERVAL;
        let current = (
            self.shared.status.status(),
            self.listeners.iter().filter(|l| l.is_open()).count(),
        );
        let changed = self.last_status.as_ref() != Some(&current);
        if changed || now.duration_since(self.last_status_sent) >= HEARTBEAT_INTERVAL {
            let text: Utf8Bytes = status_message(&current.0, self.shared.counters()).into();
            for listener in &mut self.listeners {
                listener.enqueue(Message::Text(text.clone()), now);
            }
            self.last_status_sent = now;
        }
        self.last_status = Some(current);
    }

    /// Lets every listener read and write; drops the ones that are gone.
    fn service_all(&mut self, now: Instant) {
        self.listeners
            .retain_mut(|listener| listener.service(now) == Liveness::Open);
        self.publish_listener_count();
    }

    /// Mirrors the number of open listeners for `/status` and [`super::MonitorServer::listeners`].
    fn publish_listener_count(&self) {
        let open = self.listeners.iter().filter(|l| l.is_open()).count();
        self.shared.listeners.store(open, Ordering::Relaxed);
    }

    /// Sends every listener a close frame and gives them [`STOP_GRACE`] to take it.
    fn close_all(&mut self) {
        let start = Instant::now();
        for listener in &mut self.listeners {
            listener.close(CloseCode::Away, "server stopping", start);
        }
        while !self.listeners.is_empty() && start.elapsed() < STOP_GRACE {
            self.service_all(Instant::now());
            thread::sleep(POLL_INTERVAL);
        }
        self.listeners.clear();
        self.publish_listener_count();
    }
}
