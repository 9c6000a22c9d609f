//! `auralis serve`: the engine paced by a clock, streamed to browsers by the web monitor.
//!
//! Needs no sound card and no display. Prints the page's URL, then plays until Ctrl-C or
//! SIGTERM, and shuts down cleanly (listeners get a close frame, threads are joined) within a
//! second or two.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;

use anyhow::{Context, Result};
use auralis::monitor::{MonitorConfig, MonitorServer, ParamsControl, StatusSource};
use auralis::realtime::tap_ring;

use auralis::params::display_name;
use auralis::presets;

use crate::api::LiveApi;
use crate::cli::{MusicArgs, ServeArgs};
use crate::live::{LiveEngine, LiveSettings};

/// Seconds of audio the tap holds for the monitor: room for its thread to be late.
const TAP_S: usize = 2;
/// The preset of `serve` when `--preset` is not given (the service's defaults file).
const PRESET_ENV: &str = "AURALIS_PRESET";

/// Runs the server until a termination signal.
pub fn run(args: &ServeArgs) -> Result<()> {
    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("cannot install the Ctrl-C/SIGTERM handler")?;

    let sample_rate = args.sample_rate;
    let settings = Arc::new(LiveSettings::new(
        music_with_env_preset(&args.music)?.settings(),
    ));
    let (tap, tap_rx) = tap_ring(TAP_S * sample_rate as usize);
    let engine = LiveEngine::start(sample_rate, args.renderer.into(), settings.clone(), tap)?;
    let api = Arc::new(LiveApi {
        settings: settings.clone(),
        feed: engine.feed.clone(),
        telemetry: engine.telemetry.clone(),
        renderer: args.renderer.to_string(),
        sample_rate,
    });
    let config = MonitorConfig {
        bind: SocketAddr::new(args.bind, args.port),
        token: args.token.clone(),
        max_listeners: args.max_listeners as usize,
    };
    let params: Option<Arc<dyn ParamsControl>> = args
        .token
        .is_some()
        .then(|| api.clone() as Arc<dyn ParamsControl>);
    let server = MonitorServer::start(
        config,
        tap_rx,
        sample_rate,
        api.clone() as Arc<dyn StatusSource>,
        params,
    )
    .with_context(|| format!("--bind {} --port {}", args.bind, args.port))?;

    let now = settings.get();
    println!(
        "Auralis is playing {} {} at {:.0} BPM: open {}",
        display_name(now.key),
        display_name(now.scale),
        now.tempo_bpm,
        server.url()
    );
    if is_public(args.bind) {
        println!("listening on every interface: use this machine's address and the token");
    }
    // Blocks until a signal (or the handler goes away, which cannot happen while we hold it).
    let _ = stop_rx.recv();
    eprintln!("stopping");
    server.stop();
    engine.stop();
    Ok(())
}

/// `music` with the preset `AURALIS_PRESET` names when `--preset` is not given: the service's
/// defaults file sets the environment, not the command line. Only `serve` reads it, so the same
/// `render` flags always give the same file whatever the environment.
///
/// # Errors
/// A preset name that does not exist, with the names that do.
fn music_with_env_preset(music: &MusicArgs) -> Result<MusicArgs> {
    let mut music = music.clone();
    if music.preset.is_none()
        && let Ok(name) = std::env::var(PRESET_ENV)
        && !name.trim().is_empty()
    {
        let preset = presets::find(&name).with_context(|| {
            let names: Vec<&str> = presets::names().collect();
            format!(
                "{PRESET_ENV}={name:?} is not a preset; presets: {}",
                names.join(", ")
            )
        })?;
        music.preset = Some(preset);
    }
    Ok(music)
}

fn is_public(ip: IpAddr) -> bool {
    !ip.is_loopback()
}
