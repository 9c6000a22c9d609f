//! The engine thread: keeps the audio ring filled ahead of the audio thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::params::{MusicalSettings, SharedParams};
use crate::realtime::denormals::DenormalGuard;
use crate::realtime::{Frame, FrameProducer, Telemetry, TransportConsumer, WaitPolicy};

use super::core::{ENGINE_BLOCK_FRAMES, EngineCore};

/// How far ahead of the audio thread the engine keeps the ring in realtime mode, in seconds:
/// enough to ride out a scheduling hiccup, little enough that parameter changes feel immediate.
pub const REALTIME_AHEAD_S: f32 = 0.03;
/// Sleep between checks when the ring is full enough. Short, because a faster-than-realtime host
/// may drain the ring quickly.
const IDLE_POLL: Duration = Duration::from_micros(500);

/// Where the engine reads the musical parameters from, once per block.
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
    /// Realtime keeps the ring [`REALTIME_AHEAD_S`] ahead; offline keeps it full.
    pub policy: WaitPolicy,
}

/// A running engine thread. Stopping (or dropping) it joins the thread.
pub struct EngineHandle {
    /// Tells the loop to finish; set by `stop`.
    stop: Arc<AtomicBool>,
    /// The thread, taken when joined.
    thread: Option<JoinHandle<()>>,
}

impl EngineHandle {
    /// Starts an engine thread that fills `producer`.
    ///
    /// # Errors
    /// Fails only if the operating system refuses to create a thread.
    pub fn spawn(
        config: EngineConfig,
        settings: Box<dyn SettingsSource>,
        producer: FrameProducer,
        transport: TransportConsumer,
        telemetry: Arc<Telemetry>,
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
                let mut engine = EngineLoop {
                    core: EngineCore::new(config.sample_rate),
                    settings,
                    producer,
                    transport,
                    telemetry: thread_telemetry,
                    stop: thread_stop,
                    block: vec![[0.0; 2]; ENGINE_BLOCK_FRAMES],
                };
                engine.run(config.policy);
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

struct EngineLoop {
    core: EngineCore,
    settings: Box<dyn SettingsSource>,
    producer: FrameProducer,
    transport: TransportConsumer,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
    block: Vec<Frame>,
}

impl EngineLoop {
    fn run(&mut self, policy: WaitPolicy) {
        DenormalGuard::enable_for_thread();
        let capacity = self.producer.capacity_frames();
        let ahead_frames = match policy {
            WaitPolicy::Realtime => (REALTIME_AHEAD_S * self.core.sample_rate()) as usize,
            WaitPolicy::Offline => capacity,
        }
        .clamp(ENGINE_BLOCK_FRAMES, capacity);

        while !self.stop.load(Ordering::Acquire) && !self.producer.is_abandoned() {
            let queued = self.producer.queued_frames();
            if queued + ENGINE_BLOCK_FRAMES <= ahead_frames
                && self.producer.free_frames() >= ENGINE_BLOCK_FRAMES
            {
                let settings = self.settings.settings();
                let transport = self.transport.latest();
                self.core.render(&settings, transport, &mut self.block);
                let pushed = self.producer.push_frames(&self.block);
                self.telemetry.add_frames_rendered(pushed);
            } else {
                std::thread::park_timeout(IDLE_POLL);
            }
        }
        self.telemetry.set_engine_running(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::{AudioOutput, FillOutcome, audio_ring, transport_ring};

    fn start(policy: WaitPolicy) -> (EngineHandle, AudioOutput, Arc<Telemetry>) {
        let (producer, consumer) = audio_ring(12_000);
        let (_transport_tx, transport_rx) = transport_ring();
        let telemetry = Arc::new(Telemetry::default());
        let config = EngineConfig {
            sample_rate: 48_000.0,
            policy,
        };
        let engine = EngineHandle::spawn(
            config,
            Box::new(MusicalSettings::default()),
            producer,
            transport_rx,
            telemetry.clone(),
        )
        .expect("spawn");
        let output = AudioOutput::new(consumer, telemetry.clone(), policy, 48_000.0);
        (engine, output, telemetry)
    }

    #[test]
    fn offline_engine_delivers_every_block_without_underrun() {
        let (engine, mut output, telemetry) = start(WaitPolicy::Offline);
        let mut left = vec![0.0; 512];
        let mut right = vec![0.0; 512];
        let mut energy = 0.0f64;
        for _ in 0..200 {
            assert_eq!(output.fill(&mut left, &mut right), FillOutcome::Complete);
            energy += left.iter().map(|s| (*s as f64).powi(2)).sum::<f64>();
        }
        assert!(energy > 1.0, "audible: {energy}");
        assert_eq!(telemetry.underruns(), 0);
        engine.stop();
        assert!(!telemetry.engine_running());
    }

    #[test]
    fn realtime_engine_stays_ahead_and_stops_promptly() {
        let (engine, output, telemetry) = start(WaitPolicy::Realtime);
        std::thread::sleep(Duration::from_millis(50));
        let ahead = output.queued_frames();
        assert!(
            (1_000..=2_000).contains(&ahead),
            "about 30 ms queued, got {ahead} frames"
        );
        let started = std::time::Instant::now();
        engine.stop();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(!telemetry.engine_running());
    }
}
