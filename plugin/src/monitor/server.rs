//! [`MonitorServer`]: binds the port, owns the accept and broadcast threads, and stops them.
//!
//! The accept thread hands each connection to a short-lived request thread (at most
//! [`MAX_PENDING_REQUESTS`] at once; more are answered 503 on the spot), so a client that
//! sends its request slowly holds only its own thread, for at most the request timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::broadcast::Broadcaster;
use super::config::MonitorConfig;
use super::error::MonitorError;
use super::listener::Listener;
use super::metrics::ServerMetrics;
use super::packet::Codec;
use super::response::Response;
use super::routes;
use super::status::{ParamsControl, ServerCounters, StatusSource};
use crate::realtime::TapConsumer;

/// Most requests being read or answered at once; a flood beyond it gets 503 without a thread.
/// Sized for a whole audience (the default `max_listeners`) reconnecting at the same moment;
/// an idle request thread costs little more than its stack's address space.
const MAX_PENDING_REQUESTS: usize = 256;
/// How often the accept thread checks for a stop request between connections. Non-blocking
/// accept with a short sleep keeps shutdown simple and portable, at a cost of 40 wake-ups/s.
const ACCEPT_POLL: Duration = Duration::from_millis(25);
/// Stack of a request thread: parsing and JSON need little, and a flood of 64 stays small.
const REQUEST_THREAD_STACK_BYTES: usize = 256 * 1024;

/// State shared by the server's threads.
pub(super) struct Shared {
    /// Set by [`MonitorServer::stop`]; every thread checks it and winds down.
    pub stop: AtomicBool,
    /// Open `/stream` connections; written by the broadcast thread.
    pub listeners: AtomicUsize,
    /// The tap's dropped-frame count, mirrored by the broadcast thread that owns the tap.
    pub dropped_frames: AtomicU64,
    /// Request threads alive; bounds them to [`MAX_PENDING_REQUESTS`].
    pending_requests: AtomicUsize,
    /// When the server started, for `uptime_s`.
    pub started: Instant,
    /// Sample rate of the tap, Hz.
    pub sample_rate: u32,
    /// The access token, if any.
    pub token: Option<String>,
    /// Bound to a loopback address: only loopback `Host` names are answered.
    pub loopback_only: bool,
    /// Most `/stream` connections.
    pub max_listeners: usize,
    /// Codecs `/stream?codec=` may ask for.
    pub codecs: Vec<Codec>,
    /// The engine's status.
    pub status: Arc<dyn StatusSource>,
    /// The parameter control, if the embedder offers one.
    pub params: Option<Arc<dyn ParamsControl>>,
    /// Upgraded WebSockets on their way to the broadcast thread.
    pub new_listeners: mpsc::Sender<Listener>,
    /// The counters of `/metrics` that the monitor keeps itself.
    pub metrics: ServerMetrics,
}

impl Shared {
    /// The counters that go with every status document.
    pub fn counters(&self) -> ServerCounters {
        ServerCounters {
            listeners: self.listeners.load(Ordering::Relaxed),
            uptime: self.started.elapsed(),
            dropped_frames: self.dropped_frames.load(Ordering::Relaxed),
        }
    }
}

/// The running web monitor. Stops (closing every listener with a close frame) on
/// [`Self::stop`] or drop.
pub struct MonitorServer {
    /// State shared with the threads.
    shared: Arc<Shared>,
    /// The address actually bound (the real port when the config asked for port 0).
    local_addr: SocketAddr,
    /// The accept thread; `None` once joined.
    accept_thread: Option<JoinHandle<()>>,
    /// The broadcast thread, which hands the tap back when it ends; `None` once joined.
    broadcast_thread: Option<JoinHandle<TapConsumer>>,
}

impl MonitorServer {
    /// Binds, spawns the accept thread and the broadcast thread, and returns at once.
    ///
    /// `tap` is the output tap's consumer; `sample_rate` its rate in Hz.
    ///
    /// # Errors
    ///
    /// Those of [`MonitorServer::bind`] and [`MonitorServer::serve`].
    pub fn start(
        config: MonitorConfig,
        tap: TapConsumer,
        sample_rate: u32,
        status: Arc<dyn StatusSource>,
        params: Option<Arc<dyn ParamsControl>>,
    ) -> Result<Self, MonitorError> {
        let socket = Self::bind(&config, sample_rate)?;
        Self::serve(socket, config, tap, sample_rate, status, params)
    }

    /// Checks `config` and `sample_rate` and binds the address: every way a start can fail
    /// except the system refusing a thread, done before anyone hands over a tap they cannot
    /// get back.
    ///
    /// # Errors
    ///
    /// [`MonitorError::TokenRequired`] for a non-loopback bind without a token, the other
    /// [`MonitorConfig::validate`] errors, [`MonitorError::InvalidSampleRate`],
    /// [`MonitorError::Bind`] when the port cannot be had.
    pub fn bind(config: &MonitorConfig, sample_rate: u32) -> Result<TcpListener, MonitorError> {
        config.validate()?;
        if !(8_000..=192_000).contains(&sample_rate) {
            return Err(MonitorError::InvalidSampleRate { sample_rate });
        }
        let bind_error = |source| MonitorError::Bind {
            bind: config.bind,
            source,
        };
        let socket = TcpListener::bind(config.bind).map_err(bind_error)?;
        socket.set_nonblocking(true).map_err(bind_error)?;
        Ok(socket)
    }

    /// Serves on `socket`, bound by [`MonitorServer::bind`] for the same `config` and
    /// `sample_rate`.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Bind`] if the socket has no address, [`MonitorError::Thread`] when a
    /// thread cannot be spawned.
    pub fn serve(
        socket: TcpListener,
        config: MonitorConfig,
        tap: TapConsumer,
        sample_rate: u32,
        status: Arc<dyn StatusSource>,
        params: Option<Arc<dyn ParamsControl>>,
    ) -> Result<Self, MonitorError> {
        let local_addr = socket.local_addr().map_err(|source| MonitorError::Bind {
            bind: config.bind,
            source,
        })?;

        let (new_listeners, incoming) = mpsc::channel();
        let codecs = available_codecs(sample_rate);
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            listeners: AtomicUsize::new(0),
            dropped_frames: AtomicU64::new(0),
            pending_requests: AtomicUsize::new(0),
            started: Instant::now(),
            sample_rate,
            token: config.token,
            loopback_only: local_addr.ip().is_loopback(),
            max_listeners: config.max_listeners,
            metrics: ServerMetrics::new(&codecs),
            codecs,
            status,
            params,
            new_listeners,
        });

        let broadcaster = Broadcaster::new(shared.clone(), tap, incoming);
        let broadcast_thread = thread::Builder::new()
            .name("auralis-monitor-broadcast".into())
            .spawn(move || broadcaster.run())
            .map_err(|source| MonitorError::Thread {
                thread: "broadcast",
                source,
            })?;
        let mut server = Self {
            shared: shared.clone(),
            local_addr,
            accept_thread: None,
            broadcast_thread: Some(broadcast_thread),
        };
        // On failure `server` drops here, which stops the broadcast thread again.
        server.accept_thread = Some(
            thread::Builder::new()
                .name("auralis-monitor-accept".into())
                .spawn(move || accept_loop(socket, shared))
                .map_err(|source| MonitorError::Thread {
                    thread: "accept",
                    source,
                })?,
        );
        Ok(server)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The page's URL, with `?token=` when a token is set. An unspecified bind address
    /// (`0.0.0.0`) is shown as loopback; from other machines use this machine's address.
    pub fn url(&self) -> String {
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let address = SocketAddr::new(ip, self.local_addr.port());
        match &self.shared.token {
            Some(token) => format!("http://{address}/?token={token}"),
            None => format!("http://{address}/"),
        }
    }

    /// Browsers connected to `/stream` now.
    pub fn listeners(&self) -> usize {
        self.shared.listeners.load(Ordering::Relaxed)
    }

    /// Closes every listener with a close frame ("server stopping"), stops accepting and joins
    /// both threads, within about a second. Requests still being read end on their own within
    /// the request timeout; the port is free at once.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Stops like [`Self::stop`] and returns the tap, for a later server; `None` if the
    /// broadcast thread panicked and took it down with it.
    pub fn stop_and_return_tap(mut self) -> Option<TapConsumer> {
        self.shutdown()
    }

    /// Stops and joins; idempotent, shared by [`Self::stop`] and drop. Returns the tap the
    /// first time.
    fn shutdown(&mut self) -> Option<TapConsumer> {
        self.shared.stop.store(true, Ordering::Relaxed);
        // A panicked thread has nothing left to clean up; joining it is all we can do.
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        self.broadcast_thread
            .take()
            .and_then(|thread| thread.join().ok())
    }
}

impl Drop for MonitorServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// PCM16 always; Opus when built with it and the rate is one Opus supports natively.
fn available_codecs(sample_rate: u32) -> Vec<Codec> {
    let mut codecs = vec![Codec::Pcm16];
    if cfg!(feature = "opus") && sample_rate == 48_000 {
        codecs.push(Codec::Opus);
    }
    codecs
}

/// Accepts connections until stopped and hands each to a request thread.
fn accept_loop(socket: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        match socket.accept() {
            Ok((stream, _peer)) => dispatch(stream, &shared),
            // WouldBlock is the idle case; other errors (out of file descriptors) are retried
            // after the same pause rather than spun on.
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
}

/// Starts a request thread for `stream`, or answers 503 when too many are running.
fn dispatch(stream: TcpStream, shared: &Arc<Shared>) {
    // Accepted sockets do not inherit non-blocking mode on every platform; request threads
    // use blocking reads with deadlines. Audio wants no Nagle delay.
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    if shared.pending_requests.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING_REQUESTS {
        shared.pending_requests.fetch_sub(1, Ordering::AcqRel);
        refuse_busy(stream);
        return;
    }
    let request_shared = shared.clone();
    let spawned = thread::Builder::new()
        .name("auralis-monitor-http".into())
        .stack_size(REQUEST_THREAD_STACK_BYTES)
        .spawn(move || {
            let _slot = PendingSlot(&request_shared);
            routes::handle_connection(stream, &request_shared);
        });
    if spawned.is_err() {
        shared.pending_requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Frees a request slot when its thread ends, even by a panic.
struct PendingSlot<'a>(&'a Shared);

impl Drop for PendingSlot<'_> {
    fn drop(&mut self) {
        self.0.pending_requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Answers 503 from the accept thread itself, never waiting on the client for long.
fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = Response::error(503, "server busy, retry shortly")
        .with_header("Retry-After", "1")
        .write_to(&mut stream, false);
}
