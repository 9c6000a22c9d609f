//! One `/stream` listener as the broadcast thread sees it: a bounded queue of messages in front
//! of a non-blocking WebSocket.
//!
//! Runs on the broadcast thread only, and never waits: a socket that cannot take more keeps its
//! messages in its own queue, which skips ahead (drops the oldest) when full. A listener that
//! stays behind for [`MAX_BEHIND`] is closed with reason "too slow". Memory per listener is
//! bounded by [`MAX_QUEUED_MESSAGES`] shared packets, tungstenite's write buffer
//! ([`MAX_WRITE_BUFFER_BYTES`]) and its read buffer, whatever the client does.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use prometheus::IntCounter;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error, Message, WebSocket};

use super::packet::Codec;

/// Messages a listener may have waiting: ~1 s of 20 ms packets.
pub(super) const MAX_QUEUED_MESSAGES: usize = 50;
/// Bytes tungstenite may hold for a socket that is not draining (~330 ms of PCM16 at 48 kHz);
/// beyond that, backpressure returns to [`ListenerQueue`], which can skip ahead.
const MAX_WRITE_BUFFER_BYTES: usize = 64 * 1024;
/// Kernel send buffer of a listener socket (Linux doubles it). Fixed rather than autotuned so
/// a stalled client is noticed within seconds; 128 KiB still covers 0.6 s of PCM16 in flight,
/// plenty for a phone on Wi-Fi.
pub(super) const SOCKET_SEND_BUFFER_BYTES: usize = 64 * 1024;
/// Largest message a client may send us; clients have nothing to say but control frames.
const MAX_INCOMING_MESSAGE_BYTES: usize = 16 * 1024;
/// tungstenite allocates its read buffer eagerly; listeners read almost nothing.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// How long a listener may stay behind (its queue overflowing) before it is closed.
pub(super) const MAX_BEHIND: Duration = Duration::from_secs(3);
/// How long a closing listener gets to flush our close frame and answer it.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Incoming messages handled per read, so a chatty client cannot hog the thread.
const MAX_READS_PER_SERVICE: usize = 8;
/// How often a listener's socket is read. Clients only send pings and close frames, which can
/// wait this long; reading at the packet rate instead would cost a `recv` per listener per
/// packet, a third of the broadcast thread's work.
const READ_INTERVAL: Duration = Duration::from_millis(100);

/// The WebSocket settings of every listener.
pub(super) fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Write each message through at once: audio must not wait for a buffer to fill.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(Some(MAX_INCOMING_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_INCOMING_MESSAGE_BYTES))
}

/// A bounded FIFO of messages that drops its oldest when full. Messages share their bytes
/// with every other listener's copy.
#[derive(Debug, Default)]
pub(super) struct ListenerQueue {
    /// Oldest first; at most [`MAX_QUEUED_MESSAGES`].
    messages: VecDeque<Message>,
}

impl ListenerQueue {
    /// Adds `message`; returns `false` when the oldest message had to be dropped for it.
    pub fn push(&mut self, message: Message) -> bool {
        let had_room = self.messages.len() < MAX_QUEUED_MESSAGES;
        if !had_room {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
        had_room
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.messages.len()
    }
}

/// Whether a listener is still worth servicing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Liveness {
    /// Keep it.
    Open,
    /// Drop it: the client left, failed, or our close finished.
    Closed,
}

/// A connected browser (or any WebSocket client).
pub(super) struct Listener {
    /// The non-blocking socket.
    socket: WebSocket<TcpStream>,
    /// The codec it asked for.
    pub codec: Codec,
    /// What it has not been sent yet.
    queue: ListenerQueue,
    /// Since when its queue has been overflowing without draining to half; `None` when keeping up.
    behind_since: Option<Instant>,
    /// When we started closing it; it is dropped [`CLOSE_GRACE`] later at the latest.
    closing_since: Option<Instant>,
    /// When its socket is read next.
    next_read: Instant,
    /// `/metrics`' bytes sent to listeners of its codec, shared with them.
    bytes_sent: IntCounter,
}

impl Listener {
    /// Wraps an upgraded, non-blocking socket; what it writes is added to `bytes_sent`.
    pub fn new(socket: WebSocket<TcpStream>, codec: Codec, bytes_sent: IntCounter) -> Self {
        Self {
            socket,
            codec,
            queue: ListenerQueue::default(),
            behind_since: None,
            closing_since: None,
            next_read: Instant::now(),
            bytes_sent,
        }
    }

    /// Whether it is still being sent audio (not closing).
    pub fn is_open(&self) -> bool {
        self.closing_since.is_none()
    }

    /// Queues `message`, skipping ahead if the queue is full.
    pub fn enqueue(&mut self, message: Message, now: Instant) {
        if self.is_open() && !self.queue.push(message) {
            self.behind_since.get_or_insert(now);
        }
    }

    /// Starts closing with a close frame; queued messages are dropped.
    pub fn close(&mut self, code: CloseCode, reason: &'static str, now: Instant) {
        if self.closing_since.is_none() {
            self.closing_since = Some(now);
            self.queue.messages.clear();
            // Best effort: a socket that is full cannot take the frame and is dropped after
            // the grace period anyway.
            let _ = self.socket.close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }));
        }
    }

    /// Reads what the client sent, writes what the socket takes, and closes the listener if
    /// it has been behind for too long. Never blocks.
    pub fn service(&mut self, now: Instant) -> Liveness {
        if now >= self.next_read || self.closing_since.is_some() {
            self.next_read = now + READ_INTERVAL;
            if self.read_incoming().is_err() {
                return Liveness::Closed;
            }
        }
        if let Some(since) = self.closing_since {
            let flushed = self.socket.flush();
            let gone = flushed.is_err() && !is_would_block(flushed.as_ref().err());
            return if gone || now.duration_since(since) > CLOSE_GRACE {
                Liveness::Closed
            } else {
                Liveness::Open
            };
        }
        if self.write_queued().is_err() {
            return Liveness::Closed;
        }
        if self.queue.len() <= MAX_QUEUED_MESSAGES / 2 {
            self.behind_since = None;
        } else if self
            .behind_since
            .is_some_and(|since| now.duration_since(since) > MAX_BEHIND)
        {
            self.close(CloseCode::Library(4000), "too slow", now);
        }
        Liveness::Open
    }

    /// Handles what the client sent. tungstenite answers pings and close frames itself; a data
    /// message breaks the protocol (listeners have nothing to tell us) and ends the connection
    /// with a policy close. `Err` means the connection is over.
    fn read_incoming(&mut self) -> Result<(), ()> {
        for _ in 0..MAX_READS_PER_SERVICE {
            match self.socket.read() {
                Ok(Message::Close(_)) => {
                    // Send tungstenite's queued reply if the socket takes it; we are done.
                    let _ = self.socket.flush();
                    return Err(());
                }
                Ok(Message::Text(_) | Message::Binary(_)) => {
                    let _ = self.socket.close(Some(CloseFrame {
                        code: CloseCode::Policy,
                        reason: "listeners send no data".into(),
                    }));
                    let _ = self.socket.flush();
                    return Err(());
                }
                Ok(_) => {}
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(_) => return Err(()),
            }
        }
        Ok(())
    }

    /// Moves queued messages into the socket until it pushes back. `Err` means the connection
    /// is over.
    fn write_queued(&mut self) -> Result<(), ()> {
        while let Some(message) = self.queue.messages.front() {
            let bytes = message.len() as u64;
            match self.socket.write(message.clone()) {
                Ok(()) => {
                    self.queue.messages.pop_front();
                    self.bytes_sent.inc_by(bytes);
                }
                // Taken into tungstenite's buffer, but the socket is full for now.
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.queue.messages.pop_front();
                    self.bytes_sent.inc_by(bytes);
                    break;
                }
                // Not taken: stays queued, where skipping ahead can reach it.
                Err(Error::WriteBufferFull(_)) => break,
                Err(_) => return Err(()),
            }
        }
        match self.socket.flush() {
            Err(error) if !is_would_block(Some(&error)) => Err(()),
            _ => Ok(()),
        }
    }
}

/// Whether `error` only says the socket is full for now.
fn is_would_block(error: Option<&Error>) -> bool {
    matches!(error, Some(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_its_oldest_message() {
        let mut queue = ListenerQueue::default();
        for index in 0..MAX_QUEUED_MESSAGES {
            assert!(queue.push(Message::Text(index.to_string().into())));
        }
        assert!(
            !queue.push(Message::Text("new".into())),
            "full: the oldest goes"
        );
        assert_eq!(queue.len(), MAX_QUEUED_MESSAGES);
        assert_eq!(queue.messages.front(), Some(&Message::Text("1".into())));
        assert_eq!(queue.messages.back(), Some(&Message::Text("new".into())));
    }

    #[test]
    fn the_config_bounds_what_a_client_can_make_us_hold() {
        let config = websocket_config();
        assert_eq!(config.max_write_buffer_size, MAX_WRITE_BUFFER_BYTES);
        assert!(config.max_write_buffer_size > config.write_buffer_size);
        assert_eq!(config.max_message_size, Some(MAX_INCOMING_MESSAGE_BYTES));
    }
}
