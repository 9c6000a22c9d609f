//! What the page shows: the engine's status as the plugin or standalone reports it, the
//! optional parameter control, and the JSON documents built from them.
//!
//! The traits are implemented by the lead's glue and called from the monitor's threads (the
//! broadcast thread polls [`StatusSource`] ~10 times a second; HTTP threads call it per
//! `/status` request), never from the audio thread. Implementations must be cheap and must not
//! block for long: read atomics or a snapshot.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use atomic_float::AtomicF32;
use serde::Serialize;
use serde_json::Value;

use super::error::ParamError;
use super::icecast::IcecastTargetReport;
use super::packet::{CHANNELS, Codec, PROTOCOL_VERSION, frames_per_packet};
use crate::engine::{NowPlaying, NowPlayingFeed, SettingsSource};
use crate::params::{MusicalSettings, display_name};
use crate::realtime::Telemetry;

/// What is playing, as the engine reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct MonitorStatus {
    /// Tonic, e.g. `"D"`.
    pub key: String,
    /// Scale or mode, e.g. `"Dorian"`.
    pub scale: String,
    /// Tempo of the composer's beat timeline, beats per minute.
    pub tempo_bpm: f64,
    /// The intensity parameter, 0..=1.
    pub intensity: f32,
    /// The brightness parameter, 0..=1.
    pub brightness: f32,
    /// The space (reverb) parameter, 0..=1.
    pub space: f32,
    /// The composer's seed.
    pub seed: u32,
    /// The chord sounding now, e.g. `"Dm9"`.
    pub chord: String,
    /// Which renderer runs: `"gpu"`, `"cpu"` or `"silent"`.
    pub renderer: String,
    /// Underruns of the audio thread since start.
    pub underruns: u64,
    /// Output sample rate, Hz.
    pub sample_rate: u32,
    /// What the music follows of the notes played in ("A minor", "listening…"); empty when
    /// Follow is off.
    pub following: String,
}

impl MonitorStatus {
    /// The status of an engine playing `settings`, with what it last published (`now`, none
    /// before its first block) and its audio thread's underrun count. `renderer` names the
    /// renderer until the engine reports the one it really uses.
    pub fn from_engine(
        settings: &MusicalSettings,
        now: Option<&NowPlaying>,
        underruns: u64,
        sample_rate: u32,
        renderer: &str,
    ) -> Self {
        Self {
            key: display_name(settings.key).into(),
            scale: display_name(settings.scale).into(),
            tempo_bpm: settings.tempo_bpm as f64,
            intensity: settings.intensity,
            brightness: settings.brightness,
            space: settings.space,
            seed: settings.seed,
            chord: now.map(|n| n.chord.as_str().to_owned()).unwrap_or_default(),
            renderer: now
                .map(|n| n.renderer_name.as_str())
                .filter(|name| !name.is_empty())
                .unwrap_or(renderer)
                .to_owned(),
            underruns,
            sample_rate,
            following: now
                .map(|n| n.following.as_str().to_owned())
                .unwrap_or_default(),
        }
    }
}

/// Where the monitor gets [`MonitorStatus`] from. Called from the monitor's threads only.
pub trait StatusSource: Send + Sync + 'static {
    /// The status now. Cheap and non-blocking: it runs ~10 times a second.
    fn status(&self) -> MonitorStatus;

    /// The engine's counters, for the engine metrics of `GET /metrics` (panics, lead, block
    /// render times, GPU fallbacks). `None`, the default, leaves those metrics out rather than
    /// reporting zeros that mean nothing.
    fn telemetry(&self) -> Option<&Telemetry> {
        None
    }
}

/// The status of a running engine, read from what it shares: its settings, what it publishes
/// as playing, its counters. The one adapter between an engine and the monitor, for the plugin
/// and the standalone server alike.
pub struct EngineStatus {
    /// The settings the engine plays.
    pub settings: Arc<dyn SettingsSource + Sync>,
    /// What the engine publishes as playing.
    pub feed: NowPlayingFeed,
    /// The audio side's counters.
    pub telemetry: Arc<Telemetry>,
    /// The output rate in Hz, 0 before the engine first runs; a plugin's changes with each
    /// activation.
    pub sample_rate: Arc<AtomicF32>,
    /// What to call the renderer until the engine reports the one it really uses.
    pub renderer: String,
}

impl StatusSource for EngineStatus {
    fn status(&self) -> MonitorStatus {
        MonitorStatus::from_engine(
            &self.settings.settings(),
            self.feed.latest().as_ref(),
            self.telemetry.underruns(),
            self.sample_rate.load(Ordering::Relaxed) as u32,
            &self.renderer,
        )
    }

    fn telemetry(&self) -> Option<&Telemetry> {
        Some(&self.telemetry)
    }
}

/// Reading and changing the engine's parameters over HTTP (`GET/PUT /api/v1/params`), enabled
/// only when the monitor has an access token.
pub trait ParamsControl: Send + Sync + 'static {
    /// All parameter values as a JSON object, e.g. `{"key":"D","scale":"Dorian","tempo_bpm":70.0}`.
    fn get(&self) -> Value;

    /// Applies `changes` (a JSON object with some of the fields of [`Self::get`]) all or
    /// nothing, and returns the values after the change.
    ///
    /// # Errors
    ///
    /// [`ParamError`] naming the first field that is unknown, mistyped or out of range; nothing
    /// is changed then. The server answers it with HTTP 422.
    fn put(&self, changes: &Value) -> Result<Value, ParamError>;
}

/// The server's own counters that go with every status document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ServerCounters {
    /// Open `/stream` connections.
    pub listeners: usize,
    /// Time since the server started.
    pub uptime: Duration,
    /// Frames the tap dropped because the monitor did not read them in time.
    pub dropped_frames: u64,
}

/// The `/status` document: the engine's status plus the server's counters, flat. Serialised
/// straight to text (not through `serde_json::Value`) so `f32` fields print as `0.6`, not
/// `0.6000000238418579`.
#[derive(Serialize)]
struct StatusReport<'a> {
    /// `"status"` in the WebSocket message; absent in `GET /status`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// The engine's fields.
    #[serde(flatten)]
    status: &'a MonitorStatus,
    /// Open `/stream` connections.
    listeners: usize,
    /// Seconds since the server started, to 0.1 s.
    uptime_s: f64,
    /// Frames the tap dropped.
    dropped_frames: u64,
    /// [`PROTOCOL_VERSION`].
    protocol_version: u8,
    /// Every Icecast output (URL without password, state, counters, last error); in
    /// `GET /status` only, not in the WebSocket messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    icecast: Option<&'a [IcecastTargetReport]>,
}

impl<'a> StatusReport<'a> {
    fn new(
        kind: Option<&'static str>,
        status: &'a MonitorStatus,
        counters: ServerCounters,
    ) -> Self {
        Self {
            kind,
            status,
            listeners: counters.listeners,
            uptime_s: (counters.uptime.as_secs_f64() * 10.0).round() / 10.0,
            dropped_frames: counters.dropped_frames,
            protocol_version: PROTOCOL_VERSION,
            icecast: None,
        }
    }
}

/// The `{"type":"hello", …}` message.
#[derive(Serialize)]
struct Hello<'a> {
    /// Always `"hello"`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// [`PROTOCOL_VERSION`].
    protocol_version: u8,
    /// Sample rate of the packets, Hz.
    sample_rate: u32,
    /// Channels in the packets.
    channels: u8,
    /// The codec of this listener's packets.
    codec: &'static str,
    /// Frames per packet.
    frames_per_packet: usize,
    /// The status now, as in `GET /status`.
    status: StatusReport<'a>,
}

/// Serialises one of our documents; they hold only strings and numbers, which cannot fail.
fn to_json(document: &impl Serialize) -> String {
    serde_json::to_string(document).unwrap_or_else(|_| "{}".into())
}

/// The body of `GET /status`, with the Icecast outputs' states.
pub(super) fn status_json(
    status: &MonitorStatus,
    counters: ServerCounters,
    icecast: &[IcecastTargetReport],
) -> String {
    to_json(&StatusReport {
        icecast: Some(icecast),
        ..StatusReport::new(None, status, counters)
    })
}

/// The `{"type":"status", …}` WebSocket message: the `/status` document with a type tag.
pub(super) fn status_message(status: &MonitorStatus, counters: ServerCounters) -> String {
    to_json(&StatusReport::new(Some("status"), status, counters))
}

/// The `{"type":"hello", …}` message each listener gets first: what the stream is, and the
/// status now.
pub(super) fn hello_message(
    sample_rate: u32,
    codec: Codec,
    status: &MonitorStatus,
    counters: ServerCounters,
) -> String {
    to_json(&Hello {
        kind: "hello",
        protocol_version: PROTOCOL_VERSION,
        sample_rate,
        channels: CHANNELS,
        codec: codec.name(),
        frames_per_packet: frames_per_packet(sample_rate),
        status: StatusReport::new(None, status, counters),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> MonitorStatus {
        MonitorStatus {
            key: "D".into(),
            scale: "Dorian".into(),
            tempo_bpm: 70.0,
            chord: "Dm9".into(),
            renderer: "cpu".into(),
            sample_rate: 48_000,
            ..MonitorStatus::default()
        }
    }

    const COUNTERS: ServerCounters = ServerCounters {
        listeners: 3,
        uptime: Duration::from_millis(12_345),
        dropped_frames: 9,
    };

    #[test]
    fn the_status_document_is_flat_with_the_server_counters() {
        let json: Value = serde_json::from_str(&status_json(&status(), COUNTERS, &[])).unwrap();
        for field in [
            "key",
            "scale",
            "tempo_bpm",
            "intensity",
            "brightness",
            "space",
            "seed",
            "chord",
            "renderer",
            "underruns",
            "sample_rate",
            "listeners",
            "uptime_s",
            "dropped_frames",
            "protocol_version",
            "icecast",
        ] {
            assert!(json.get(field).is_some(), "missing {field} in {json}");
        }
        assert_eq!(json["chord"], "Dm9");
        assert_eq!(json["listeners"], 3);
        assert_eq!(json["uptime_s"], 12.3);
        assert!(json.get("type").is_none());
        let text = status_json(
            &MonitorStatus {
                intensity: 0.6,
                ..status()
            },
            COUNTERS,
            &[],
        );
        assert!(
            text.contains("\"intensity\":0.6,"),
            "f32 prints short: {text}"
        );
    }

    #[test]
    fn messages_are_tagged_with_their_type() {
        let message: Value = serde_json::from_str(&status_message(&status(), COUNTERS)).unwrap();
        assert_eq!(message["type"], "status");
        assert!(message.get("icecast").is_none(), "{message}");
        assert_eq!(message["key"], "D");
        let hello: Value =
            serde_json::from_str(&hello_message(48_000, Codec::Pcm16, &status(), COUNTERS))
                .unwrap();
        assert_eq!(hello["type"], "hello");
        assert_eq!(hello["codec"], "pcm16");
        assert_eq!(hello["frames_per_packet"], 960);
        assert_eq!(hello["status"]["scale"], "Dorian");
    }
}
