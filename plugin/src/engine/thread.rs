//! The engine thread: renders what the audio thread requests, a fixed lead ahead of it.
//!
//! The engine answers [`BlockRequest`]s in order: for each one it renders until the ring holds
//! everything up to the request's frame plus a lead, with the parameter values and transport the
//! request carries. The lead is what absorbs the engine thread's scheduling jitter in a realtime
//! host (about 30 ms beyond the largest host block); in offline mode it is zero, so a parameter
//! change in a bounce lands exactly at the block where the host made it. Because the frames
//! depend only on the sequence of requests, never on timing, renders are deterministic however
//! fast or unevenly the host calls `process()`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::params::{MusicalSettings, SharedParams};
use crate::realtime::denormals::DenormalGuard;
use crate::realtime::output::FADE_S;
use crate::realtime::{
    BlockRequest, Frame, FrameProducer, NoteOutProducer, RequestConsumer, Telemetry, WaitPolicy,
};

use super::core::{ENGINE_BLOCK_FRAMES, EngineCore};
use super::feed::NowPlayingFeed;
use crate::synth::RendererChoice;

/// How far beyond the largest host block the engine keeps the ring filled in realtime mode, in
/// seconds: enough to ride out a scheduling hiccup, little enough that parameter changes feel
/// immediate.
pub const REALTIME_AHEAD_S: f32 = 0.03;
/// Sleep between checks for requests. Short, because a faster-than-realtime host may ask for
/// the next block at once; realtime hosts are covered by the lead whatever this is.
const IDLE_POLL: Duration = Duration::from_micros(500);

/// Where the engine reads the musical parameters from before the first request arrives.
pub trait SettingsSource: Send + 'static {
    /// The current, validated settings.
    fn settings(&self) -> MusicalSettings;
}

impl SettingsSource for SharedParams {
    fn settings(&self) -> MusicalSettings {
        self.as_ref().settings()
    }
}

impl SettingsSource for MusicalSettings {
    fn settings(&self) -> MusicalSettings {
        *self
    }
}

/// What an engine thread is started with.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Output sample rate.
    pub sample_rate: f32,
    /// Frames the engine renders beyond the newest request.
    pub lead_frames: usize,
    /// Which renderer plays the voices.
    pub renderer: RendererChoice,
}

impl EngineConfig {
    /// The configuration for a host's buffer set-up: in realtime mode, a lead of
    /// [`REALTIME_AHEAD_S`] beyond the largest block the host may ask for; offline, none.
    pub fn for_host(sample_rate: f32, policy: WaitPolicy, max_block_frames: usize) -> Self {
        let lead_frames = match policy {
            WaitPolicy::Realtime => {
                (REALTIME_AHEAD_S * sample_rate.max(1.0)) as usize + max_block_frames
            }
            WaitPolicy::Offline => 0,
        };
        Self {
            sample_rate,
            lead_frames,
            renderer: RendererChoice::Auto,
        }
    }

    /// The longest the GPU may take for one block before the engine falls back to the CPU:
    /// within the lead, so the audio thread never notices; offline, generous.
    pub fn gpu_timeout(&self) -> Duration {
        if self.lead_frames == 0 {
            return Duration::from_secs(2);
        }
        Duration::from_secs_f64(self.lead_frames as f64 / self.sample_rate.max(1.0) as f64 / 2.0)
    }

    /// Ring capacity that always holds the lead, one more host block of `max_block_frames` and
    /// the part of an engine block beyond them.
    pub fn ring_frames(&self, max_block_frames: usize) -> usize {
        self.lead_frames + max_block_frames.max(ENGINE_BLOCK_FRAMES) + 2 * ENGINE_BLOCK_FRAMES
    }
}

/// The engine's connections to the rest of the plugin.
pub struct EngineIo {
    /// Where rendered frames go.
    pub frames: FrameProducer,
    /// Where block requests come from.
    pub requests: RequestConsumer,
    /// Where composed notes go out as MIDI, if anyone listens.
    pub notes: Option<NoteOutProducer>,
    /// Where the now-playing snapshots go, if anyone reads them.
    pub feed: Option<NowPlayingFeed>,
}

/// A running engine thread. Stopping (or dropping) it joins the thread.
pub struct EngineHandle {
    /// Tells the loop to finish; set by `stop`.
    stop: Arc<AtomicBool>,
    /// The thread, taken when joined.
    thread: Option<JoinHandle<()>>,
}

impl EngineHandle {
    /// Starts an engine thread that answers `io.requests` into `io.frames`.
    ///
    /// # Errors
    /// Fails only if the operating system refuses to create a thread.
    pub fn spawn(
        config: EngineConfig,
        settings: Box<dyn SettingsSource>,
        io: EngineIo,
        telemetry: Arc<Telemetry>,
    ) -> std::io::Result<Self> {
        Self::spawn_with(config, settings, io, telemetry, Faults::default())
    }

    fn spawn_with(
        config: EngineConfig,
        settings: Box<dyn SettingsSource>,
        io: EngineIo,
        telemetry: Arc<Telemetry>,
        faults: Faults,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        // Marked running before the thread starts, so the audio thread's first blocks already
        // know to wait for it.
        telemetry.set_engine_running(true);
        let thread_telemetry = telemetry.clone();
        let spawned = std::thread::Builder::new()
            .name("auralis-engine".into())
            .spawn(move || {
                DenormalGuard::enable_for_thread();
                let mut core = new_core(&config, &settings.settings());
                if let Some(notes) = io.notes {
                    core = core.with_midi_out(notes);
                }
                let scope = io.feed.clone();
                if let Some(feed) = io.feed {
                    core = core.with_feed(feed);
                }
                let mut engine = EngineLoop {
                    core,
                    config,
                    lead_frames: config.lead_frames as u64,
                    producer: io.frames,
                    requests: io.requests,
                    telemetry: thread_telemetry,
                    stop: thread_stop,
                    block: vec![[0.0; 2]; ENGINE_BLOCK_FRAMES],
                    restart_floor: 0,
                    scope,
                    pushed: 0,
                    last_frame: [0.0; 2],
                    panics: Vec::new(),
                    silenced: false,
                    faults,
                };
                engine.run();
            });
        match spawned {
            Ok(thread) => Ok(Self {
                stop,
                thread: Some(thread),
            }),
            Err(err) => {
                telemetry.set_engine_running(false);
                Err(err)
            }
        }
    }

    /// The engine thread, for waking it after requests in offline mode.
    pub fn thread(&self) -> Option<Thread> {
        self.thread.as_ref().map(|t| t.thread().clone())
    }

    /// Stops the thread and waits for it to finish (within about a millisecond).
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            if thread.join().is_err() {
                nice_plug::nice_error!("the engine thread panicked");
            }
        }
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn new_core(config: &EngineConfig, settings: &MusicalSettings) -> EngineCore {
    EngineCore::new(config.sample_rate, settings)
        .with_renderer(config.renderer, config.gpu_timeout())
}

/// Faults a test makes the engine loop suffer; none outside tests.
#[derive(Debug, Default, Clone)]
struct Faults {
    /// Panic when about to render the engine block that starts at or after each of these
    /// frames (each once).
    #[cfg(test)]
    panic_at: Vec<u64>,
    /// Sleep this long when about to render the block at or after this frame (once): a
    /// starved engine thread.
    #[cfg(test)]
    stall_at: Option<(u64, Duration)>,
    /// Panic while carrying out the next restart (once).
    #[cfg(test)]
    panic_on_restart: bool,
}

impl Faults {
    #[cfg(test)]
    fn strike(&mut self, frame: u64) {
        if let Some(i) = self.panic_at.iter().position(|&at| frame >= at) {
            self.panic_at.remove(i);
            panic!("injected engine fault at frame {frame}");
        }
        if let Some((at, pause)) = self.stall_at
            && frame >= at
        {
            self.stall_at = None;
            std::thread::sleep(pause);
        }
    }

    #[cfg(test)]
    fn strike_restart(&mut self) {
        if std::mem::take(&mut self.panic_on_restart) {
            panic!("injected engine fault during a restart");
        }
    }

    #[cfg(not(test))]
    fn strike(&mut self, _frame: u64) {}

    #[cfg(not(test))]
    fn strike_restart(&mut self) {}
}

struct EngineLoop {
    core: EngineCore,
    /// What the engine was started with, to build a fresh core after a panic.
    config: EngineConfig,
    lead_frames: u64,
    producer: FrameProducer,
    requests: RequestConsumer,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
    block: Vec<Frame>,
    /// Frame of the newest restart: transports of earlier frames are stale.
    restart_floor: u64,
    /// Where the GUI's spectrum finds the newest output.
    scope: Option<NowPlayingFeed>,
    /// Frames pushed into the ring so far: the engine frame index of the next one. The core
    /// counts the same while it is healthy; this count survives a core that panicked.
    pushed: u64,
    /// The newest frame pushed, from which a panic fades out.
    last_frame: Frame,
    /// When the newest caught panics happened, within [`PANIC_WINDOW`].
    panics: Vec<Instant>,
    /// Set after too many panics: the engine answers with silence until it is restarted.
    silenced: bool,
    faults: Faults,
}

/// A caught panic is recovered from by a fresh engine unless more than [`MAX_PANICS`] happened
/// within this window: a fault that keeps coming back is not worth a restart storm, and
/// silence is the last resort.
const PANIC_WINDOW: Duration = Duration::from_secs(60);
const MAX_PANICS: usize = 3;

impl EngineLoop {
    fn run(&mut self) {
        while !self.stopping() {
            let Some(request) = self.requests.pop() else {
                std::thread::park_timeout(IDLE_POLL);
                continue;
            };
            // A panic anywhere in the engine (composer, voices, renderer, effects) must not
            // end the music for good or take the host down: the ring is faded out, a fresh
            // engine takes over at the same frame, and the request is answered in full.
            let until = match catch_unwind(AssertUnwindSafe(|| self.begin(&request))) {
                Ok(until) => until,
                Err(panic) => {
                    self.recover(panic.as_ref(), &request.settings);
                    // The fresh engine starts the music from the top, which is what a restart
                    // asked for; it only needs acknowledging.
                    if request.restart {
                        self.acknowledge_restart(&request)
                    } else {
                        request.until_frame
                    }
                }
            };
            let target = until + self.lead_frames;
            loop {
                match catch_unwind(AssertUnwindSafe(|| self.render_until(target, &request))) {
                    Ok(true) => break,
                    Ok(false) => {
                        self.finish();
                        return;
                    }
                    Err(panic) => self.recover(panic.as_ref(), &request.settings),
                }
            }
        }
        self.finish();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire) || self.producer.is_abandoned()
    }

    /// Carries out a restart if `request` asks for one. Returns the frame the request asks the
    /// ring to reach (before the lead).
    fn begin(&mut self, request: &BlockRequest) -> u64 {
        if !request.restart {
            return request.until_frame;
        }
        self.faults.strike_restart();
        self.core.restart(&request.settings);
        self.acknowledge_restart(request)
    }

    /// The music starts over at the next frame rendered; the audio thread skips what was
    /// rendered before. Its request counted from the frames it had played, so the same distance
    /// is measured from the restart.
    fn acknowledge_restart(&mut self, request: &BlockRequest) -> u64 {
        let restart_frame = self.pushed;
        self.restart_floor = restart_frame;
        self.telemetry.acknowledge_restart(restart_frame);
        restart_frame
            + request
                .until_frame
                .saturating_sub(request.transport.at_frame)
    }

    /// Renders whole engine blocks until the ring holds every frame before `target`. Returns
    /// false if the engine should stop.
    ///
    /// Blocks always have [`ENGINE_BLOCK_FRAMES`] frames, whatever the host's block sizes, so the
    /// samples never depend on how the host divides time; a request's settings apply from the
    /// next engine block rendered after it.
    fn render_until(&mut self, target: u64, request: &BlockRequest) -> bool {
        // A transport read before the audio thread caught up with a restart refers to stale
        // frames; the timeline would take it for a jump.
        let transport =
            (request.transport.at_frame >= self.restart_floor).then_some(request.transport);
        while self.pushed < target {
            if !self.wait_for_room(ENGINE_BLOCK_FRAMES) {
                return false;
            }
            if self.silenced {
                self.block.fill([0.0; 2]);
            } else {
                self.faults.strike(self.pushed);
                let started = Instant::now();
                self.core
                    .render(&request.settings, transport, &mut self.block);
                let on_gpu = self.core.renderer_kind() == crate::synth::RendererKind::Gpu;
                self.telemetry
                    .record_block_render(started.elapsed(), on_gpu);
            }
            if let Some(scope) = &self.scope {
                scope.publish_scope(&self.block);
            }
            self.push_block();
        }
        true
    }

    /// Waits until the ring has room for `frames`. Room is made by the audio thread consuming;
    /// the lead and ring size guarantee it comes unless the host stops calling `process()`.
    /// Returns false if the engine should stop instead.
    fn wait_for_room(&self, frames: usize) -> bool {
        while self.producer.free_frames() < frames {
            if self.stopping() {
                return false;
            }
            std::thread::park_timeout(IDLE_POLL);
        }
        true
    }

    fn push_block(&mut self) {
        let pushed = self.producer.push_frames(&self.block);
        if pushed > 0 {
            self.last_frame = self.block[pushed - 1];
        }
        self.pushed += pushed as u64;
        self.telemetry.add_frames_rendered(pushed);
    }

    /// After a panic: fades the ring out from the newest frame, so the audio never jumps, and
    /// puts a fresh engine in place of the failed one from the next frame (or silence, if
    /// panics keep coming).
    fn recover(&mut self, panic: &(dyn Any + Send), settings: &MusicalSettings) {
        self.telemetry.count_engine_panic();
        let now = Instant::now();
        self.panics
            .retain(|&at| now.duration_since(at) < PANIC_WINDOW);
        self.panics.push(now);
        let giving_up = self.panics.len() > MAX_PANICS;
        nice_plug::nice_error!(
            "the engine panicked ({}); {}",
            panic_message(panic),
            if giving_up {
                "it keeps failing, so it plays silence until the plugin is restarted"
            } else {
                "a fresh engine takes over"
            }
        );
        self.fade_out();
        if giving_up {
            self.silenced = true;
            return;
        }
        let mut fresh = new_core(&self.config, settings);
        fresh.take_over_from(&mut self.core, self.pushed);
        // The failed engine is dropped here, on this thread, like any other.
        self.core = fresh;
    }

    /// Pushes a short ramp from the newest frame down to silence.
    fn fade_out(&mut self) {
        let frames =
            ((FADE_S * self.config.sample_rate.max(1.0)) as usize).clamp(1, ENGINE_BLOCK_FRAMES);
        if !self.wait_for_room(frames) {
            return;
        }
        let from = self.last_frame;
        for (i, frame) in self.block[..frames].iter_mut().enumerate() {
            let gain = 1.0 - (i + 1) as f32 / frames as f32;
            *frame = [from[0] * gain, from[1] * gain];
        }
        let pushed = self.producer.push_frames(&self.block[..frames]);
        self.pushed += pushed as u64;
        self.telemetry.add_frames_rendered(pushed);
        self.last_frame = [0.0; 2];
    }

    fn finish(&mut self) {
        self.telemetry.set_engine_running(false);
    }
}

/// The text a panic was raised with, if it carried one.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::KeyName;
    use crate::realtime::{
        AudioOutput, FillOutcome, RequestProducer, TransportSnapshot, audio_ring, request_ring,
    };

    const SR: f32 = 48_000.0;
    const BLOCK: usize = 512;

    struct Rig {
        engine: EngineHandle,
        output: AudioOutput,
        requests: RequestProducer,
        telemetry: Arc<Telemetry>,
        /// Restarts this host has asked for.
        restarts: u64,
        /// Whether the host gives the engine time to answer each block (see `block_with`).
        patient: bool,
    }

    impl Rig {
        fn start(policy: WaitPolicy) -> Self {
            Self::start_with(policy, Faults::default())
        }

        fn start_with(policy: WaitPolicy, faults: Faults) -> Self {
            // The CPU renderer: these tests are about the loop, and probing for a GPU (again
            // for every fresh engine after a panic) can take seconds on a busy machine, longer
            // than a bounce waits for a block.
            let config = EngineConfig {
                renderer: RendererChoice::Cpu,
                ..EngineConfig::for_host(SR, policy, BLOCK)
            };
            let (producer, consumer) = audio_ring(config.ring_frames(BLOCK));
            let (mut requests, requests_rx) = request_ring();
            let telemetry = Arc::new(Telemetry::default());
            let io = EngineIo {
                frames: producer,
                requests: requests_rx,
                notes: None,
                feed: None,
            };
            let engine = EngineHandle::spawn_with(
                config,
                Box::new(MusicalSettings::default()),
                io,
                telemetry.clone(),
                faults,
            )
            .expect("spawn");
            if policy == WaitPolicy::Offline {
                requests.wake_after_requests(engine.thread().expect("running"));
            }
            let output = AudioOutput::new(consumer, telemetry.clone(), policy, SR);
            Self {
                engine,
                output,
                requests,
                telemetry,
                restarts: 0,
                patient: true,
            }
        }

        /// One host block: request it with `settings`, then play it.
        fn block(&mut self, settings: MusicalSettings, out: &mut [Frame]) -> FillOutcome {
            self.block_with(settings, out, false)
        }

        /// One host block, after the host's `reset()` if `restart`.
        fn block_with(
            &mut self,
            settings: MusicalSettings,
            out: &mut [Frame],
            restart: bool,
        ) -> FillOutcome {
            let at_frame = self.output.frames_consumed();
            if restart {
                self.output.request_restart();
                self.restarts += 1;
            }
            self.requests.publish(BlockRequest {
                until_frame: at_frame + out.len() as u64,
                settings,
                transport: TransportSnapshot::new(false, None, None, at_frame),
                restart,
            });
            // A realtime host is paced by its sound card, so the engine has a block's time to
            // answer; this test host runs flat out, so it gives the engine that time here, or a
            // loaded test machine would turn scheduling delays into underruns.
            let patience = if self.patient {
                Duration::from_secs(1)
            } else {
                Duration::ZERO
            };
            let deadline = std::time::Instant::now() + patience;
            let ready = || {
                let (restarts, restart_frame) = self.telemetry.restarts();
                if restart {
                    // The ring still holds stale frames: count only those after the restart.
                    restarts >= self.restarts
                        && self.telemetry.frames_rendered() >= restart_frame + out.len() as u64
                } else {
                    self.output.queued_frames() >= out.len()
                }
            };
            while !ready() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(200));
            }
            let mut left = [0.0; BLOCK];
            let mut right = [0.0; BLOCK];
            let outcome = self
                .output
                .fill(&mut left[..out.len()], &mut right[..out.len()]);
            for (i, frame) in out.iter_mut().enumerate() {
                *frame = [left[i], right[i]];
            }
            outcome
        }
    }

    #[test]
    fn offline_engine_delivers_every_block_without_underrun() {
        let mut rig = Rig::start(WaitPolicy::Offline);
        let mut out = [[0.0; 2]; BLOCK];
        let mut energy = 0.0f64;
        for _ in 0..200 {
            let outcome = rig.block(MusicalSettings::default(), &mut out);
            assert_eq!(outcome, FillOutcome::Complete);
            energy += out.iter().map(|f| (f[0] as f64).powi(2)).sum::<f64>();
        }
        assert!(energy > 1.0, "audible: {energy}");
        assert_eq!(rig.telemetry.underruns(), 0);
        rig.engine.stop();
        assert!(!rig.telemetry.engine_running());
    }

    #[test]
    fn realtime_engine_renders_exactly_its_lead_ahead_and_stops_promptly() {
        let mut rig = Rig::start(WaitPolicy::Realtime);
        let lead = EngineConfig::for_host(SR, WaitPolicy::Realtime, BLOCK).lead_frames;
        assert!(lead >= BLOCK + (REALTIME_AHEAD_S * SR) as usize);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            rig.output.queued_frames(),
            0,
            "nothing before the first request"
        );
        let mut out = [[0.0; 2]; BLOCK];
        assert_eq!(
            rig.block(MusicalSettings::default(), &mut out),
            FillOutcome::Complete
        );
        std::thread::sleep(Duration::from_millis(50));
        // Whole engine blocks up to the block asked for plus the lead, minus the block played.
        let rendered = (BLOCK + lead).next_multiple_of(ENGINE_BLOCK_FRAMES);
        assert_eq!(rig.output.queued_frames(), rendered - BLOCK);
        let started = std::time::Instant::now();
        rig.engine.stop();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(!rig.telemetry.engine_running());
    }

    /// The same blocks and parameter changes give the same samples whether the host calls
    /// `process()` back to back or with pauses: timing never leaks into the music.
    fn automated_render(policy: WaitPolicy, pause_every: Option<usize>) -> (Vec<Frame>, u64) {
        let mut rig = Rig::start(policy);
        let mut rendered = Vec::new();
        let mut out = [[0.0; 2]; BLOCK];
        for block in 0..120 {
            let key = if block < 60 { KeyName::D } else { KeyName::G };
            let settings = MusicalSettings {
                key,
                ..MusicalSettings::default()
            };
            if pause_every.is_some_and(|n| block % n == 0) {
                std::thread::sleep(Duration::from_millis(15));
            }
            rig.block(settings, &mut out);
            rendered.extend_from_slice(&out);
        }
        (rendered, rig.telemetry.underruns())
    }

    #[test]
    fn automation_lands_at_the_same_frame_however_the_host_is_timed() {
        for policy in [WaitPolicy::Offline, WaitPolicy::Realtime] {
            let (straight, straight_underruns) = automated_render(policy, None);
            let (paused, paused_underruns) = automated_render(policy, Some(7));
            assert_eq!((straight_underruns, paused_underruns), (0, 0), "{policy:?}");
            assert!(
                straight == paused,
                "{policy:?}: a pause in the host changed the samples"
            );
        }
    }

    /// Plays `blocks` blocks of the default patch, the first one after a restart.
    fn from_the_top(rig: &mut Rig, blocks: usize) -> Vec<Frame> {
        let mut out = [[0.0; 2]; BLOCK];
        let mut rendered = Vec::new();
        for i in 0..blocks {
            rig.block_with(MusicalSettings::default(), &mut out, i == 0);
            rendered.extend_from_slice(&out);
        }
        rendered
    }

    #[test]
    fn a_restart_plays_the_music_from_the_top_without_stale_audio() {
        for policy in [WaitPolicy::Offline, WaitPolicy::Realtime] {
            let mut fresh = Rig::start(policy);
            let expected = from_the_top(&mut fresh, 60);
            let mut used = Rig::start(policy);
            let other = MusicalSettings {
                key: KeyName::G,
                seed: 99,
                ..MusicalSettings::default()
            };
            let mut out = [[0.0; 2]; BLOCK];
            for i in 0..40 {
                used.block_with(other, &mut out, i == 0);
            }
            let restarted = from_the_top(&mut used, 60);
            assert!(
                restarted == expected,
                "{policy:?}: after a restart the music differs from a fresh start"
            );
            assert!(expected.iter().any(|f| f[0] != 0.0), "{policy:?}: audible");
        }
    }

    /// The largest step between neighbouring samples: a click shows as a step far above what
    /// the music's own waveforms make.
    fn largest_step(frames: &[Frame]) -> f32 {
        frames
            .windows(2)
            .map(|pair| {
                (pair[1][0] - pair[0][0])
                    .abs()
                    .max((pair[1][1] - pair[0][1]).abs())
            })
            .fold(0.0, f32::max)
    }

    fn energy(frames: &[Frame]) -> f64 {
        frames
            .iter()
            .map(|f| (f[0] as f64).powi(2) + (f[1] as f64).powi(2))
            .sum()
    }

    /// Plays `seconds` of the default patch, returning every frame.
    fn play(rig: &mut Rig, seconds: f32) -> Vec<Frame> {
        let mut out = [[0.0; 2]; BLOCK];
        let mut rendered = Vec::new();
        for _ in 0..(seconds * SR) as usize / BLOCK {
            if !rig.patient {
                // Paced like a sound card, so a stalled engine is an underrun, not a wait.
                std::thread::sleep(Duration::from_secs_f32(BLOCK as f32 / SR));
            }
            rig.block(MusicalSettings::default(), &mut out);
            rendered.extend_from_slice(&out);
        }
        rendered
    }

    /// The natural step of the default patch in its first seconds, which the faults below
    /// must not exceed by much.
    fn natural_step() -> f32 {
        let mut rig = Rig::start(WaitPolicy::Offline);
        largest_step(&play(&mut rig, 4.0))
    }

    #[test]
    fn a_panicking_engine_fades_out_and_a_fresh_one_plays_on() {
        let natural = natural_step();
        for policy in [WaitPolicy::Offline, WaitPolicy::Realtime] {
            let panic_frame = 2 * SR as u64;
            let faults = Faults {
                panic_at: vec![panic_frame],
                ..Faults::default()
            };
            let mut rig = Rig::start_with(policy, faults);
            let played = play(&mut rig, 5.0);
            assert_eq!(rig.telemetry.engine_panics(), 1, "{policy:?}");
            assert!(
                rig.telemetry.engine_running(),
                "{policy:?}: the engine goes on"
            );
            let step = largest_step(&played);
            assert!(
                step <= natural * 1.5,
                "{policy:?}: a click of {step} at the panic (the music's own steps reach {natural})"
            );
            let panic_at = panic_frame as usize;
            let before = energy(&played[panic_at - SR as usize..panic_at]);
            let after = energy(&played[panic_at + SR as usize..panic_at + 2 * SR as usize]);
            assert!(
                before > 1.0 && after > 1.0,
                "{policy:?}: music before ({before}) and after ({after}) the panic"
            );
            rig.engine.stop();
            assert!(!rig.telemetry.engine_running());
        }
    }

    #[test]
    fn an_engine_that_keeps_panicking_falls_silent_without_a_click() {
        let natural = natural_step();
        let second = SR as u64;
        let faults = Faults {
            panic_at: vec![second / 2, second, 3 * second / 2, 2 * second],
            ..Faults::default()
        };
        let mut rig = Rig::start_with(WaitPolicy::Offline, faults);
        let played = play(&mut rig, 4.0);
        assert_eq!(rig.telemetry.engine_panics(), 4);
        let step = largest_step(&played);
        assert!(
            step <= natural * 1.5,
            "a click of {step} (natural {natural})"
        );
        let silenced_from = 2 * SR as usize + ENGINE_BLOCK_FRAMES;
        assert!(
            played[silenced_from..].iter().all(|f| *f == [0.0; 2]),
            "silence after the fourth panic in a minute"
        );
        assert_eq!(
            rig.telemetry.underruns(),
            0,
            "the silenced engine still answers every block"
        );
        assert!(rig.telemetry.engine_running());
    }

    #[test]
    fn a_panic_during_a_restart_still_plays_the_music_from_the_top() {
        let mut fresh = Rig::start(WaitPolicy::Offline);
        let expected = from_the_top(&mut fresh, 60);
        let faults = Faults {
            panic_on_restart: true,
            ..Faults::default()
        };
        let mut used = Rig::start_with(WaitPolicy::Offline, faults);
        let mut out = [[0.0; 2]; BLOCK];
        for _ in 0..40 {
            used.block(MusicalSettings::default(), &mut out);
        }
        let restarted = from_the_top(&mut used, 60);
        assert_eq!(used.telemetry.engine_panics(), 1);
        assert!(
            restarted == expected,
            "after a panic during a restart the music differs from a fresh start"
        );
    }

    #[test]
    fn a_starved_engine_fades_out_then_the_music_fades_back_in() {
        let natural = natural_step();
        let faults = Faults {
            stall_at: Some((SR as u64, Duration::from_millis(300))),
            ..Faults::default()
        };
        let mut rig = Rig::start_with(WaitPolicy::Realtime, faults);
        rig.patient = false;
        // The first blocks, before the engine has its lead, may come up short on a busy
        // machine: count underruns from when the music is flowing.
        play(&mut rig, 0.5);
        let before = rig.telemetry.underruns();
        let played = play(&mut rig, 3.0);
        let underruns = rig.telemetry.underruns() - before;
        assert!(underruns >= 1, "a 300 ms stall runs the ring dry");
        let step = largest_step(&played);
        assert!(
            step <= natural * 1.5,
            "a click of {step} (natural {natural})"
        );
        let tail = &played[played.len() - SR as usize..];
        assert!(energy(tail) > 1.0, "the music came back");
    }
}
