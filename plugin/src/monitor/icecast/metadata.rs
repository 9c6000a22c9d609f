//! Title updates through Icecast's admin endpoint (`/admin/metadata?mode=updinfo`), at most
//! every [`TITLE_INTERVAL`] and only when the title changed.
//!
//! Icecast takes these for MP3/AAC mounts; for Ogg it answers "Mountpoint will not accept URL
//! updates" (2.4) because Ogg carries its titles in the stream's own comment header, which
//! Auralis fills at every (re)connection. The first refusal is logged once and updates stop
//! for the target; a server that takes them keeps getting them.
//!
//! Each update is a short request on a thread of its own, so a slow admin endpoint can never
//! hold up the audio on the source thread.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use nice_plug::nice_log;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::target::IcecastTarget;

/// Least time between two title updates: chords change every few seconds, and directory
/// listings and players poll far less often.
pub const TITLE_INTERVAL: Duration = Duration::from_secs(5);
/// Time allowed for one update, start to end.
const UPDATE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest answer read; Icecast's is a small XML document.
const MAX_ANSWER_BYTES: u64 = 16 * 1024;

/// What the server made of title updates so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Verdict {
    /// Not known yet (none sent, or the last one failed for another reason).
    Unknown = 0,
    /// It took one.
    Accepted = 1,
    /// It said the mount takes none.
    Refused = 2,
}

/// The title updater of one target, polled by its source thread.
pub(super) struct TitleUpdates {
    target: IcecastTarget,
    /// The title the listeners have now.
    current: String,
    /// When the next look at the title is due.
    next_check: Instant,
    /// A [`Verdict`], written by the update threads.
    verdict: Arc<AtomicU8>,
    /// An update is on its way; the next waits for it.
    in_flight: Arc<AtomicBool>,
    /// The refusal was logged.
    refusal_logged: bool,
}

impl TitleUpdates {
    pub fn new(target: IcecastTarget) -> Self {
        Self {
            target,
            current: String::new(),
            next_check: Instant::now(),
            verdict: Arc::new(AtomicU8::new(Verdict::Unknown as u8)),
            in_flight: Arc::new(AtomicBool::new(false)),
            refusal_logged: false,
        }
    }

    /// A new stream started with `title` in its tags.
    pub fn restart(&mut self, title: &str) {
        title.clone_into(&mut self.current);
        self.next_check = Instant::now() + TITLE_INTERVAL;
    }

    /// Sends the title `title()` gives when it is due and changed.
    pub fn poll(&mut self, title: impl FnOnce() -> String) {
        let now = Instant::now();
        if now < self.next_check {
            return;
        }
        self.next_check = now + TITLE_INTERVAL;
        if self.verdict.load(Ordering::Relaxed) == Verdict::Refused as u8 {
            if !self.refusal_logged {
                self.refusal_logged = true;
                nice_log!(
                    "icecast {}: the server takes no title updates for this Ogg mount; \
                     listeners see the title the stream started with",
                    self.target
                );
            }
            return;
        }
        let title = title();
        if title == self.current || self.in_flight.swap(true, Ordering::AcqRel) {
            return;
        }
        self.current.clone_from(&title);
        let target = self.target.clone();
        let verdict = self.verdict.clone();
        let in_flight = self.in_flight.clone();
        let spawned = std::thread::Builder::new()
            .name("auralis-icecast-title".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                let outcome = send_title(&target, &title);
                verdict.store(outcome as u8, Ordering::Relaxed);
                in_flight.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.in_flight.store(false, Ordering::Release);
        }
    }
}

/// One `updinfo` request; what the server said.
fn send_title(target: &IcecastTarget, title: &str) -> Verdict {
    let request = format!(
        "GET /admin/metadata?mount={mount}&mode=updinfo&song={song} HTTP/1.0\r\n\
         Host: {host}\r\nAuthorization: {auth}\r\nUser-Agent: Auralis/{version}\r\n\r\n",
        mount = utf8_percent_encode(target.mount(), NON_ALPHANUMERIC),
        song = utf8_percent_encode(title, NON_ALPHANUMERIC),
        host = target.authority(),
        auth = target.basic_auth(),
        version = env!("CARGO_PKG_VERSION"),
    );
    let answer = (|| -> std::io::Result<String> {
        let address = (target.host(), target.port())
            .to_socket_addrs()?
            .next()
            .ok_or(std::io::ErrorKind::NotFound)?;
        let mut socket = TcpStream::connect_timeout(&address, UPDATE_TIMEOUT)?;
        socket.set_read_timeout(Some(UPDATE_TIMEOUT))?;
        socket.set_write_timeout(Some(UPDATE_TIMEOUT))?;
        socket.write_all(request.as_bytes())?;
        let mut answer = Vec::new();
        socket.take(MAX_ANSWER_BYTES).read_to_end(&mut answer)?;
        Ok(String::from_utf8_lossy(&answer).to_ascii_lowercase())
    })();
    match answer {
        Ok(text) if text.contains("will not accept") => Verdict::Refused,
        Ok(text) if text.contains("metadata update successful") => Verdict::Accepted,
        _ => Verdict::Unknown,
    }
}
