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
use super::icecast::{IcecastTargetReport, IcecastTargetStatus};
use super::metrics::ServerMetrics;
#[cfg(feature = "opus")]
use super::opus_codec::BROWSER_OPUS_BITRATE_BPS;
use super::packet::Codec;
use super::response::Response;
use super::routes;
use super::state::{MAX_PENDING_REQUESTS, ServerState};
use super::status::{ParamsControl, StatusSource};
use crate::realtime::TapConsumer;
use crate::signal::SampleRate;

/// How often the accept thread checks for a stop request between connections. Non-blocking
/// accept with a short sleep keeps shutdown simple and portable, at a cost of 40 wake-ups/s.
const ACCEPT_POLL: Duration = Duration::from_millis(25);
/// Stack of a request thread: parsing and JSON need little, and a flood of 64 stays small.
const REQUEST_THREAD_STACK_BYTES: usize = 256 * 1024;

/// The running web monitor. Stops (closing every listener with a close frame) on
/// [`Self::stop`] or drop.
pub struct MonitorServer {
    /// State shared with the threads.
    shared: Arc<ServerState>,
    /// The address actually bound (the real port when the config asked for port 0).
    local_addr: SocketAddr,
    /// The accept thread; `None` once joined.
    accept_thread: Option<JoinHandle<()>>,
    /// The broadcast thread, which hands the tap back when it ends; `None` once joined.
    broadcast_thread: Option<JoinHandle<TapConsumer>>,
    /// The Icecast outputs' threads; each ends when the broadcast thread drops its queue.
    icecast_threads: Vec<JoinHandle<()>>,
}

impl MonitorServer {
    /// Binds, spawns the accept thread and the broadcast thread, and returns at once.
    ///
    /// `tap` is the output tap's consumer; `sample_rate` its rate.
    ///
    /// # Errors
    ///
    /// Those of [`MonitorServer::bind`] and [`MonitorServer::serve`].
    pub fn start(
        config: MonitorConfig,
        tap: TapConsumer,
        sample_rate: SampleRate,
        status: Arc<dyn StatusSource>,
        params: Option<Arc<dyn ParamsControl>>,
    ) -> Result<Self, MonitorError> {
        let socket = Self::bind(&config)?;
        Self::serve(socket, config, tap, sample_rate, status, params)
    }

    /// Checks `config` and binds the address: every way a start can fail except the system
    /// refusing a thread, done before anyone hands over a tap they cannot get back.
    ///
    /// # Errors
    ///
    /// [`MonitorError::TokenRequired`] for a non-loopback bind without a token, the other
    /// [`MonitorConfig::validate`] errors, [`MonitorError::Bind`] when the port cannot be had.
    pub fn bind(config: &MonitorConfig) -> Result<TcpListener, MonitorError> {
        config.validate()?;
        let bind_error = |source| MonitorError::Bind {
            bind: config.bind,
            source,
        };
        let socket = TcpListener::bind(config.bind).map_err(bind_error)?;
        socket.set_nonblocking(true).map_err(bind_error)?;
        Ok(socket)
    }

    /// Serves on `socket`, bound by [`MonitorServer::bind`] for the same `config`, the tap's
    /// audio at `sample_rate`.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Bind`] if the socket has no address, [`MonitorError::Thread`] when a
    /// thread cannot be spawned.
    pub fn serve(
        socket: TcpListener,
        config: MonitorConfig,
        tap: TapConsumer,
        sample_rate: SampleRate,
        status: Arc<dyn StatusSource>,
        params: Option<Arc<dyn ParamsControl>>,
    ) -> Result<Self, MonitorError> {
        let local_addr = socket.local_addr().map_err(|source| MonitorError::Bind {
            bind: config.bind,
            source,
        })?;
        let mut server = Self::launch(config, local_addr, tap, sample_rate, status, params)?;
        let shared = server.shared.clone();
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

    /// Starts everything but the accept thread: the shared state, the Icecast outputs and the
    /// broadcast thread that feeds them.
    fn launch(
        config: MonitorConfig,
        local_addr: SocketAddr,
        tap: TapConsumer,
        sample_rate: SampleRate,
        status: Arc<dyn StatusSource>,
        params: Option<Arc<dyn ParamsControl>>,
    ) -> Result<Self, MonitorError> {
        let sample_rate = sample_rate.hz_u32();
        let icecast = config.icecast;
        if !icecast.targets.is_empty() && sample_rate != 48_000 {
            return Err(MonitorError::IcecastSampleRate { sample_rate });
        }
        let (new_listeners, incoming) = mpsc::channel();
        let codecs = available_codecs(sample_rate);
        let shared = Arc::new(ServerState {
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
            icecast: icecast
                .targets
                .iter()
                .map(|target| Arc::new(IcecastTargetStatus::new(target.to_string())))
                .collect(),
            #[cfg(feature = "opus")]
            opus_bitrate_bps: if icecast.targets.is_empty() {
                BROWSER_OPUS_BITRATE_BPS
            } else {
                icecast.bitrate_bps
            },
        });

        let mut server = Self {
            shared: shared.clone(),
            local_addr,
            accept_thread: None,
            broadcast_thread: None,
            icecast_threads: Vec::new(),
        };
        #[cfg(feature = "opus")]
        let feeds = {
            let (threads, feeds) =
                super::icecast::start_sources(&icecast, &shared.icecast, &shared.status)?;
            server.icecast_threads = threads;
            feeds
        };
        let broadcaster = Broadcaster::new(
            shared,
            tap,
            incoming,
            #[cfg(feature = "opus")]
            feeds,
        );
        server.broadcast_thread = Some(
            thread::Builder::new()
                .name("auralis-monitor-broadcast".into())
                .spawn(move || broadcaster.run())
                .map_err(|source| MonitorError::Thread {
                    thread: "broadcast",
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

    /// The state of every Icecast output, in the order of the config.
    pub fn icecast_targets(&self) -> Vec<IcecastTargetReport> {
        self.shared.icecast_reports()
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
        let tap = self
            .broadcast_thread
            .take()
            .and_then(|thread| thread.join().ok());
        // The broadcaster has dropped their queues; each ends within its I/O timeout.
        for thread in self.icecast_threads.drain(..) {
            let _ = thread.join();
        }
        tap
    }
}

impl Drop for MonitorServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The broadcaster feeding Icecast outputs alone, without the web monitor's port
/// (`auralis serve --no-monitor`). Stops on [`Self::stop`] or drop.
pub struct IcecastOnly {
    /// A monitor server whose accept thread was never started: nothing listens, and its
    /// address (unspecified) is never shown.
    server: MonitorServer,
}

impl IcecastOnly {
    /// Starts the broadcast thread and the Icecast outputs of `config.icecast`; the rest of
    /// `config` is unused.
    ///
    /// # Errors
    ///
    /// Those of [`IcecastConfig::validate`](super::icecast::IcecastConfig::validate),
    /// [`MonitorError::IcecastSampleRate`], and [`MonitorError::Thread`].
    pub fn start(
        config: MonitorConfig,
        tap: TapConsumer,
        sample_rate: SampleRate,
        status: Arc<dyn StatusSource>,
    ) -> Result<Self, MonitorError> {
        config.icecast.validate()?;
        let nowhere = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let server = MonitorServer::launch(config, nowhere, tap, sample_rate, status, None)?;
        Ok(Self { server })
    }

    /// The state of every Icecast output, in the order of the config.
    pub fn icecast_targets(&self) -> Vec<IcecastTargetReport> {
        self.server.icecast_targets()
    }

    /// Stops the broadcaster and the outputs and joins their threads.
    pub fn stop(self) {
        self.server.stop();
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
fn accept_loop(socket: TcpListener, shared: Arc<ServerState>) {
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
fn dispatch(stream: TcpStream, shared: &Arc<ServerState>) {
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
struct PendingSlot<'a>(&'a ServerState);

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
