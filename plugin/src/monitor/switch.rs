//! The web monitor inside the plugin: off until the user switches it on (in the GUI, or with
//! `AURALIS_MONITOR_PORT` set when the plugin loads), never a parameter a host could automate.
//!
//! The plugin owns one tap ring per activation. The audio thread copies its output into the tap
//! only while [`MonitorSwitch::is_streaming`] says so; the server, while it runs, owns the tap's
//! consumer and hands it back when it stops, so the switch can go on and off any number of
//! times. Every method here runs on the host's main thread or the GUI thread, never the audio
//! thread, and none of them can fail the host: a busy port becomes a message to show.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::config::MonitorConfig;
use super::server::MonitorServer;
use super::status::StatusSource;
use crate::realtime::{Frame, TapConsumer};
use crate::signal::SampleRate;

/// The port the monitor takes unless told otherwise, as in `auralis serve`.
pub const DEFAULT_PORT: u16 = 8040;

/// What the GUI shows about the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchState {
    /// The user wants it on.
    pub wanted: bool,
    /// The page's URL while the server runs.
    pub url: Option<String>,
    /// Browsers listening now.
    pub listeners: usize,
    /// Why it is not running although wanted (a busy port, say).
    pub error: Option<String>,
    /// The port it uses or will use.
    pub port: u16,
}

/// The plugin's monitor switch. Shared (in an `Arc`) by the plugin and its GUI.
pub struct MonitorSwitch {
    /// Read by the audio thread once per block: copy the output into the tap.
    streaming: AtomicBool,
    /// Everything else; locked only by the main and GUI threads, briefly.
    inner: Mutex<Inner>,
}

struct Inner {
    wanted: bool,
    port: u16,
    /// The tap's consumer while no server holds it.
    tap: Option<TapConsumer>,
    sample_rate: SampleRate,
    server: Option<MonitorServer>,
    error: Option<String>,
    status: Arc<dyn StatusSource>,
}

impl MonitorSwitch {
    /// A switch that is off, reporting `status` when on.
    pub fn new(status: Arc<dyn StatusSource>) -> Self {
        Self {
            streaming: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                wanted: false,
                port: DEFAULT_PORT,
                tap: None,
                sample_rate: SampleRate::DEFAULT,
                server: None,
                error: None,
                status,
            }),
        }
    }

    /// A switch that starts on if `AURALIS_MONITOR_PORT` is set to a port number (0 picks a
    /// free port), so a plugin in a headless host can stream without a GUI.
    pub fn from_env(status: Arc<dyn StatusSource>) -> Self {
        let switch = Self::new(status);
        if let Ok(value) = std::env::var("AURALIS_MONITOR_PORT") {
            let mut inner = switch.lock();
            match value.trim().parse::<u16>() {
                Ok(port) => {
                    inner.port = port;
                    inner.wanted = true;
                }
                Err(_) => {
                    inner.error = Some(format!(
                        "AURALIS_MONITOR_PORT={value:?} is not a port number (0–65535)"
                    ));
                }
            }
        }
        switch
    }

    /// Whether the audio thread should copy its output into the tap. Wait-free.
    #[inline]
    pub fn is_streaming(&self) -> bool {
        self.streaming.load(Ordering::Relaxed)
    }

    /// Hands over the tap of a new activation at `sample_rate`; a server that runs moves to it.
    pub fn attach(&self, tap: TapConsumer, sample_rate: SampleRate) {
        let mut inner = self.lock();
        self.stop_server(&mut inner);
        inner.tap = Some(tap);
        inner.sample_rate = sample_rate;
        if inner.wanted {
            self.start_server(&mut inner);
        }
    }

    /// The activation ends: the server stops (it is started again on the next activation if
    /// still wanted) and the tap goes away with the audio thread's end of it.
    pub fn detach(&self) {
        let mut inner = self.lock();
        self.stop_server(&mut inner);
        inner.tap = None;
    }

    /// Switches the monitor on or off, and tells how that went.
    pub fn set_wanted(&self, wanted: bool) -> SwitchState {
        let mut inner = self.lock();
        inner.wanted = wanted;
        inner.error = None;
        if wanted {
            if inner.server.is_none() {
                self.start_server(&mut inner);
            }
        } else {
            self.stop_server(&mut inner);
        }
        Self::state_of(&inner)
    }

    /// Sets the port, restarting a running server on it.
    pub fn set_port(&self, port: u16) -> SwitchState {
        let mut inner = self.lock();
        if inner.port != port {
            inner.port = port;
            inner.error = None;
            if inner.wanted {
                self.stop_server(&mut inner);
                self.start_server(&mut inner);
            }
        }
        Self::state_of(&inner)
    }

    /// The state now.
    pub fn state(&self) -> SwitchState {
        Self::state_of(&self.lock())
    }

    fn state_of(inner: &Inner) -> SwitchState {
        SwitchState {
            wanted: inner.wanted,
            url: inner.server.as_ref().map(MonitorServer::url),
            listeners: inner.server.as_ref().map_or(0, MonitorServer::listeners),
            error: inner.error.clone(),
            port: inner
                .server
                .as_ref()
                .map_or(inner.port, |s| s.local_addr().port()),
        }
    }

    fn start_server(&self, inner: &mut Inner) {
        let Some(mut tap) = inner.tap.take() else {
            // Not active yet: `attach` starts it.
            return;
        };
        // Whatever the tap still holds is from the last time the monitor was on.
        let mut scratch = [[0.0f32; 2]; 512];
        while tap.pop_into(&mut scratch as &mut [Frame]) > 0 {}
        let config = MonitorConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, inner.port)),
            ..MonitorConfig::default()
        };
        // Bound before the tap is handed over: a busy port keeps the tap here for the next
        // try (the producer lives on the audio thread, so there is no making a new ring).
        let socket = match MonitorServer::bind(&config) {
            Ok(socket) => socket,
            Err(err) => {
                inner.error = Some(format!(
                    "port {} is not available ({err}); choose another port",
                    inner.port
                ));
                inner.tap = Some(tap);
                return;
            }
        };
        let status = inner.status.clone();
        match MonitorServer::serve(socket, config, tap, inner.sample_rate, status, None) {
            Ok(server) => {
                inner.server = Some(server);
                inner.error = None;
                self.streaming.store(true, Ordering::Relaxed);
            }
            Err(err) => inner.error = Some(format!("the web monitor could not start: {err}")),
        }
    }

    fn stop_server(&self, inner: &mut Inner) {
        self.streaming.store(false, Ordering::Relaxed);
        if let Some(server) = inner.server.take() {
            inner.tap = server.stop_and_return_tap();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The switch's state stays consistent across a panic in a caller: take it anyway.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for MonitorSwitch {
    fn drop(&mut self) {
        let mut inner = self.lock();
        if let Some(server) = inner.server.take() {
            server.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use super::*;
    use crate::monitor::MonitorStatus;
    use crate::realtime::tap_ring;

    struct Fixed;

    impl StatusSource for Fixed {
        fn status(&self) -> MonitorStatus {
            MonitorStatus {
                key: "D".into(),
                chord: "Dm9".into(),
                sample_rate: 48_000,
                ..MonitorStatus::default()
            }
        }
    }

    fn get_status(url: &str) -> String {
        let address = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(b"GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn switches_on_and_off_repeatedly_on_one_tap() {
        let switch = MonitorSwitch::new(Arc::new(Fixed));
        let (_producer, consumer) = tap_ring(4_800);
        switch.set_port(0);
        switch.attach(consumer, SampleRate::DEFAULT);
        assert!(!switch.is_streaming(), "off by default");
        for _ in 0..3 {
            let state = switch.set_wanted(true);
            assert_eq!(state.error, None);
            assert!(switch.is_streaming());
            let url = state.url.expect("a URL while on");
            assert!(get_status(&url).contains("\"chord\":\"Dm9\""));
            let state = switch.set_wanted(false);
            assert!(!switch.is_streaming());
            assert_eq!(state.url, None);
        }
    }

    #[test]
    fn a_busy_port_is_a_message_and_the_switch_still_works() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let busy = taken.local_addr().unwrap().port();
        let switch = MonitorSwitch::new(Arc::new(Fixed));
        let (_producer, consumer) = tap_ring(4_800);
        switch.attach(consumer, SampleRate::DEFAULT);
        switch.set_port(busy);
        let state = switch.set_wanted(true);
        assert!(!switch.is_streaming());
        let error = state.error.expect("an explanation");
        assert!(error.contains(&busy.to_string()), "{error}");
        let state = switch.set_port(0);
        assert_eq!(state.error, None, "another port works");
        assert!(switch.is_streaming());
    }

    #[test]
    fn wanted_before_activation_starts_on_attach_and_stops_on_detach() {
        let switch = MonitorSwitch::new(Arc::new(Fixed));
        switch.set_port(0);
        assert_eq!(switch.set_wanted(true).url, None);
        let (_producer, consumer) = tap_ring(4_800);
        switch.attach(consumer, SampleRate::new(44_100.0).unwrap());
        assert!(switch.state().url.is_some());
        switch.detach();
        assert!(!switch.is_streaming());
        assert!(switch.state().wanted, "comes back with the next activation");
    }
}
