//! `auralis`: the engine without a DAW.
//!
//! - `auralis run [nice-plug options]`: the plugin with an audio device (JACK, ALSA or the dummy
//!   backend) and its window.
//! - `auralis render --seconds S --out FILE.wav [--midi FILE.mid] [--midi-in SONG.mid]
//!   [musical flags]`: offline, deterministic, as fast as the machine allows; the notes played
//!   as a MIDI file too, and a song's MIDI played in for Follow.
//! - `auralis serve [--bind] [--port] [--token] [musical flags]`: headless, streamed to browsers.

mod api;
mod cli;
mod live;
mod midi_file;
mod midi_input;
mod render;
mod serve;

use std::process::ExitCode;

use clap::Parser;

/// Ends the process at once with status 0, from the signal handler's thread while the window,
/// audio and engine threads still run. `std::process::exit` runs the C runtime's exit handlers
/// and static destructors (Mesa's among them) while the window's drawing thread may still be
/// using what they tear down; a fresh-clone test run once saw `run` die of SIGSEGV on SIGTERM,
/// which is the likeliest cause.
fn end_now() -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    #[cfg(unix)]
    // SAFETY: `_exit` only ends the process; nothing of ours needs running after it.
    unsafe {
        libc::_exit(0)
    }
    #[cfg(not(unix))]
    std::process::exit(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Err(problem) = auralis::logging::level_from_env() {
        eprintln!("auralis: {problem}");
        return ExitCode::FAILURE;
    }
    // `run` (or no subcommand) hands every remaining flag to nice-plug's own standalone parser.
    if args.len() < 2 || args[1] == "run" {
        // nice-plug's standalone watches its own Ctrl-C flag only when it has no window, so with
        // the window open SIGINT and SIGTERM were ignored and only SIGKILL ended the program.
        // Installed first, this handler is the one that runs (a process has one); the sound
        // device and the engine go with the process.
        if let Err(error) = ctrlc::set_handler(|| {
            eprintln!("auralis: stopping");
            end_now();
        }) {
            eprintln!("auralis: Ctrl-C and SIGTERM will not stop the program: {error}");
        }
        let rest = std::iter::once(args[0].clone()).chain(args.into_iter().skip(2));
        let ok = nice_plug::wrapper::standalone::nice_export_standalone_with_args::<
            auralis::Auralis,
            _,
        >(rest);
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let cli = cli::Cli::parse();
    auralis::logging::init();
    let result = match cli.command {
        cli::Command::Run => unreachable!("handled above"),
        cli::Command::Render(args) => render::run(&args),
        cli::Command::Serve(args) => serve::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("auralis: {err:#}");
            ExitCode::FAILURE
        }
    }
}
