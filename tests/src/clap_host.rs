//! A small CLAP host for the end-to-end tests, built on `clack-host`.
//!
//! It does what a DAW does with an instrument and little more: load a `.clap`, list its plugins,
//! instantiate one, activate it at a sample rate and block size, run `process()` with parameter
//! automation and notes in the input events, save and load state, switch to offline rendering,
//! deactivate and destroy. Output is collected as two f32 channels.
//!
//! Threads follow CLAP's model. The thread that creates a [`ClapInstance`] is its main thread
//! (the type is not `Send`). Audio-thread calls (`start_processing`, `process`,
//! `stop_processing`, `flush` while active) run on a scoped thread that the host's thread-check
//! extension reports as the audio thread, while the main thread keeps answering the plugin's
//! `request_callback`s, as a DAW's UI thread does. Host-side code allocates freely; only the
//! plugin's own `process()` is held to the realtime rules.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use clack_extensions::audio_ports::{AudioPortFlags, AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::note_ports::{NoteDialects, NotePortInfoBuffer, PluginNotePorts};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamInfoFlags, ParamRescanFlags, PluginParams,
};
use clack_extensions::preset_discovery::HostPresetLoadImpl;
use clack_extensions::preset_discovery::prelude::{HostPresetLoad, Location, PluginPresetLoad};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_host::events::event_types::{
    NoteOffEvent, NoteOnEvent, ParamModEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::{EventFlags, EventHeader, Match};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

mod telemetry;

use telemetry::PluginTelemetry;

/// The largest block a test may ask for; buffers are sized for it once per activation.
pub const MAX_BLOCK_FRAMES: u32 = 8192;

thread_local! {
    /// Set on the threads this host runs audio-thread calls on, for the thread-check extension.
    static IS_AUDIO_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Bundles loaded so far. A DAW keeps a plugin library loaded while any project uses it; these
/// tests do the same for the whole test process, so parallel tests never race a library unload.
static LOADED: Mutex<Vec<(PathBuf, PluginEntry)>> = Mutex::new(Vec::new());

/// A loaded `.clap` library.
pub struct ClapBundle {
    /// The library's entry point, initialised.
    entry: PluginEntry,
    /// Where it was loaded from, for messages.
    path: PathBuf,
}

/// What the plugin factory says about one plugin.
#[derive(Debug, Clone)]
pub struct PluginDescription {
    /// Reverse-domain id, e.g. `audio.auralis.generative`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Vendor name.
    pub vendor: String,
    /// Version string.
    pub version: String,
    /// Feature tags (`instrument`, `stereo`, …).
    pub features: Vec<String>,
}

impl ClapBundle {
    /// Loads the `.clap` at `path` (on Linux, a shared library) and initialises its entry.
    ///
    /// # Errors
    /// If the file is missing, is not a CLAP plugin, or its entry refuses to initialise.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        ensure!(
            path.is_file(),
            "no CLAP plugin at {} (build it with `cargo xtask bundle auralis-plugin --release`)",
            path.display()
        );
        let path = path
            .canonicalize()
            .with_context(|| format!("resolving {}", path.display()))?;
        let mut loaded = LOADED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, entry)) = loaded.iter().find(|(p, _)| *p == path) {
            return Ok(Self {
                entry: entry.clone(),
                path,
            });
        }
        // SAFETY: loading a library runs its initialisers. The file is this workspace's own
        // plugin, built by cargo, and it stays loaded for the rest of the process.
        let entry = unsafe { PluginEntry::load(&path) }
            .map_err(|err| anyhow!("loading {} as a CLAP plugin: {err}", path.display()))?;
        loaded.push((path.clone(), entry.clone()));
        Ok(Self { entry, path })
    }

    /// The library's entry, for the other factories (preset discovery).
    pub(crate) fn entry(&self) -> &PluginEntry {
        &self.entry
    }

    /// Every plugin the bundle's factory lists.
    ///
    /// # Errors
    /// If the bundle has no plugin factory.
    pub fn plugins(&self) -> Result<Vec<PluginDescription>> {
        let factory = self
            .entry
            .get_plugin_factory()
            .with_context(|| format!("{} has no plugin factory", self.path.display()))?;
        Ok(factory
            .plugin_descriptors()
            .map(|descriptor| PluginDescription {
                id: lossy(descriptor.id()),
                name: lossy(descriptor.name()),
                vendor: lossy(descriptor.vendor()),
                version: lossy(descriptor.version()),
                features: descriptor
                    .features()
                    .map(|f| f.to_string_lossy().into_owned())
                    .collect(),
            })
            .collect())
    }

    /// Creates and initialises an instance of the plugin with id `plugin_id` on this thread,
    /// which becomes the instance's main thread.
    ///
    /// # Errors
    /// If the id is unknown or the plugin fails to initialise.
    pub fn instantiate(&self, plugin_id: &str) -> Result<ClapInstance> {
        let host_info = HostInfo::new(
            "Auralis test host",
            "Auralis",
            "https://example.invalid/auralis",
            env!("CARGO_PKG_VERSION"),
        )
        .map_err(|err| anyhow!("host info: {err}"))?;
        let id = CString::new(plugin_id).context("plugin id contains a NUL byte")?;
        let mut instance = PluginInstance::<TestHost>::new(
            |_| HostShared::new(),
            |_| HostMainThread::default(),
            &self.entry,
            &id,
            &host_info,
        )
        .map_err(|err| anyhow!("instantiating {plugin_id}: {err}"))?;

        let shared = instance.plugin_shared_handle();
        let extensions = PluginExtensions {
            params: shared.get_extension(),
            state: shared.get_extension(),
            render: shared.get_extension(),
            audio_ports: shared.get_extension(),
            note_ports: shared.get_extension(),
            telemetry: shared.get_extension(),
        };
        let params = match extensions.params {
            Some(ext) => read_param_descriptions(&ext, &mut instance)?,
            None => Vec::new(),
        };
        Ok(ClapInstance {
            instance,
            processor: None,
            config: None,
            extensions,
            params,
            steady_time: 0,
            transport: None,
            input_channels: 0,
        })
    }
}

fn lossy(s: Option<&CStr>) -> String {
    s.map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The plugin-side extensions the host uses, looked up once after `init`.
#[derive(Clone, Copy)]
struct PluginExtensions {
    params: Option<PluginParams>,
    state: Option<PluginState>,
    render: Option<PluginRender>,
    audio_ports: Option<PluginAudioPorts>,
    note_ports: Option<PluginNotePorts>,
    /// Auralis's own counters (`telemetry.rs`); other plugins have none.
    telemetry: Option<PluginTelemetry>,
}

/// One parameter as the params extension describes it. Values are CLAP plain values in
/// `min_value..=max_value`.
#[derive(Debug, Clone)]
pub struct ParamDescription {
    /// The id events and `get_value` use.
    pub id: ClapId,
    /// Display name.
    pub name: String,
    /// Module (group) path.
    pub module: String,
    /// Smallest plain value.
    pub min_value: f64,
    /// Largest plain value.
    pub max_value: f64,
    /// Plain value of a new instance.
    pub default_value: f64,
    /// Automatable, stepped, hidden, …
    pub flags: ParamInfoFlags,
}

impl ParamDescription {
    /// The plain value at `normalized` (0..=1) of the range.
    pub fn plain(&self, normalized: f64) -> f64 {
        self.min_value + normalized * (self.max_value - self.min_value)
    }

    /// Whether `value` is finite and within the advertised range.
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && value >= self.min_value && value <= self.max_value
    }
}

fn read_param_descriptions(
    ext: &PluginParams,
    instance: &mut PluginInstance<TestHost>,
) -> Result<Vec<ParamDescription>> {
    let handle = instance.plugin_handle();
    let count = ext.count(&handle);
    let mut buffer = ParamInfoBuffer::new();
    (0..count)
        .map(|index| {
            let info = ext
                .get_info(&handle, index, &mut buffer)
                .with_context(|| format!("params.get_info({index}) of {count} failed"))?;
            Ok(ParamDescription {
                id: info.id,
                name: String::from_utf8_lossy(info.name).into_owned(),
                module: String::from_utf8_lossy(info.module).into_owned(),
                min_value: info.min_value,
                max_value: info.max_value,
                default_value: info.default_value,
                flags: info.flags,
            })
        })
        .collect()
}

/// An audio port as the audio-ports extension describes it.
#[derive(Debug, Clone)]
pub struct AudioPortDescription {
    /// Display name.
    pub name: String,
    /// Channels on the port.
    pub channel_count: u32,
    /// Whether it is the main port of its direction.
    pub is_main: bool,
    /// Port type (`stereo`, `mono`, …), if the plugin names one.
    pub port_type: Option<String>,
}

/// A note port as the note-ports extension describes it.
#[derive(Debug, Clone)]
pub struct NotePortDescription {
    /// Display name.
    pub name: String,
    /// Accepts CLAP note events.
    pub clap_dialect: bool,
    /// Accepts MIDI 1 events.
    pub midi_dialect: bool,
}

/// A transport that the host sends with every block and advances while playing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostTransport {
    /// Whether the song position moves.
    pub playing: bool,
    /// Tempo in beats per minute.
    pub tempo_bpm: f64,
    /// Song position in quarter-note beats at the next block's first frame.
    pub pos_beats: f64,
}

impl HostTransport {
    fn event(&self) -> TransportEvent {
        let mut flags = TransportFlags::HAS_TEMPO
            | TransportFlags::HAS_BEATS_TIMELINE
            | TransportFlags::HAS_SECONDS_TIMELINE
            | TransportFlags::HAS_TIME_SIGNATURE;
        if self.playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        let pos_seconds = self.pos_beats * 60.0 / self.tempo_bpm.max(1.0);
        let bar = (self.pos_beats / 4.0).floor();
        TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: BeatTime::from_float(self.pos_beats),
            song_pos_seconds: SecondsTime::from_float(pos_seconds),
            tempo: self.tempo_bpm,
            tempo_inc: 0.0,
            loop_start_beats: BeatTime::from_float(0.0),
            loop_end_beats: BeatTime::from_float(0.0),
            loop_start_seconds: SecondsTime::from_float(0.0),
            loop_end_seconds: SecondsTime::from_float(0.0),
            bar_start: BeatTime::from_float(bar * 4.0),
            bar_number: bar as i32,
            time_signature_numerator: 4,
            time_signature_denominator: 4,
        }
    }

    fn advance(&mut self, frames: u32, sample_rate: f64) {
        if self.playing {
            self.pos_beats += frames as f64 / sample_rate * self.tempo_bpm / 60.0;
        }
    }
}

/// One event the host puts in a block's input events. `time` is the frame offset in the block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InEvent {
    /// Automation: set a parameter to a CLAP plain value.
    ParamValue {
        /// Frame offset in the block.
        time: u32,
        /// Parameter id.
        param: ClapId,
        /// Plain value (may be anything a host could send, including NaN).
        value: f64,
    },
    /// Modulation: offset a parameter by a plain amount.
    ParamMod {
        /// Frame offset in the block.
        time: u32,
        /// Parameter id.
        param: ClapId,
        /// Plain offset.
        amount: f64,
    },
    /// A note starts on port 0, channel 0.
    NoteOn {
        /// Frame offset in the block.
        time: u32,
        /// MIDI key, 0..=127.
        key: u16,
        /// 0..=1.
        velocity: f64,
    },
    /// A note ends on port 0, channel 0.
    NoteOff {
        /// Frame offset in the block.
        time: u32,
        /// MIDI key, 0..=127.
        key: u16,
    },
}

impl InEvent {
    /// A parameter change at `time`: `value` as automation, or as a modulation offset.
    pub fn param_change(time: u32, param: ClapId, value: f64, as_modulation: bool) -> Self {
        if as_modulation {
            Self::ParamMod {
                time,
                param,
                amount: value,
            }
        } else {
            Self::ParamValue { time, param, value }
        }
    }

    /// Frame offset in the block.
    pub fn time(&self) -> u32 {
        match *self {
            InEvent::ParamValue { time, .. }
            | InEvent::ParamMod { time, .. }
            | InEvent::NoteOn { time, .. }
            | InEvent::NoteOff { time, .. } => time,
        }
    }

    fn push_into(&self, buffer: &mut EventBuffer) {
        match *self {
            InEvent::ParamValue { time, param, value } => {
                buffer.push(&ParamValueEvent::new(time, param, Pckn::match_all(), value));
            }
            InEvent::ParamMod {
                time,
                param,
                amount,
            } => {
                buffer.push(&ParamModEvent::new(time, param, Pckn::match_all(), amount));
            }
            InEvent::NoteOn {
                time,
                key,
                velocity,
            } => {
                buffer.push(&NoteOnEvent::new(
                    time,
                    Pckn::new(0u16, 0u16, key, Match::All),
                    velocity,
                ));
            }
            InEvent::NoteOff { time, key } => {
                buffer.push(&NoteOffEvent::new(
                    time,
                    Pckn::new(0u16, 0u16, key, Match::All),
                    0.0,
                ));
            }
        }
    }
}

/// What the host sends with one block; a test's block plan fills it in.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Frames in this block, 1..=the activation's maximum.
    pub frames: u32,
    /// Input events, in any order (the host sorts them by time).
    pub events: Vec<InEvent>,
    /// The transport sent with this block, preset to the instance's running one. A plan that
    /// changes it moves the running transport: later blocks go on from what it set, as a host's
    /// timeline does after a jump, a tempo change or a stop.
    pub transport: Option<HostTransport>,
}

/// Audio collected from a run of blocks, with timing figures.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The activation's sample rate.
    pub sample_rate: f64,
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
    /// Blocks processed.
    pub blocks: usize,
    /// Wall time spent inside the plugin's `process()`, summed.
    pub process_time: Duration,
    /// The longest single `process()` call.
    pub max_process_time: Duration,
    /// Wall time of each `process()` call, in block order: benchmarks take percentiles of it.
    pub process_times: Vec<Duration>,
    /// Events the plugin pushed to the output queue.
    pub output_events: usize,
    /// The note events among them, in order, with their frame in this run.
    pub notes: Vec<OutNote>,
}

/// A note event the plugin sent to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutNote {
    /// Frame since the start of the run.
    pub frame: usize,
    /// Note-on (true) or note-off.
    pub on: bool,
    /// MIDI channel, 0..=15.
    pub channel: u8,
    /// MIDI key.
    pub key: u8,
}

impl OutNote {
    /// Reads a CLAP note event or a raw MIDI note event; other events are `None`.
    fn from_event(event: &clack_host::events::UnknownEvent, block_start: usize) -> Option<Self> {
        use clack_host::events::spaces::CoreEventSpace;
        let frame = block_start + event.header().time() as usize;
        let note = |on: bool, channel: Option<&u16>, key: Option<&u16>| {
            Some(Self {
                frame,
                on,
                channel: *channel? as u8,
                key: *key? as u8,
            })
        };
        match event.as_core_event()? {
            CoreEventSpace::NoteOn(e) => {
                note(true, e.channel().as_specific(), e.key().as_specific())
            }
            CoreEventSpace::NoteOff(e) => {
                note(false, e.channel().as_specific(), e.key().as_specific())
            }
            CoreEventSpace::Midi(e) => {
                let [status, key, velocity] = e.data();
                let channel = status & 0x0f;
                match status & 0xf0 {
                    0x90 if velocity > 0 => Some(Self {
                        frame,
                        on: true,
                        channel,
                        key,
                    }),
                    0x80 | 0x90 => Some(Self {
                        frame,
                        on: false,
                        channel,
                        key,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl Rendered {
    /// Frames per channel.
    pub fn frames(&self) -> usize {
        self.left.len()
    }

    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.sample_rate
    }

    /// The last `seconds` of both channels.
    pub fn tail(&self, seconds: f64) -> (&[f32], &[f32]) {
        let frames = ((seconds * self.sample_rate) as usize).min(self.frames());
        let start = self.frames() - frames;
        (&self.left[start..], &self.right[start..])
    }

    /// Appends another run (same sample rate).
    pub fn extend(&mut self, other: Rendered) {
        self.sample_rate = other.sample_rate;
        self.left.extend_from_slice(&other.left);
        self.right.extend_from_slice(&other.right);
        self.blocks += other.blocks;
        self.process_time += other.process_time;
        self.max_process_time = self.max_process_time.max(other.max_process_time);
        self.process_times.extend_from_slice(&other.process_times);
        self.output_events += other.output_events;
        let offset = self.frames() - other.frames();
        self.notes.extend(other.notes.iter().map(|n| OutNote {
            frame: n.frame + offset,
            ..*n
        }));
    }
}

/// One plugin instance and the host state around it. Not `Send`: its thread is its main thread.
pub struct ClapInstance {
    /// The plugin instance; destroyed on drop.
    instance: PluginInstance<TestHost>,
    /// The audio processor while active.
    processor: Option<PluginAudioProcessor<TestHost>>,
    /// The configuration of the current activation.
    config: Option<PluginAudioConfiguration>,
    /// Plugin extensions.
    extensions: PluginExtensions,
    /// Parameters as listed after instantiation.
    params: Vec<ParamDescription>,
    /// Frames processed since activation, passed as `steady_time`.
    steady_time: u64,
    /// The transport sent with each block, if any.
    transport: Option<HostTransport>,
    /// Channels of the plugin's main input port (0 without one), read at activation: an
    /// effect gets a test signal there, as a track's insert gets the track's audio.
    input_channels: u32,
}

impl ClapInstance {
    /// Every parameter, in the plugin's order.
    pub fn params(&self) -> &[ParamDescription] {
        &self.params
    }

    /// The parameter with display name `name`.
    ///
    /// # Errors
    /// If no parameter has that name; the message lists the names there are.
    pub fn param(&self, name: &str) -> Result<&ParamDescription> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .with_context(|| {
                let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                format!("no parameter named {name:?}; the plugin has {names:?}")
            })
    }

    /// Whether the instance is active.
    pub fn is_active(&self) -> bool {
        self.processor.is_some()
    }

    /// The transport sent with each following block (`None`: no transport, as a host without
    /// a timeline).
    pub fn set_transport(&mut self, transport: Option<HostTransport>) {
        self.transport = transport;
    }

    /// Audio ports in one direction.
    pub fn audio_ports(&mut self, is_input: bool) -> Result<Vec<AudioPortDescription>> {
        let ext = self
            .extensions
            .audio_ports
            .context("the plugin has no audio-ports extension")?;
        let handle = self.instance.plugin_handle();
        let mut buffer = AudioPortInfoBuffer::new();
        (0..ext.count(&handle, is_input))
            .map(|index| {
                let info = ext
                    .get(&handle, index, is_input, &mut buffer)
                    .with_context(|| format!("audio_ports.get({index}, {is_input}) failed"))?;
                Ok(AudioPortDescription {
                    name: String::from_utf8_lossy(info.name).into_owned(),
                    channel_count: info.channel_count,
                    is_main: info.flags.contains(AudioPortFlags::IS_MAIN),
                    port_type: info.port_type.map(|t| t.0.to_string_lossy().into_owned()),
                })
            })
            .collect()
    }

    /// Note ports in one direction.
    pub fn note_ports(&mut self, is_input: bool) -> Result<Vec<NotePortDescription>> {
        let ext = self
            .extensions
            .note_ports
            .context("the plugin has no note-ports extension")?;
        let handle = self.instance.plugin_handle();
        let mut buffer = NotePortInfoBuffer::new();
        (0..ext.count(&handle, is_input))
            .map(|index| {
                let info = ext
                    .get(&handle, index, is_input, &mut buffer)
                    .with_context(|| format!("note_ports.get({index}, {is_input}) failed"))?;
                Ok(NotePortDescription {
                    name: String::from_utf8_lossy(info.name).into_owned(),
                    clap_dialect: info.supported_dialects.contains(NoteDialects::CLAP),
                    midi_dialect: info.supported_dialects.contains(NoteDialects::MIDI),
                })
            })
            .collect()
    }

    fn params_ext(&self) -> Result<PluginParams> {
        self.extensions
            .params
            .context("the plugin has no params extension")
    }

    /// The current plain value of parameter `id`.
    ///
    /// # Errors
    /// If the plugin does not report one.
    pub fn value(&mut self, id: ClapId) -> Result<f64> {
        let ext = self.params_ext()?;
        ext.get_value(&self.instance.plugin_handle(), id)
            .with_context(|| format!("params.get_value({id:?}) failed"))
    }

    /// The current plain value of the parameter named `name`.
    pub fn value_by_name(&mut self, name: &str) -> Result<f64> {
        let id = self.param(name)?.id;
        self.value(id)
    }

    /// The plugin's text for plain value `value` of parameter `id`.
    ///
    /// # Errors
    /// If the plugin refuses.
    pub fn value_to_text(&mut self, id: ClapId, value: f64) -> Result<String> {
        let ext = self.params_ext()?;
        let mut buffer = [0u8; 256];
        let text = ext
            .value_to_text(&self.instance.plugin_handle(), id, value, &mut buffer)
            .map_err(|_| anyhow!("params.value_to_text({id:?}, {value}) failed"))?;
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// The text of the current value of the parameter named `name`.
    pub fn text_by_name(&mut self, name: &str) -> Result<String> {
        let id = self.param(name)?.id;
        let value = self.value(id)?;
        self.value_to_text(id, value)
    }

    /// The plain value the plugin parses from `text` for parameter `id`.
    ///
    /// # Errors
    /// If the plugin cannot parse it.
    pub fn text_to_value(&mut self, id: ClapId, text: &str) -> Result<f64> {
        let ext = self.params_ext()?;
        let text = CString::new(text).context("text contains a NUL byte")?;
        ext.text_to_value(&self.instance.plugin_handle(), id, &text)
            .with_context(|| format!("params.text_to_value({id:?}, {text:?}) failed"))
    }

    /// Sends parameter changes through `params.flush`, without processing audio: on the main
    /// thread while inactive, on the audio thread while active (CLAP's rule).
    ///
    /// # Errors
    /// If the plugin has no params extension or the audio thread fails.
    pub fn flush(&mut self, changes: &[(ClapId, f64)]) -> Result<()> {
        let ext = self.params_ext()?;
        let events: Vec<ParamValueEvent> = changes
            .iter()
            .map(|&(id, value)| ParamValueEvent::new(0, id, Pckn::match_all(), value))
            .collect();
        let mut out = EventBuffer::new();
        match self.processor.as_mut() {
            None => {
                let mut handle = self
                    .instance
                    .inactive_plugin_handle()
                    .context("the instance is active without a processor")?;
                ext.flush(
                    &mut handle,
                    &InputEvents::from_buffer(&events),
                    &mut OutputEvents::from_buffer(&mut out),
                );
            }
            Some(processor) => {
                on_audio_thread(|| {
                    let mut handle = processor.plugin_handle();
                    ext.flush_active(
                        &mut handle,
                        &InputEvents::from_buffer(&events),
                        &mut OutputEvents::from_buffer(&mut out),
                    );
                })?;
            }
        }
        self.service_main_thread();
        Ok(())
    }

    /// Selects realtime or offline rendering (the render extension). CLAP hosts call this before
    /// activating; changing it while active makes the plugin ask for a restart.
    ///
    /// # Errors
    /// If the plugin has no render extension or refuses the mode.
    pub fn set_render_mode(&mut self, mode: RenderMode) -> Result<()> {
        let ext = self
            .extensions
            .render
            .context("the plugin has no render extension")?;
        ext.set(&self.instance.plugin_handle(), mode)
            .map_err(|err| anyhow!("render.set({mode:?}): {err}"))
    }

    /// Saves the plugin's state, as a host saving a project does.
    ///
    /// # Errors
    /// If the plugin has no state extension or fails to save.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let ext = self
            .extensions
            .state
            .context("the plugin has no state extension")?;
        let mut blob = Vec::new();
        ext.save(&self.instance.plugin_handle(), &mut blob)
            .map_err(|err| anyhow!("state.save: {err}"))?;
        self.service_main_thread();
        Ok(blob)
    }

    /// Loads a state blob, as a host opening a project does.
    ///
    /// # Errors
    /// If the plugin has no state extension or rejects the blob.
    pub fn load_state(&mut self, blob: &[u8]) -> Result<()> {
        let ext = self
            .extensions
            .state
            .context("the plugin has no state extension")?;
        let result = ext
            .load(&self.instance.plugin_handle(), &mut Cursor::new(blob))
            .map_err(|err| anyhow!("state.load of {} bytes: {err}", blob.len()));
        self.service_main_thread();
        result
    }

    /// How often the plugin asked the host to rescan parameters, and the flags of the last
    /// request (a plugin does after a state load, so that the host's UI and lanes follow).
    pub fn param_rescans(&self) -> (u32, Option<ParamRescanFlags>) {
        self.instance
            .access_handler(|h| (h.rescans.get(), h.last_rescan.get()))
    }

    /// The underruns the plugin has counted itself since it was created, through Auralis's
    /// telemetry extension: the gaps it played because its engine fell behind, which the host
    /// cannot see in the time its calls took.
    ///
    /// # Errors
    /// If the plugin does not count underruns (it is not Auralis).
    pub fn underruns(&self) -> Result<u64> {
        telemetry::underruns(
            self.extensions.telemetry,
            &self.instance.plugin_shared_handle(),
        )
    }

    /// Loads a preset through the plugin's preset-load extension, as a host's preset browser
    /// does, and returns what the plugin then told the host it loaded.
    ///
    /// # Errors
    /// If the plugin has no preset-load extension or refuses the preset (with the message it
    /// reported through the host's `on_error`).
    pub fn load_preset(
        &mut self,
        location: &crate::clap_presets::PresetLocation,
        load_key: Option<&str>,
    ) -> Result<String> {
        let ext: PluginPresetLoad = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .context("the plugin has no preset-load extension")?;
        let key = load_key
            .map(CString::new)
            .transpose()
            .context("a load key with a NUL byte")?;
        let result = location.with_raw(|location| {
            ext.load_from_location(&self.instance.plugin_handle(), location, key.as_deref())
        })?;
        self.service_main_thread();
        let (loaded, errors) = self.instance.access_handler(|h| {
            (
                h.presets_loaded.borrow_mut().pop(),
                std::mem::take(&mut *h.preset_errors.borrow_mut()),
            )
        });
        result.map_err(|_| anyhow!("preset-load refused it: {}", errors.join("; ")))?;
        loaded.context("the plugin loaded the preset but did not tell the host")
    }

    /// How often the plugin marked its state dirty.
    pub fn dirty_marks(&self) -> u32 {
        self.instance.access_handler(|h| h.dirty_marks.get())
    }

    /// Whether the plugin asked for a restart (deactivate + activate) since the last call.
    pub fn take_restart_request(&self) -> bool {
        self.instance
            .access_shared_handler(|s| s.restart_requested.swap(false, Ordering::AcqRel))
    }

    /// Activates at `sample_rate` for blocks of 1..=`max_block_frames` frames.
    ///
    /// # Errors
    /// If already active, the size is out of range, or the plugin refuses.
    pub fn activate(&mut self, sample_rate: f64, max_block_frames: u32) -> Result<()> {
        ensure!(self.processor.is_none(), "already active");
        ensure!(
            (1..=MAX_BLOCK_FRAMES).contains(&max_block_frames),
            "block size {max_block_frames} outside 1..={MAX_BLOCK_FRAMES}"
        );
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_block_frames,
        };
        let stopped = self
            .instance
            .activate(|_, _| (), config)
            .map_err(|err| anyhow!("activate at {sample_rate} Hz: {err}"))?;
        self.processor = Some(stopped.into());
        self.config = Some(config);
        self.steady_time = 0;
        self.input_channels = match self.extensions.audio_ports {
            Some(_) => self
                .audio_ports(true)?
                .first()
                .map_or(0, |port| port.channel_count),
            None => 0,
        };
        self.service_main_thread();
        Ok(())
    }

    /// Stops processing (on the audio thread) and deactivates (on the main thread). Does nothing
    /// when inactive.
    ///
    /// # Errors
    /// If the audio thread panicked.
    pub fn deactivate(&mut self) -> Result<()> {
        let Some(mut processor) = self.processor.take() else {
            return Ok(());
        };
        self.config = None;
        on_audio_thread(|| {
            processor.ensure_processing_stopped();
        })?;
        self.instance.deactivate(processor.into_stopped());
        self.service_main_thread();
        Ok(())
    }

    /// Runs the plugin's main-thread callback if it asked for one.
    pub fn service_main_thread(&mut self) {
        if self
            .instance
            .access_shared_handler(|s| s.callback_requested.swap(false, Ordering::AcqRel))
        {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Processes about `seconds` of audio in blocks of `block_frames`, without events.
    ///
    /// # Errors
    /// See [`process_blocks`](Self::process_blocks).
    pub fn render(&mut self, seconds: f64, block_frames: u32) -> Result<Rendered> {
        let sample_rate = self.config.context("not active")?.sample_rate;
        let blocks = (seconds * sample_rate / block_frames as f64).ceil() as usize;
        self.process_blocks(blocks, |_, block| block.frames = block_frames)
    }

    /// Processes `blocks` blocks back to back on the audio thread. Before each block, `plan` gets
    /// the block index and a [`Block`] preset to the maximum size, no events and the running
    /// transport, and may change any of them. Output buffers are filled with NaN before each
    /// call, so any sample the plugin does not write shows up as non-finite.
    ///
    /// # Errors
    /// If not active, a plan asks for a block size outside the activation's range, or
    /// `process()` returns an error.
    pub fn process_blocks<F>(&mut self, blocks: usize, mut plan: F) -> Result<Rendered>
    where
        F: FnMut(usize, &mut Block) + Send,
    {
        let mut instances = [self];
        let rendered = on_shared_audio_thread(&mut instances, |audio| {
            let job = &mut audio.jobs[0];
            let max_frames = job.config.max_frames_count as usize;
            let mut rendered = Rendered {
                sample_rate: job.config.sample_rate,
                left: Vec::with_capacity(blocks * max_frames),
                right: Vec::with_capacity(blocks * max_frames),
                process_times: Vec::with_capacity(blocks),
                ..Rendered::default()
            };
            for index in 0..blocks {
                let elapsed = job.process_block(index, |block| plan(index, block))?;
                let frames = job.block.frames as usize;
                rendered.process_time += elapsed;
                rendered.max_process_time = rendered.max_process_time.max(elapsed);
                rendered.process_times.push(elapsed);
                rendered.output_events += job.out_events.len() as usize;
                let block_start = rendered.left.len();
                rendered.notes.extend(
                    job.out_events
                        .iter()
                        .filter_map(|event| OutNote::from_event(event, block_start)),
                );
                rendered.blocks += 1;
                rendered.left.extend_from_slice(&job.left[..frames]);
                rendered.right.extend_from_slice(&job.right[..frames]);
            }
            Ok(rendered)
        })?;
        Ok(rendered)
    }
}

impl Drop for ClapInstance {
    fn drop(&mut self) {
        // Deactivate the CLAP way before the instance is destroyed; clack would otherwise stop
        // processing from the main thread.
        let _ = self.deactivate();
    }
}

/// Runs `body` on one audio thread that may process blocks of any of `instances` (all active),
/// in whatever order and at whatever pace `body` chooses, as a DAW's audio engine runs every
/// track's plugin in turn within each device period. Meanwhile this thread answers every
/// instance's `request_callback`s, as a DAW's UI thread does. Each instance's steady time and
/// transport go on from where its previous blocks left them, and are kept for the next.
///
/// # Errors
/// If an instance is not active, the audio thread panicked, or `body` fails.
pub fn on_shared_audio_thread<R, F>(instances: &mut [&mut ClapInstance], body: F) -> Result<R>
where
    R: Send,
    F: FnOnce(&mut SharedAudioThread<'_>) -> Result<R> + Send,
{
    let mut mains = Vec::with_capacity(instances.len());
    let mut clocks = Vec::with_capacity(instances.len());
    let mut jobs = Vec::with_capacity(instances.len());
    for (which, instance) in instances.iter_mut().enumerate() {
        let ClapInstance {
            instance,
            processor,
            config,
            steady_time,
            transport,
            input_channels,
            extensions,
            ..
        } = &mut **instance;
        let config = config.with_context(|| format!("instance {which} is not active"))?;
        let processor = processor
            .as_mut()
            .with_context(|| format!("instance {which} is not active"))?;
        jobs.push(AudioJob::new(
            processor,
            config,
            *steady_time,
            *transport,
            *input_channels,
            extensions.telemetry,
        ));
        clocks.push((steady_time, transport));
        mains.push(instance);
    }
    let mut audio = SharedAudioThread { jobs };
    let result = std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            IS_AUDIO_THREAD.set(true);
            body(&mut audio)
        });
        while !thread.is_finished() {
            for instance in &mut mains {
                if instance
                    .access_shared_handler(|s| s.callback_requested.swap(false, Ordering::AcqRel))
                {
                    instance.call_on_main_thread_callback();
                }
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        thread
            .join()
            .map_err(|_| anyhow!("the audio thread panicked"))
    })?;
    for (job, (steady_time, transport)) in audio.jobs.iter().zip(clocks) {
        *steady_time = job.steady_time;
        *transport = job.transport;
    }
    for instance in &mut mains {
        if instance.access_shared_handler(|s| s.callback_requested.swap(false, Ordering::AcqRel)) {
            instance.call_on_main_thread_callback();
        }
    }
    result
}

/// The audio thread of [`on_shared_audio_thread`]: processes one block of one instance at a
/// time.
pub struct SharedAudioThread<'a> {
    jobs: Vec<AudioJob<'a>>,
}

/// One block as an instance returned it.
pub struct ProcessedBlock<'a> {
    /// Left channel, the block's frames.
    pub left: &'a [f32],
    /// Right channel.
    pub right: &'a [f32],
    /// Wall time of the `process()` call alone.
    pub process_time: Duration,
}

impl<'a> SharedAudioThread<'a> {
    /// How many instances this thread drives.
    pub fn instances(&self) -> usize {
        self.jobs.len()
    }

    /// Processes the next block of instance `which` (its index in the slice given to
    /// [`on_shared_audio_thread`]). `plan` gets a [`Block`] preset as in
    /// [`ClapInstance::process_blocks`]; an instance with a main input port gets a 440 Hz sine
    /// at -12 dBFS on every input channel.
    ///
    /// # Errors
    /// If `which` is out of range, the plan asks for a block size outside the activation's
    /// range, or `process()` returns an error.
    pub fn process(
        &mut self,
        which: usize,
        plan: impl FnOnce(&mut Block),
    ) -> Result<ProcessedBlock<'_>> {
        let job = self.job(which)?;
        let process_time = job.process_block(0, plan)?;
        let frames = job.block.frames as usize;
        Ok(ProcessedBlock {
            left: &job.left[..frames],
            right: &job.right[..frames],
            process_time,
        })
    }

    /// The underruns instance `which` has counted itself since it was created, through
    /// Auralis's telemetry extension. Takes a lock inside the plugin: read between blocks, not
    /// inside a timed part.
    ///
    /// # Errors
    /// If `which` is out of range or the plugin does not count underruns (it is not Auralis).
    pub fn underruns(&mut self, which: usize) -> Result<u64> {
        let job = self.job(which)?;
        telemetry::underruns(job.telemetry, &job.processor.plugin_handle())
    }

    /// Instance `which`'s side of the thread.
    fn job(&mut self, which: usize) -> Result<&mut AudioJob<'a>> {
        let count = self.jobs.len();
        self.jobs
            .get_mut(which)
            .with_context(|| format!("instance {which} of {count}"))
    }
}

/// The audio thread's side of one active instance: its processor, running clocks and buffers.
struct AudioJob<'a> {
    processor: &'a mut PluginAudioProcessor<TestHost>,
    config: PluginAudioConfiguration,
    steady_time: u64,
    transport: Option<HostTransport>,
    /// The main input port's channels, if the plugin has one.
    inputs: Vec<Vec<f32>>,
    left: Vec<f32>,
    right: Vec<f32>,
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    in_events: EventBuffer,
    out_events: EventBuffer,
    block: Block,
    /// The plugin's own counters, if it is Auralis.
    telemetry: Option<PluginTelemetry>,
}

impl<'a> AudioJob<'a> {
    fn new(
        processor: &'a mut PluginAudioProcessor<TestHost>,
        config: PluginAudioConfiguration,
        steady_time: u64,
        transport: Option<HostTransport>,
        input_channels: u32,
        telemetry: Option<PluginTelemetry>,
    ) -> Self {
        let max_frames = config.max_frames_count as usize;
        Self {
            processor,
            config,
            steady_time,
            transport,
            inputs: vec![vec![0.0; max_frames]; input_channels as usize],
            left: vec![0.0; max_frames],
            right: vec![0.0; max_frames],
            input_ports: AudioPorts::with_capacity(input_channels as usize, 1),
            output_ports: AudioPorts::with_capacity(2, 1),
            in_events: EventBuffer::with_capacity(256),
            out_events: EventBuffer::with_capacity(256),
            block: Block::default(),
            telemetry,
        }
    }

    /// Processes one block: `plan` sets it up, the audio lands in `left` and `right` (the first
    /// `block.frames`), the plugin's events in `out_events`. Returns the time of the
    /// `process()` call alone. `index` only labels errors.
    fn process_block(&mut self, index: usize, plan: impl FnOnce(&mut Block)) -> Result<Duration> {
        let max_frames = self.config.max_frames_count;
        let sample_rate = self.config.sample_rate;
        let started = self
            .processor
            .ensure_processing_started()
            .map_err(|err| anyhow!("start_processing: {err}"))?;
        let block = &mut self.block;
        block.frames = max_frames;
        block.events.clear();
        block.transport = self.transport;
        plan(block);
        self.transport = block.transport;
        let frames = block.frames;
        ensure!(
            (1..=max_frames).contains(&frames),
            "block {index}: {frames} frames outside 1..={max_frames}"
        );
        block.events.sort_by_key(InEvent::time);
        self.in_events.clear();
        for event in &block.events {
            ensure!(
                event.time() < frames,
                "block {index}: event at frame {} of {frames}",
                event.time()
            );
            event.push_into(&mut self.in_events);
        }
        self.out_events.clear();
        let step = std::f64::consts::TAU * 440.0 / sample_rate;
        for channel in &mut self.inputs {
            for (i, sample) in channel[..frames as usize].iter_mut().enumerate() {
                *sample = (0.25 * ((self.steady_time + i as u64) as f64 * step).sin()) as f32;
            }
        }
        let inputs =
            self.input_ports
                .with_input_buffers((!self.inputs.is_empty()).then(|| AudioPortBuffer {
                    latency: 0,
                    channels:
                        AudioPortBufferType::f32_input_only(
                            self.inputs.iter_mut().map(|channel| {
                                InputChannel::variable(&mut channel[..frames as usize])
                            }),
                        ),
                }));
        let (l, r) = (
            &mut self.left[..frames as usize],
            &mut self.right[..frames as usize],
        );
        l.fill(f32::NAN);
        r.fill(f32::NAN);
        let mut outputs = self.output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only([l, r].into_iter()),
        }]);
        let transport = self.transport.map(|t| t.event());

        let start = Instant::now();
        let status = started.process(
            &inputs,
            &mut outputs,
            &InputEvents::from_buffer(&self.in_events),
            &mut OutputEvents::from_buffer(&mut self.out_events),
            Some(self.steady_time),
            transport.as_ref(),
        );
        let elapsed = start.elapsed();
        status.map_err(|err| anyhow!("process() of block {index} ({frames} frames): {err}"))?;

        self.steady_time += u64::from(frames);
        if let Some(transport) = self.transport.as_mut() {
            transport.advance(frames, sample_rate);
        }
        Ok(elapsed)
    }
}

/// Runs `f` on a fresh thread marked as the audio thread, and waits for it.
fn on_audio_thread<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                IS_AUDIO_THREAD.set(true);
                f()
            })
            .join()
            .map_err(|_| anyhow!("the audio thread panicked"))
    })
}

/// The host's callbacks, as clack's handler types.
struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = HostMainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostPresetLoad>()
            .register::<HostThreadCheck>();
    }
}

/// Host state any thread may touch: requests from the plugin, as flags the host acts on.
struct HostShared {
    /// The instance's main thread: the one that created it.
    main_thread: ThreadId,
    /// Set by `request_callback`; the main thread then calls `on_main_thread`.
    callback_requested: AtomicBool,
    /// Set by `request_restart`.
    restart_requested: AtomicBool,
}

impl HostShared {
    fn new() -> Self {
        Self {
            main_thread: std::thread::current().id(),
            callback_requested: AtomicBool::new(false),
            restart_requested: AtomicBool::new(false),
        }
    }
}

impl SharedHandler<'_> for HostShared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::Release);
    }

    // This host processes whenever a test asks it to, so a plugin's wish to be woken up or to
    // have its parameters flushed needs no action.
    fn request_process(&self) {}

    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::Release);
    }
}

impl HostParamsImplShared for HostShared {
    fn request_flush(&self) {}
}

impl HostThreadCheckImpl for HostShared {
    fn is_main_thread(&self) -> bool {
        std::thread::current().id() == self.main_thread
    }

    fn is_audio_thread(&self) -> bool {
        IS_AUDIO_THREAD.get()
    }
}

/// Host state of the main thread: what the plugin told it there.
#[derive(Default)]
struct HostMainThread {
    /// `params.rescan` calls.
    rescans: Cell<u32>,
    /// Flags of the last rescan.
    last_rescan: Cell<Option<ParamRescanFlags>>,
    /// `state.mark_dirty` calls.
    dirty_marks: Cell<u32>,
    /// What `preset_load.loaded` reported: the load key, or the file's path.
    presets_loaded: RefCell<Vec<String>>,
    /// What `preset_load.on_error` reported.
    preset_errors: RefCell<Vec<String>>,
}

impl MainThreadHandler<'_> for HostMainThread {}

impl HostParamsImplMainThread for HostMainThread {
    fn rescan(&self, flags: ParamRescanFlags) {
        self.rescans.set(self.rescans.get() + 1);
        self.last_rescan.set(Some(flags));
    }

    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostPresetLoadImpl for HostMainThread {
    fn on_error(
        &self,
        location: Location,
        load_key: Option<&CStr>,
        os_error: i32,
        message: Option<&CStr>,
    ) {
        self.preset_errors.borrow_mut().push(format!(
            "{}: {} (code {os_error})",
            describe_location(location, load_key),
            message.map(|m| m.to_string_lossy()).unwrap_or_default()
        ));
    }

    fn loaded(&self, location: Location, load_key: Option<&CStr>) {
        self.presets_loaded
            .borrow_mut()
            .push(describe_location(location, load_key));
    }
}

/// A preset's location as one string: its load key, or its file's path.
fn describe_location(location: Location, load_key: Option<&CStr>) -> String {
    match (location, load_key) {
        (_, Some(key)) => key.to_string_lossy().into_owned(),
        (Location::File { path }, None) => path.to_string_lossy().into_owned(),
        (Location::Plugin, None) => String::new(),
    }
}

impl HostStateImpl for HostMainThread {
    fn mark_dirty(&self) {
        self.dirty_marks.set(self.dirty_marks.get() + 1);
    }
}
