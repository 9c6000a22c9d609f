//! Auralis: a generative ambient music engine, as a CLAP and VST3 instrument.
//!
//! This file is glue: the [`Plugin`] implementation wires the parameters, the engine thread and
//! the realtime output together and exports the plugin formats. The data flows through the
//! modules in this order: `params` → `engine` (thread) → `realtime` (audio thread).

#![deny(missing_docs)]

mod clap_export;
pub mod compose;
pub mod editor;
pub mod engine;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzz_entry;
#[cfg(test)]
mod fuzzing;
pub mod logging;
pub mod monitor;
pub mod music;
pub mod params;
pub mod presets;
pub mod realtime;
pub mod signal;
mod state;
pub mod synth;

use std::num::NonZeroU32;
use std::sync::Arc;

use atomic_float::AtomicF32;
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState};

use crate::editor::{AuralisEditor, EditorShared};
use crate::engine::{EngineConfig, EngineHandle, EngineSetup, NowPlayingFeed};
use crate::monitor::{EngineStatus, MonitorSwitch};
use crate::params::{AuralisParams, SharedParams};
use crate::realtime::buffer::OutputGain;
use crate::realtime::denormals::DenormalGuard;
use crate::realtime::{
    EngineLink, HostTransport, LevelMeter, TapProducer, Telemetry, WaitPolicy, buffer, tap_ring_for,
};
use crate::signal::SampleRate;
use crate::synth::RendererChoice;

/// The plugin instance.
pub struct Auralis {
    /// Parameters, shared with the engine thread (and later the editor).
    params: SharedParams,
    /// Counters shared by the audio thread, the engine and status reporting.
    telemetry: Arc<Telemetry>,
    /// What is playing, published by the engine for the editor and the web monitor.
    feed: NowPlayingFeed,
    /// Set by `reset()`: the next block asks the engine to start the music over.
    restart_pending: bool,
    /// The web monitor, off unless the user switches it on.
    monitor: Arc<MonitorSwitch>,
    /// The sample rate of the current activation (0 before the first), for the GUI and monitor.
    sample_rate: Arc<AtomicF32>,
    /// The editor window's size, kept while the instance lives.
    editor_state: Arc<EguiEditorState>,
    /// Whether the host's transport means anything. The standalone wrapper reports a transport
    /// that always plays at 120 BPM; following it would override the Tempo parameter.
    host_transport: bool,
    /// Everything that exists only while active.
    active: Option<Active>,
}

/// The parts of an active instance.
struct Active {
    /// The engine thread. Declared before `link` so it stops before the rings' audio ends go.
    engine: EngineHandle,
    /// The audio thread's end of the engine: requests in, frames and notes out.
    link: EngineLink,
    /// The audio thread's end of the monitor's tap, written while the monitor streams.
    tap: TapProducer,
    /// The Gain parameter, applied to what leaves.
    gain: OutputGain,
    /// Output levels for the GUI's meters.
    meter: LevelMeter,
}

impl Default for Auralis {
    fn default() -> Self {
        let params = Arc::new(AuralisParams::default());
        let telemetry = Arc::new(Telemetry::default());
        // The CLAP factory's telemetry extension needs these counters, and nice-plug's wrapper
        // keeps the instance it makes from here private.
        clap_export::created(&telemetry);
        let feed = NowPlayingFeed::default();
        let sample_rate = Arc::new(AtomicF32::new(0.0));
        let status = EngineStatus {
            settings: params.clone(),
            feed: feed.clone(),
            telemetry: telemetry.clone(),
            sample_rate: sample_rate.clone(),
            renderer: "starting".into(),
        };
        Self {
            params,
            telemetry,
            feed,
            restart_pending: false,
            monitor: Arc::new(MonitorSwitch::from_env(Arc::new(status))),
            sample_rate,
            editor_state: editor::default_state(),
            host_transport: true,
            active: None,
        }
    }
}

impl Auralis {
    /// Counters of this instance: underruns, frames played and rendered.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// What is playing now and next.
    pub fn now_playing(&self) -> &NowPlayingFeed {
        &self.feed
    }

    fn start_engine(&mut self, buffer_config: &BufferConfig) -> std::io::Result<Active> {
        let sample_rate = SampleRate::from_host(buffer_config.sample_rate);
        let policy = match buffer_config.process_mode {
            ProcessMode::Offline => WaitPolicy::Offline,
            ProcessMode::Realtime | ProcessMode::Buffered => WaitPolicy::Realtime,
        };
        let max_block = buffer_config.max_buffer_size as usize;
        nice_plug::nice_log!(
            "activated: {sample_rate}, blocks of up to {max_block} frames, {:?}",
            buffer_config.process_mode
        );
        let (engine, link) = engine::start(EngineSetup {
            config: EngineConfig {
                renderer: RendererChoice::from_env(),
                ..EngineConfig::for_host(sample_rate, policy, max_block)
            },
            settings: Box::new(self.params.clone()),
            telemetry: self.telemetry.clone(),
            feed: Some(self.feed.clone()),
            midi_out: true,
        })?;
        let (tap, tap_rx) = tap_ring_for(sample_rate);
        self.sample_rate
            .store(sample_rate.hz(), std::sync::atomic::Ordering::Relaxed);
        self.monitor.attach(tap_rx, sample_rate);
        Ok(Active {
            engine,
            link,
            tap,
            gain: OutputGain::default(),
            meter: LevelMeter::new(sample_rate),
        })
    }

    fn stop_engine(&mut self) {
        if let Some(active) = self.active.take() {
            self.monitor.detach();
            active.engine.stop();
        }
    }
}

impl Plugin for Auralis {
    const NAME: &'static str = "Auralis";
    const VENDOR: &'static str = "Auralis";
    const URL: &'static str = "https://example.invalid/auralis";
    const EMAIL: &'static str = "hello@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout {
        main_input_channels: None,
        main_output_channels: NonZeroU32::new(2),
        aux_input_ports: &[],
        aux_output_ports: &[],
        names: PortNames::const_default(),
    }];

    // Notes only. CCs (the sustain pedal that Follow honours in `render --midi-in`) would need
    // `MidiCCs`, which in VST3, having no CC events, becomes 16 × 130 hidden parameters
    // (IMidiMapping): hosts that list every parameter then show 2,091 of them and one took
    // 18 s to load the plugin. Until CCs can reach CLAP alone, a held chord is held by its keys.
    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = EguiEditor<AuralisEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn setup_logger() -> Option<bool> {
        Some(logging::init())
    }

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            EditorShared {
                params: self.params.clone(),
                telemetry: self.telemetry.clone(),
                feed: self.feed.clone(),
                monitor: self.monitor.clone(),
                sample_rate: self.sample_rate.clone(),
            },
            self.editor_state.clone(),
        )
    }

    fn filter_state(state: &mut PluginState) {
        state::sanitize(state);
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.host_transport = context.plugin_api() != PluginApi::Standalone;
        // Hosts may activate again without deactivating (a state load, a new sample rate).
        self.stop_engine();
        match self.start_engine(buffer_config) {
            Ok(active) => {
                self.active = Some(active);
                true
            }
            Err(err) => {
                nice_error!("Auralis could not start its engine thread: {err}");
                false
            }
        }
    }

    fn reset(&mut self) {
        // The host (re)starts processing: a render from the top, a bounce, a new session. The
        // music starts over with the parameters as they are now. The engine owns all musical
        // state, so the audio thread only passes the word on with the next block.
        self.restart_pending = true;
    }

    fn deactivate(&mut self) {
        self.stop_engine();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let _denormals = DenormalGuard::new();
        let channels = buffer.as_slice();
        let Some(active) = self.active.as_mut() else {
            while context.next_event().is_some() {}
            buffer::silence(channels);
            return ProcessStatus::KeepAlive;
        };
        // The notes played in are not played: the engine follows what they say (Follow).
        while let Some(event) = context.next_event() {
            active.link.receive(&event);
        }
        let [left, right, ..] = channels else {
            buffer::silence(channels);
            return ProcessStatus::KeepAlive;
        };
        let frames = left.len().min(right.len());
        let host = self.host_transport.then(|| {
            let transport = context.transport();
            HostTransport {
                playing: transport.playing,
                tempo_bpm: transport.tempo,
                pos_beats: transport.pos_beats(),
            }
        });
        let restart = std::mem::take(&mut self.restart_pending);
        let at_frame = active
            .link
            .request(frames, self.params.settings(), host, restart);
        active.link.fill(left, right);
        // A host whose output queue is full loses the note: nothing else can be done without
        // waiting.
        active.link.send_notes(at_frame, frames, |event| {
            let _ = context.try_send_event(event);
        });
        active
            .gain
            .apply(&self.params.gain_db.smoothed, left, right);
        active.meter.measure(left, right, &self.telemetry);
        if self.monitor.is_streaming() {
            // A full tap (the monitor fell behind) drops this block; the monitor flags the gap.
            active.tap.push_block(left, right);
        }
        ProcessStatus::KeepAlive
    }
}

impl ClapPlugin for Auralis {
    const CLAP_ID: &'static str = "audio.auralis.generative";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Endlessly evolving generative ambient music");
    const CLAP_MANUAL_URL: Option<&'static str> = Some(Self::URL);
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::Instrument,
        ClapFeature::Synthesizer,
        ClapFeature::Stereo,
        ClapFeature::Custom("auralis:ambient"),
    ];
}

impl Vst3Plugin for Auralis {
    /// Stable forever: hosts identify the plugin in saved projects by this id.
    const VST3_CLASS_ID: [u8; 16] = *b"AuralisAmbient01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Synth];
}

// CLAP: exported by `clap_export`, which adds preset discovery and preset-load to nice-plug's
// plugin factory (nice-plug's `nice_export_clap!` would define the same entry point).
nice_export_vst3!(Auralis);
