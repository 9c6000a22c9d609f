//! The engine thread: renders what the audio thread requests, a fixed lead ahead of it.
//!
//! The engine answers [`BlockRequest`]s in order: for each one it renders until the ring holds
//! everything up to the request's frame plus a lead, with the parameter values and transport the
//! request carries. The lead is what absorbs the engine thread's scheduling jitter in a realtime
//! host (about 30 ms beyond the largest host block); in offline mode it is zero, so a parameter
//! change in a bounce lands exactly at the block where the host made it. Because the frames
//! depend only on the sequence of requests, never on timing, renders are deterministic however
//! fast or unevenly the host calls `process()`.
//!
//! Each engine's work is a non-blocking step, [`EngineLoop::service`]: answer what was requested
//! for as long as the ring has room, then return. Realtime engines are stepped by a small
//! process-wide [`pool`](super::pool) of worker threads, because a host may load dozens of
//! instances and an engine thread of its own per instance, each polling for requests 2,000 times
//! a second, cost more in wake-ups than in rendering: about 30 instances filled two cores that
//! way, their wake-ups preempting the host's audio thread. Offline engines (bounces) keep a
//! thread of their own, which the audio side wakes after every request so a bounce never waits
//! for a poll.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::params::{AuralisParams, MusicalSettings};
use crate::realtime::denormals::DenormalGuard;
use crate::realtime::output::{FADE_S, SPLICE_FADE_S};
use crate::realtime::{
    AudioOutput, BlockRequest, EngineLink, Frame, FrameProducer, MidiInConsumer, NoteOutProducer,
    RequestConsumer, Telemetry, WaitPolicy, audio_ring, midi_in_ring, note_ring, request_ring,
};

use super::config::EngineConfig;
use super::core::{ENGINE_BLOCK_FRAMES, EngineCore};
use super::feed::NowPlayingFeed;
use super::pool::{self, Registration};
use super::revision::Revisions;

/// Sleep between checks for requests. Short, because a faster-than-realtime host may ask for
/// the next block at once; realtime hosts are covered by the lead whatever this is.
pub(super) const IDLE_POLL: Duration = Duration::from_micros(500);

/// Where the engine reads the musical parameters from before the first request arrives.
pub trait SettingsSource: Send + 'static {
    /// The current, validated settings.
    fn settings(&self) -> MusicalSettings;
}

impl SettingsSource for AuralisParams {
    fn settings(&self) -> MusicalSettings {
        AuralisParams::settings(self)
    }
}

impl<S: SettingsSource + Sync + ?Sized> SettingsSource for Arc<S> {
    fn settings(&self) -> MusicalSettings {
        (**self).settings()
    }
}

impl SettingsSource for MusicalSettings {
    fn settings(&self) -> MusicalSettings {
        *self
    }
}

/// Everything an engine thread is started with, apart from its rings, which [`start`] makes.
pub struct EngineSetup {
    /// Rate, wait policy, lead and renderer.
    pub config: EngineConfig,
    /// The settings the engine starts with, before the first request brings its own.
    pub settings: Box<dyn SettingsSource>,
    /// Counters shared by the audio side, the engine and status reporting.
    pub telemetry: Arc<Telemetry>,
    /// Where the engine publishes what is playing, if anyone reads it (the editor, a monitor).
    pub feed: Option<NowPlayingFeed>,
    /// Whether the composed notes go out as MIDI through the link's
    /// [`EngineLink::send_notes`].
    pub midi_out: bool,
}

/// Starts an engine thread and returns it with the audio side's end of its rings, as a pair:
/// the request ring into the engine, the audio ring out of it (behind the underrun-safe
/// [`AudioOutput`]) and, with `midi_out`, the note ring. Allocates every ring for the
/// configuration's largest block and lead, so the audio side never does; call it when the
/// host activates the plugin (or a server or test starts playing).
///
/// # Errors
/// Fails only if the operating system refuses to create a thread.
pub fn start(setup: EngineSetup) -> std::io::Result<(EngineHandle, EngineLink)> {
    start_with(setup, Faults::default())
}

fn start_with(setup: EngineSetup, faults: Faults) -> std::io::Result<(EngineHandle, EngineLink)> {
    let runner = Runner::for_policy(setup.config.policy);
    start_on(setup, faults, runner)
}

/// Which thread runs an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    /// A thread of its own, woken by the audio side after each request: a bounce wants its
    /// engine at once and may afford the syscall.
    Dedicated,
    /// The shared pool of workers, which poll all realtime engines together.
    Pool,
}

impl Runner {
    fn for_policy(policy: WaitPolicy) -> Self {
        match policy {
            WaitPolicy::Offline => Self::Dedicated,
            WaitPolicy::Realtime => Self::Pool,
        }
    }
}

fn start_on(
    setup: EngineSetup,
    faults: Faults,
    runner: Runner,
) -> std::io::Result<(EngineHandle, EngineLink)> {
    let EngineSetup {
        config,
        settings,
        telemetry,
        feed,
        midi_out,
    } = setup;
    let (frames, consumer) = audio_ring(config.ring_frames());
    let (mut requests, requests_rx) = request_ring();
    let (midi_in, midi_in_rx) = midi_in_ring();
    let (notes_tx, notes_rx) = if midi_out {
        let (tx, rx) = note_ring();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let io = EngineIo {
        frames,
        requests: requests_rx,
        notes: notes_tx,
        midi_in: midi_in_rx,
        feed,
    };
    let engine = EngineHandle::spawn(config, settings, io, telemetry.clone(), faults, runner)?;
    if config.policy == WaitPolicy::Offline
        && let Some(thread) = engine.thread()
    {
        requests.wake_after_requests(thread);
    }
    let output = AudioOutput::new(consumer, telemetry, config.policy, config.sample_rate);
    Ok((engine, EngineLink::new(output, requests, notes_rx, midi_in)))
}

/// The engine thread's ends of its rings.
struct EngineIo {
    /// Where rendered frames go.
    frames: FrameProducer,
    /// Where block requests come from.
    requests: RequestConsumer,
    /// Where composed notes go out as MIDI, if anyone listens.
    notes: Option<NoteOutProducer>,
    /// Where the host's notes come in.
    midi_in: MidiInConsumer,
    /// Where the now-playing snapshots go, if anyone reads them.
    feed: Option<NowPlayingFeed>,
}

/// A running engine. Stopping (or dropping) it joins its thread or takes it out of the pool.
pub struct EngineHandle {
    /// Tells the loop to finish; set by `stop`.
    stop: Arc<AtomicBool>,
    /// The engine's own thread, taken when joined.
    thread: Option<JoinHandle<()>>,
    /// The engine's place in the pool, taken when unregistered.
    pooled: Option<Registration>,
}

impl EngineHandle {
    /// Starts the engine that answers `io.requests` into `io.frames`, on `runner`.
    fn spawn(
        config: EngineConfig,
        settings: Box<dyn SettingsSource>,
        io: EngineIo,
        telemetry: Arc<Telemetry>,
        faults: Faults,
        runner: Runner,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        // Marked running before the engine starts, so the audio thread's first blocks already
        // know to wait for it.
        telemetry.set_engine_running(true);
        let start = EngineStart {
            config,
            settings,
            io,
            telemetry: telemetry.clone(),
            stop: stop.clone(),
            faults,
        };
        let mut handle = Self {
            stop,
            thread: None,
            pooled: None,
        };
        let started = match runner {
            Runner::Dedicated => std::thread::Builder::new()
                .name("auralis-engine".into())
                .spawn(move || {
                    DenormalGuard::enable_for_thread();
                    start.build().run();
                })
                .map(|thread| handle.thread = Some(thread)),
            Runner::Pool => pool::register(start).map(|pooled| handle.pooled = Some(pooled)),
        };
        match started {
            Ok(()) => Ok(handle),
            Err(err) => {
                telemetry.set_engine_running(false);
                Err(err)
            }
        }
    }

    /// The engine's own thread, for waking it after requests in offline mode.
    fn thread(&self) -> Option<Thread> {
        self.thread.as_ref().map(|t| t.thread().clone())
    }

    /// Stops the engine and waits for it to finish (within about a millisecond, or the
    /// engine block a worker is rendering): afterwards nothing runs it any more and its core
    /// has been dropped.
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
        if let Some(pooled) = self.pooled.take() {
            pooled.unregister();
        }
    }

    /// Where the pool keeps this engine, if the pool runs it.
    #[cfg(test)]
    fn pool_id(&self) -> Option<u64> {
        self.pooled.as_ref().map(Registration::id)
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// An engine not built yet. Its core is made by the thread that runs it, since GPU set-up
/// must never happen on the host's threads.
pub(super) struct EngineStart {
    config: EngineConfig,
    settings: Box<dyn SettingsSource>,
    io: EngineIo,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
    faults: Faults,
}

impl EngineStart {
    /// Builds the core and the loop around it, on the thread that runs the loop.
    pub(super) fn build(self) -> EngineLoop {
        let Self {
            config,
            settings,
            io,
            telemetry,
            stop,
            faults,
        } = self;
        let mut core = new_core(&config, &settings.settings());
        let sends_midi = io.notes.is_some();
        if let Some(notes) = io.notes {
            core = core.with_midi_out(notes);
        }
        let scope = io.feed.clone();
        if let Some(feed) = io.feed {
            core = core.with_feed(feed);
        }
        // Realtime only: a bounce must not depend on timing. Without MIDI out: notes sent out
        // cannot be taken back.
        let revisions =
            (config.revise_lead && config.policy == WaitPolicy::Realtime && !sends_midi)
                .then(|| Revisions::new(config.sample_rate, splice_fade_frames(&config)));
        EngineLoop {
            revisions,
            core,
            config,
            lead_frames: config.lead_frames as u64,
            producer: io.frames,
            requests: io.requests,
            midi_in: io.midi_in,
            telemetry,
            stop,
            block: vec![[0.0; 2]; ENGINE_BLOCK_FRAMES],
            restart_floor: 0,
            scope,
            pushed: 0,
            last_frame: [0.0; 2],
            panics: Vec::new(),
            silenced: false,
            faults,
            answering: None,
        }
    }

    /// The counters the engine reports to.
    pub(super) fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }
}

fn new_core(config: &EngineConfig, settings: &MusicalSettings) -> EngineCore {
    EngineCore::with_renderer(
        config.sample_rate,
        settings,
        config.renderer,
        config.gpu_timeout(),
    )
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

/// What one [`EngineLoop::service`] call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// It answered requests or rendered frames; more may be ready at once.
    Worked,
    /// Nothing to do until the audio thread sends a request or makes room in the ring.
    Waiting,
    /// The engine has finished: stopped by its handle, or its audio side is gone.
    Stopped,
}

/// One engine between services: its core, its ends of the rings, where it is in answering the
/// requests, and how it recovers from panics.
pub(super) struct EngineLoop {
    /// The saved states and splices of an engine that revises its lead.
    revisions: Option<Revisions>,
    core: EngineCore,
    /// What the engine was started with, to build a fresh core after a panic.
    config: EngineConfig,
    lead_frames: u64,
    producer: FrameProducer,
    requests: RequestConsumer,
    /// The host's notes, handed to the core with the request they came before.
    midi_in: MidiInConsumer,
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
    /// The request being answered and the frame it renders to, kept when the ring filled up
    /// before that frame: the next service goes on with it before popping another.
    answering: Option<(BlockRequest, u64)>,
}

/// A caught panic is recovered from by a fresh engine unless more than [`MAX_PANICS`] happened
/// within this window: a fault that keeps coming back is not worth a restart storm, and
/// silence is the last resort.
const PANIC_WINDOW: Duration = Duration::from_secs(60);
const MAX_PANICS: usize = 3;

impl EngineLoop {
    /// Services the engine on a thread of its own until it stops.
    fn run(&mut self) {
        loop {
            match self.service() {
                Step::Worked => {}
                Step::Waiting => std::thread::park_timeout(IDLE_POLL),
                Step::Stopped => return,
            }
        }
    }

    /// Answers requests, in order, for as long as there are any and the ring has room, and
    /// returns without ever waiting. A request the ring filled up in the middle of is taken up
    /// again by the next call, so however the calls are timed the engine renders the same
    /// frames.
    pub(super) fn service(&mut self) -> Step {
        let pushed_before = self.pushed;
        let mut popped = false;
        loop {
            if self.stopping() {
                self.finish();
                return Step::Stopped;
            }
            let (request, target) = match self.answering {
                Some(answering) => answering,
                None => {
                    let Some(request) = self.requests.pop() else {
                        break;
                    };
                    popped = true;
                    let target = self.take_up(&request);
                    self.answering = Some((request, target));
                    (request, target)
                }
            };
            match catch_unwind(AssertUnwindSafe(|| self.render_until(target, &request))) {
                Ok(true) => self.answering = None,
                Ok(false) => break,
                Err(panic) => self.recover(panic.as_ref(), &request.settings),
            }
        }
        if popped || self.pushed != pushed_before {
            Step::Worked
        } else {
            Step::Waiting
        }
    }

    /// Starts answering a new request. Returns the frame the ring must reach to answer it.
    fn take_up(&mut self, request: &BlockRequest) -> u64 {
        // The block's notes came before its request: the core has them when it renders.
        let core = &mut self.core;
        self.midi_in
            .drain_until(request.until_frame, |event| core.receive_midi(event));
        // A panic anywhere in the engine (composer, voices, renderer, effects) must not
        // end the music for good or take the host down: the ring is faded out, a fresh
        // engine takes over at the same frame, and the request is answered in full.
        let until = match catch_unwind(AssertUnwindSafe(|| self.begin(request))) {
            Ok(until) => until,
            Err(panic) => {
                self.recover(panic.as_ref(), &request.settings);
                // The fresh engine starts the music from the top, which is what a restart
                // asked for; it only needs acknowledging.
                if request.restart {
                    self.acknowledge_restart(request)
                } else {
                    request.until_frame
                }
            }
        };
        // While a splice is pending, its stale frames are in the ring but will not be played.
        let skipped = self
            .revisions
            .as_ref()
            .map_or(0, |revisions| revisions.skipped_ahead(until));
        until + self.lead_frames + skipped
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire) || self.producer.is_abandoned()
    }

    /// Carries out a restart if `request` asks for one. Returns the frame the request asks the
    /// ring to reach (before the lead).
    fn begin(&mut self, request: &BlockRequest) -> u64 {
        if !request.restart {
            self.revise(request);
            return request.until_frame;
        }
        if let Some(revisions) = self.revisions.as_mut() {
            revisions.restart();
        }
        self.faults.strike_restart();
        self.core.restart(&request.settings);
        self.acknowledge_restart(request)
    }

    /// If the request changes the settings and the engine revises its lead, goes back to a
    /// state saved a margin ahead of what is playing and publishes the splice: the frames
    /// rendered from here on replace the stale ones from that state's frame (see
    /// `engine/revision.rs`).
    fn revise(&mut self, request: &BlockRequest) {
        let Some(revisions) = self.revisions.as_mut() else {
            return;
        };
        let playing = playing(self.pushed, &self.producer);
        let Some((from, state)) =
            revisions.take_request(request.until_frame, &request.settings, playing, self.pushed)
        else {
            return;
        };
        let to = self.pushed;
        self.core.rewind(&state, to);
        revisions.spliced(from, to);
        // Published before the replacement is rendered: the audio side waits for it while it
        // still has stale frames to play.
        self.telemetry.publish_splice(from, to);
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
    /// false if the ring filled up first: the audio thread makes room as it plays.
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
            if !self.has_room(ENGINE_BLOCK_FRAMES) {
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
            if let Some(revisions) = self.revisions.as_mut() {
                let playing = playing(self.pushed, &self.producer);
                revisions.after_block(&self.core, self.block.len() as u64, self.pushed, playing);
            }
        }
        true
    }

    /// Whether the ring has room for `frames`. Room is made by the audio thread consuming; the
    /// lead and ring size guarantee it comes unless the host stops calling `process()`.
    fn has_room(&self, frames: usize) -> bool {
        self.producer.free_frames() >= frames
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
        if let Some(revisions) = self.revisions.as_mut() {
            revisions.forget_saved();
        }
        let mut fresh = new_core(&self.config, settings);
        fresh.take_over_from(&mut self.core, self.pushed);
        // The failed engine is dropped here, on this thread, like any other.
        self.core = fresh;
    }

    /// Pushes a short ramp from the newest frame down to silence.
    fn fade_out(&mut self) {
        let frames =
            ((FADE_S * self.config.sample_rate.hz()) as usize).clamp(1, ENGINE_BLOCK_FRAMES);
        // A render that panicked had made sure of room for a whole block, which is still there.
        // A restart that panicked may find the ring full, but then there is nothing to fade:
        // the audio thread skips every frame rendered before a restart.
        if !self.has_room(frames) {
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

    /// Tells the audio side that the engine has stopped.
    pub(super) fn finish(&mut self) {
        self.telemetry.set_engine_running(false);
    }
}

/// The ring frame the audio side plays next, of a ring `pushed` frames have gone into: what it
/// has not taken yet is still queued.
fn playing(pushed: u64, producer: &FrameProducer) -> u64 {
    pushed - producer.queued_frames() as u64
}

/// Frames of the audio side's crossfade at a splice.
fn splice_fade_frames(config: &EngineConfig) -> usize {
    config.sample_rate.frames(f64::from(SPLICE_FADE_S))
}

/// The text a panic was raised with, if it carried one.
pub(super) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

#[cfg(test)]
mod tests;
