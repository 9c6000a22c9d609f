//! The engine without a host: a clock thread stands in for the sound card.
//!
//! `serve` has no audio device, so a clock thread plays the host's part: every 10 ms of audio it
//! asks the engine for a block (with the current settings), takes it from the audio ring exactly
//! as a plugin's `process()` does, and copies it into the tap for the web monitor. Blocks are
//! scheduled against absolute deadlines, so the pace does not drift; after a stall longer than
//! the ring (a suspended machine) the clock re-synchronises instead of racing to catch up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use auralis::engine::{EngineConfig, EngineHandle, EngineIo, NowPlayingFeed};
use auralis::params::MusicalSettings;
use auralis::realtime::denormals::DenormalGuard;
use auralis::realtime::{
    AudioOutput, BlockRequest, TapProducer, Telemetry, TransportSnapshot, WaitPolicy, audio_ring,
    request_ring,
};

/// Seconds of audio per clock tick: a common sound-card period.
const TICK_S: f64 = 0.01;
/// How far ahead of the clock the engine renders, in seconds. A server has no latency to keep
/// low (the listeners buffer 200 ms anyway; a parameter change is heard this much later) and
/// shares its machine with other work, so it keeps a deep lead rather than a plugin's 30 ms.
/// A quarter of a second was not enough beside a browser rendering in software on two cores.
const LEAD_S: f64 = 1.0;
/// A clock more than this far behind its schedule re-synchronises rather than catching up.
const MAX_LAG: Duration = Duration::from_millis(250);

/// The musical settings a live engine plays, changed by the REST API.
#[derive(Debug)]
pub struct LiveSettings {
    /// Current values; the clock thread copies them once per tick.
    current: Mutex<MusicalSettings>,
}

impl LiveSettings {
    /// Settings starting at `initial`.
    pub fn new(initial: MusicalSettings) -> Self {
        Self {
            current: Mutex::new(initial),
        }
    }

    /// The current values.
    pub fn get(&self) -> MusicalSettings {
        *self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the values.
    pub fn set(&self, settings: MusicalSettings) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = settings;
    }
}

/// A running engine and its clock.
pub struct LiveEngine {
    /// What is playing, published by the engine.
    pub feed: NowPlayingFeed,
    /// Underruns and frame counts.
    pub telemetry: Arc<Telemetry>,
    /// Tells the clock to stop.
    stop: Arc<AtomicBool>,
    /// The clock thread; it owns the engine handle and stops it when it ends.
    clock: Option<JoinHandle<()>>,
}

impl LiveEngine {
    /// Starts the engine and the clock at `sample_rate`, playing `settings` into `tap`.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn start(
        sample_rate: u32,
        renderer: auralis::synth::RendererChoice,
        settings: Arc<LiveSettings>,
        tap: TapProducer,
    ) -> Result<Self> {
        let tick_frames = (TICK_S * sample_rate as f64).round() as usize;
        let config = EngineConfig {
            lead_frames: (LEAD_S * sample_rate as f64) as usize,
            renderer,
            ..EngineConfig::for_host(sample_rate as f32, WaitPolicy::Realtime, tick_frames)
        };
        let (frames, consumer) = audio_ring(config.ring_frames(tick_frames));
        let (requests, requests_rx) = request_ring();
        let telemetry = Arc::new(Telemetry::default());
        let feed = NowPlayingFeed::default();
        let engine = EngineHandle::spawn(
            config,
            Box::new(settings.get()),
            EngineIo {
                frames,
                requests: requests_rx,
                notes: None,
                feed: Some(feed.clone()),
            },
            telemetry.clone(),
        )
        .context("cannot start the engine thread")?;
        let output = AudioOutput::new(
            consumer,
            telemetry.clone(),
            WaitPolicy::Realtime,
            sample_rate as f32,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let mut clock = Clock {
            engine: Some(engine),
            output,
            requests,
            tap,
            settings,
            stop: stop.clone(),
            tick_frames,
            tick: Duration::from_secs_f64(tick_frames as f64 / sample_rate as f64),
            lead_frames: config.lead_frames,
        };
        let thread = std::thread::Builder::new()
            .name("auralis-clock".into())
            .spawn(move || clock.run())
            .context("cannot start the clock thread")?;
        Ok(Self {
            feed,
            telemetry,
            stop,
            clock: Some(thread),
        })
    }

    /// Stops the clock and the engine and waits for both.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(clock) = self.clock.take() {
            let _ = clock.join();
        }
    }
}

impl Drop for LiveEngine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The clock thread's state: what a host's audio callback holds.
struct Clock {
    engine: Option<EngineHandle>,
    output: AudioOutput,
    requests: auralis::realtime::RequestProducer,
    tap: TapProducer,
    settings: Arc<LiveSettings>,
    stop: Arc<AtomicBool>,
    tick_frames: usize,
    tick: Duration,
    /// The engine's lead, built up before the clock starts.
    lead_frames: usize,
}

impl Clock {
    /// Asks for the first block and lets the engine build its whole lead before the clock
    /// starts: a lead still being built is no protection against a busy machine (this clock
    /// is not a realtime thread and may wait here; a plugin's audio thread never does).
    fn prime(&mut self) {
        self.request_tick();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.output.queued_frames() < self.lead_frames
            && Instant::now() < deadline
            && !self.stop.load(Ordering::Acquire)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Asks the engine for the next tick's frames with the current settings.
    fn request_tick(&mut self) {
        let at_frame = self.output.frames_consumed();
        self.requests.publish(BlockRequest {
            until_frame: at_frame + self.tick_frames as u64,
            settings: self.settings.get(),
            transport: TransportSnapshot::new(false, None, None, at_frame),
            restart: false,
        });
    }

    fn run(&mut self) {
        DenormalGuard::enable_for_thread();
        let mut left = vec![0.0f32; self.tick_frames];
        let mut right = vec![0.0f32; self.tick_frames];
        self.prime();
        let mut next = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            self.request_tick();
            self.output.fill(&mut left, &mut right);
            self.tap.push_block(&left, &right);

            next += self.tick;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else if now - next > MAX_LAG {
                next = now;
            }
        }
        if let Some(engine) = self.engine.take() {
            engine.stop();
        }
    }
}
