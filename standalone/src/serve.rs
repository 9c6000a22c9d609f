//! `auralis serve`: the engine paced by a clock, streamed to browsers by the web monitor.
//!
//! Needs no sound card and no display. Prints the page's URL, then plays until Ctrl-C or
//! SIGTERM, and shuts down cleanly (listeners get a close frame, threads are joined) within a
//! second or two.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;

use anyhow::{Context, Result};
use atomic_float::AtomicF32;
use auralis::monitor::{EngineStatus, MonitorConfig, MonitorServer, ParamsControl};
use auralis::params::display_name;
use auralis::realtime::tap_ring_for;

use crate::api::LiveApi;
use crate::cli::ServeArgs;
use crate::live::{LiveEngine, LiveSettings};

/// Runs the server until a termination signal.
pub fn run(args: &ServeArgs) -> Result<()> {
    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("cannot install the Ctrl-C/SIGTERM handler")?;

    let sample_rate = args.sample_rate;
    let settings = Arc::new(LiveSettings::new(args.music.settings()));
    let (tap, tap_rx) = tap_ring_for(sample_rate);
    let engine = LiveEngine::start(sample_rate, args.renderer, settings.clone(), tap)?;
    let status = Arc::new(EngineStatus {
        settings: settings.clone(),
        feed: engine.feed.clone(),
        telemetry: engine.telemetry.clone(),
        sample_rate: Arc::new(AtomicF32::new(sample_rate.hz())),
        renderer: args.renderer.to_string(),
    });
    let config = MonitorConfig {
        bind: SocketAddr::new(args.bind, args.port),
        token: args.token.clone(),
        max_listeners: args.max_listeners as usize,
    };
    let params: Option<Arc<dyn ParamsControl>> = args.token.is_some().then(|| {
        Arc::new(LiveApi {
            settings: settings.clone(),
        }) as Arc<dyn ParamsControl>
    });
    let server = MonitorServer::start(config, tap_rx, sample_rate, status, params)
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

fn is_public(ip: IpAddr) -> bool {
    !ip.is_loopback()
}
