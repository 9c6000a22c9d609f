//! Serves the web monitor with a 440 Hz sine instead of the engine, for trying the page and for
//! the browser test: `cargo run --example serve_sine -- [--bind ADDR] [--token TOKEN]`.
//! Prints the page's URL on the first line of stdout, then runs until killed.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use auralis::monitor::{
    MonitorConfig, MonitorServer, MonitorStatus, ParamError, ParamsControl, StatusSource,
};
use auralis::realtime::{TapProducer, tap_ring};
use auralis::signal::SampleRate;
use serde_json::{Value, json};

const SAMPLE_RATE: u32 = 48_000;
const BLOCK_FRAMES: usize = 480;
const CHORDS: [&str; 4] = ["Dm9", "G13", "Cmaj9", "Am11"];

/// A status that moves through a few chords, four seconds each.
struct CyclingStatus {
    started: Instant,
    tempo_bpm: Mutex<f64>,
}

impl StatusSource for CyclingStatus {
    fn status(&self) -> MonitorStatus {
        let chord = CHORDS[(self.started.elapsed().as_secs() / 4) as usize % CHORDS.len()];
        MonitorStatus {
            key: "D".into(),
            scale: "Dorian".into(),
            tempo_bpm: *self.tempo_bpm.lock().unwrap(),
            intensity: 0.4,
            brightness: 0.6,
            space: 0.7,
            seed: 42,
            chord: chord.into(),
            renderer: "sine".into(),
            underruns: 0,
            sample_rate: SAMPLE_RATE,
            following: String::new(),
        }
    }
}

impl ParamsControl for CyclingStatus {
    fn get(&self) -> Value {
        json!({ "key": "D", "scale": "Dorian", "tempo_bpm": *self.tempo_bpm.lock().unwrap() })
    }

    fn put(&self, changes: &Value) -> Result<Value, ParamError> {
        if let Some(tempo) = changes.get("tempo_bpm") {
            let tempo = tempo
                .as_f64()
                .filter(|t| (20.0..=300.0).contains(t))
                .ok_or_else(|| ParamError::new("tempo_bpm", "must be a number from 20 to 300"))?;
            *self.tempo_bpm.lock().unwrap() = tempo;
        }
        Ok(self.get())
    }
}

/// Pushes a sine into the tap in real time, 10 ms at a time, like an audio callback would.
fn play_sine(mut tap: TapProducer) {
    let start = Instant::now();
    let mut phase = 0.0f64;
    let step = 440.0 / f64::from(SAMPLE_RATE);
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    for block in 1u64.. {
        for (l, r) in left.iter_mut().zip(&mut right) {
            let sample = (0.25 * (phase * std::f64::consts::TAU).sin()) as f32;
            (*l, *r) = (sample, sample);
            phase = (phase + step).fract();
        }
        tap.push_block(&left, &right);
        let due = start + Duration::from_millis(10 * block);
        thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

fn main() {
    let mut config = MonitorConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--bind", Some(bind)) => config.bind = bind.parse().expect("--bind ADDR:PORT"),
            ("--token", Some(token)) => config.token = Some(token),
            _ => panic!("usage: serve_sine [--bind ADDR:PORT] [--token TOKEN]"),
        }
    }
    let (producer, consumer) = tap_ring(SAMPLE_RATE as usize / 2);
    let source = Arc::new(CyclingStatus {
        started: Instant::now(),
        tempo_bpm: Mutex::new(70.0),
    });
    let server = MonitorServer::start(
        config,
        consumer,
        SampleRate::DEFAULT,
        source.clone(),
        Some(source),
    )
    .unwrap_or_else(|error| {
        eprintln!("serve_sine: {error}");
        std::process::exit(1);
    });
    println!("{}", server.url());
    play_sine(producer);
}
