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
use auralis::engine::{
    self, EngineConfig, EngineHandle, EngineSetup, NowPlayingFeed, SettingsSource,
};
use auralis::params::MusicalSettings;
use auralis::realtime::denormals::DenormalGuard;
use auralis::realtime::{EngineLink, TapProducer, Telemetry, WaitPolicy};
use auralis::signal::SampleRate;
use auralis::synth::RendererChoice;

/// Seconds of audio per clock tick: a common sound-card period.
const TICK_S: f64 = 0.01;
/// How far ahead of the clock the engine renders, in seconds. A server has no latency to keep
/// low (the listeners buffer 200 ms anyway) and shares its machine with other work, so it keeps
/// a deep lead rather than a plugin's 30 ms. A quarter of a second was not enough beside a
/// browser rendering in software on two cores. A settings change is still heard within tens of
/// milliseconds, not a lead later: the engine revises the part of the lead not yet played.
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

impl SettingsSource for LiveSettings {
    fn settings(&self) -> MusicalSettings {
        self.get()
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
        sample_rate: SampleRate,
        renderer: RendererChoice,
        settings: Arc<LiveSettings>,
        tap: TapProducer,
    ) -> Result<Self> {
        let tick_frames = (TICK_S * f64::from(sample_rate.hz())).round() as usize;
        let config = EngineConfig {
            lead_frames: sample_rate.frames(LEAD_S),
            renderer,
            // Without it, a change through the API would be heard a whole lead later.
            revise_lead: true,
            ..EngineConfig::for_host(sample_rate, WaitPolicy::Realtime, tick_frames)
        };
        let telemetry = Arc::new(Telemetry::default());
        let feed = NowPlayingFeed::default();
        let (engine, link) = engine::start(EngineSetup {
            config,
            settings: Box::new(settings.get()),
            telemetry: telemetry.clone(),
            feed: Some(feed.clone()),
            midi_out: false,
        })
        .context("cannot start the engine thread")?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut clock = Clock {
            engine: Some(engine),
            link,
            tap,
            settings,
            stop: stop.clone(),
            tick_frames,
            tick: Duration::from_secs_f64(tick_frames as f64 / f64::from(sample_rate.hz())),
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
    /// The engine's audio side, played as a sound card's callback would.
    link: EngineLink,
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
        while self.link.queued_frames() < self.lead_frames
            && Instant::now() < deadline
            && !self.stop.load(Ordering::Acquire)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Asks the engine for the next tick's frames with the current settings.
    fn request_tick(&mut self) {
        self.link
            .request(self.tick_frames, self.settings.get(), None, false);
    }

    fn run(&mut self) {
        DenormalGuard::enable_for_thread();
        let mut left = vec![0.0f32; self.tick_frames];
        let mut right = vec![0.0f32; self.tick_frames];
        self.prime();
        let mut next = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            self.request_tick();
            self.link.fill(&mut left, &mut right);
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
