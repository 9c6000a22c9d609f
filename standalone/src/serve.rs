//! `auralis serve`: the engine paced by a clock, streamed to browsers by the web monitor and,
//! with `--icecast`, pushed to Icecast servers.
//!
//! Needs no sound card and no display. Prints the page's URL, then plays until Ctrl-C or
//! SIGTERM, and shuts down cleanly (listeners get a close frame, threads are joined) within a
//! second or two.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use atomic_float::AtomicF32;
use auralis::monitor::{
    EngineStatus, IcecastConfig, IcecastOnly, IcecastTarget, MonitorConfig, MonitorServer,
    ParamsControl,
};
use auralis::params::display_name;
use auralis::realtime::tap_ring_for;

use crate::api::LiveApi;
use crate::cli::{MusicArgs, ServeArgs};
use crate::live::{LiveEngine, LiveSettings};

/// Overrides the password of every `--icecast` URL.
const ICECAST_PASSWORD_ENV: &str = "AURALIS_ICECAST_PASSWORD";
/// The preset of `serve` when `--preset` is not given (the service's defaults file).
const PRESET_ENV: &str = "AURALIS_PRESET";

/// Runs the server until a termination signal.
pub fn run(args: &ServeArgs) -> Result<()> {
    let icecast = icecast_config(args)?;
    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("cannot install the Ctrl-C/SIGTERM handler")?;

    let sample_rate = args.sample_rate;
    let music = music_with_env_preset(&args.music)?;
    let settings = Arc::new(LiveSettings::new(music.settings()));
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
        icecast,
    };
    let now = settings.get();
    let playing = format!(
        "Auralis is playing {} {} at {:.0} BPM",
        display_name(now.key),
        display_name(now.scale),
        now.tempo_bpm
    );
    if args.no_monitor {
        let targets = config.icecast.targets.clone();
        let outputs = IcecastOnly::start(config, tap_rx, sample_rate, status)
            .context("cannot start the Icecast outputs")?;
        println!("{playing}: to Icecast only (no web monitor)");
        print_targets(&targets);
        let _ = stop_rx.recv();
        eprintln!("stopping");
        outputs.stop();
        engine.stop();
        return Ok(());
    }
    let params: Option<Arc<dyn ParamsControl>> = args.token.is_some().then(|| {
        Arc::new(LiveApi::new(settings.clone(), music.preset.clone())) as Arc<dyn ParamsControl>
    });
    let targets = config.icecast.targets.clone();
    let server = MonitorServer::start(config, tap_rx, sample_rate, status, params)
        .with_context(|| format!("--bind {} --port {}", args.bind, args.port))?;

    println!("{playing}: open {}", server.url());
    print_targets(&targets);
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

/// The Icecast outputs the flags ask for, each URL checked and given the password from
/// [`ICECAST_PASSWORD_ENV`] when that is set. Errors name the flag by position, never the URL,
/// which may hold a password.
fn icecast_config(args: &ServeArgs) -> Result<IcecastConfig> {
    let password = match std::env::var(ICECAST_PASSWORD_ENV) {
        Ok(password) if !password.is_empty() => Some(password),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => bail!("{ICECAST_PASSWORD_ENV} is not UTF-8"),
    };
    let mut targets = Vec::with_capacity(args.icecast.len());
    for (index, url) in args.icecast.iter().enumerate() {
        let target = IcecastTarget::parse(&url.0)
            .with_context(|| format!("--icecast URL number {}", index + 1))?;
        targets.push(match &password {
            Some(password) => target.with_password(password),
            None => target,
        });
    }
    if args.no_monitor && targets.is_empty() {
        bail!("--no-monitor leaves no one to play to: add --icecast URL");
    }
    let config = IcecastConfig {
        targets,
        bitrate_bps: args.icecast_bitrate * 1000,
    };
    config.validate()?;
    Ok(config)
}

/// One line per Icecast output, without its password.
fn print_targets(targets: &[IcecastTarget]) {
    for target in targets {
        println!("pushing to Icecast: {target}");
    }
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
        let preset = crate::cli::parse_preset(&name)
            .map_err(|message| anyhow::anyhow!("{PRESET_ENV}={name:?}: {message}"))?;
        music.preset = Some(preset);
    }
    Ok(music)
}

fn is_public(ip: IpAddr) -> bool {
    !ip.is_loopback()
}
