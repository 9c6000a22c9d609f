//! Command-line flags. Bad values are rejected here, at the edge, with the flag named.

use std::path::PathBuf;

use auralis::params::{
    KeyName, MidiLayers, MusicalSettings, SEED_MAX, ScaleName, TEMPO_MAX_BPM, TEMPO_MIN_BPM,
};
use auralis::presets::{self, Preset};
use clap::{Args, Parser, Subcommand};

/// Auralis: endlessly evolving generative ambient music.
#[derive(Debug, Parser)]
#[command(
    name = "auralis",
    version,
    about,
    after_help = "Environment: AURALIS_LOG sets the log level (off, error, warn, info, debug, \
                  trace; default info), NICE_LOG where logs go (stderr or a file path). \
                  AURALIS_MONITOR_PORT switches the web monitor on in `run` at that port."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play through an audio device with the GUI (the default; takes nice-plug's device options,
    /// see `auralis run --help`).
    Run,
    /// Render to a WAV file offline, as fast as the machine allows. The same flags always give
    /// the same file.
    Render(RenderArgs),
    /// Play headless (no sound card, no display) and stream to browsers through the web
    /// monitor until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
}

/// Which renderer plays the voices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RendererChoice {
    /// A real GPU when there is one, else the CPU.
    Auto,
    /// wgpu even on a software adapter.
    Gpu,
    /// The CPU.
    Cpu,
}

impl From<RendererChoice> for auralis::synth::RendererChoice {
    fn from(choice: RendererChoice) -> Self {
        match choice {
            RendererChoice::Auto => Self::Auto,
            RendererChoice::Gpu => Self::Gpu,
            RendererChoice::Cpu => Self::Cpu,
        }
    }
}

impl std::fmt::Display for RendererChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RendererChoice::Auto => "auto",
            RendererChoice::Gpu => "gpu",
            RendererChoice::Cpu => "cpu",
        })
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires --token.
    #[arg(long, env = "AURALIS_BIND", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "AURALIS_PORT", default_value_t = 8040)]
    pub port: u16,
    /// Access token: required by every request when set, and enables the parameter API
    /// (GET/PUT /api/v1/params). 1–256 characters of A–Z a–z 0–9 - _ . ~
    #[arg(long, env = "AURALIS_MONITOR_TOKEN")]
    pub token: Option<String>,
    /// Most browsers listening at once; more are refused (HTTP 503).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_listeners: u32,
    /// Renderer for the voices.
    #[arg(long, env = "AURALIS_RENDERER", value_enum, default_value_t = RendererChoice::Auto)]
    pub renderer: RendererChoice,
    /// Sample rate of the stream in Hz.
    #[arg(long, default_value_t = 48_000, value_parser = parse_sample_rate)]
    pub sample_rate: u32,
    #[command(flatten)]
    pub music: MusicArgs,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Length of the render in seconds (0 < S ≤ 86400).
    #[arg(long, value_parser = parse_seconds, allow_negative_numbers = true)]
    pub seconds: f64,
    /// The WAV file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000, value_parser = parse_sample_rate)]
    pub sample_rate: u32,
    /// Renderer for the voices.
    #[arg(long, env = "AURALIS_RENDERER", value_enum, default_value_t = RendererChoice::Auto)]
    pub renderer: RendererChoice,
    /// Sample format: 32 (float) or 24 (integer).
    #[arg(long, default_value_t = 32, value_parser = parse_bits)]
    pub bits: u16,
    #[command(flatten)]
    pub music: MusicArgs,
}

fn parse_bits(value: &str) -> Result<u16, String> {
    match value.trim() {
        "32" => Ok(32),
        "24" => Ok(24),
        _ => Err(format!(
            "{value:?} is not a supported sample format; use 32 (float) or 24 (integer)"
        )),
    }
}

/// The musical flags, shared by every subcommand that makes sound. A preset sets them all; any
/// flag given as well overrides the preset's value.
#[derive(Debug, Args, Clone, Default)]
pub struct MusicArgs {
    /// Start from a factory preset: Auralis (the default), Dawn, "Deep Field", "Glass Garden",
    /// "Night Drive", Tidal.
    #[arg(long, value_parser = parse_preset)]
    pub preset: Option<&'static Preset>,
    /// Key: C, C#, D, D#, E, F, F#, G, G#, A, A#, B (also Db, Eb, Gb, Ab, Bb). [default: D]
    #[arg(long, value_parser = parse_key)]
    pub key: Option<KeyName>,
    /// Scale: major, minor, dorian, phrygian, lydian, mixolydian, major-pentatonic,
    /// minor-pentatonic. [default: dorian]
    #[arg(long, value_parser = parse_scale)]
    pub scale: Option<ScaleName>,
    /// Tempo in BPM, 30–180. [default: 70]
    #[arg(long, value_parser = parse_bpm, allow_negative_numbers = true)]
    pub bpm: Option<f32>,
    /// How much happens, 0–1. [default: 0.45]
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true)]
    pub intensity: Option<f32>,
    /// Timbre from dark to bright, 0–1. [default: 0.5]
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true)]
    pub brightness: Option<f32>,
    /// Reverb and delay, 0–1. [default: 0.6]
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true)]
    pub space: Option<f32>,
    /// Seed of the composer's choices, 0–65535. [default: 7]
    #[arg(long, value_parser = parse_seed, allow_negative_numbers = true)]
    pub seed: Option<u32>,
}

impl MusicArgs {
    /// The validated settings these flags describe: the preset (or the default patch), with
    /// every given flag applied on top.
    pub fn settings(&self) -> MusicalSettings {
        let base = self
            .preset
            .map_or_else(MusicalSettings::default, |p| p.settings);
        MusicalSettings {
            key: self.key.unwrap_or(base.key),
            scale: self.scale.unwrap_or(base.scale),
            tempo_bpm: self.bpm.unwrap_or(base.tempo_bpm),
            // Without a host there is nothing to follow.
            sync_to_host: false,
            intensity: self.intensity.unwrap_or(base.intensity),
            brightness: self.brightness.unwrap_or(base.brightness),
            space: self.space.unwrap_or(base.space),
            seed: self.seed.unwrap_or(base.seed),
            // Nothing without a host receives MIDI.
            midi_out: MidiLayers::Off,
        }
    }
}

fn parse_preset(value: &str) -> Result<&'static Preset, String> {
    presets::find(value).ok_or_else(|| {
        let names: Vec<&str> = presets::names().collect();
        format!("unknown preset {value:?}; presets: {}", names.join(", "))
    })
}

const KEYS: [&str; 12] = [
    "c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b",
];
const FLATS: [(&str, usize); 5] = [("db", 1), ("eb", 3), ("gb", 6), ("ab", 8), ("bb", 10)];

pub(crate) fn parse_key(value: &str) -> Result<KeyName, String> {
    let lower = value.trim().to_ascii_lowercase();
    let index = KEYS
        .iter()
        .position(|k| *k == lower)
        .or_else(|| FLATS.iter().find(|(n, _)| *n == lower).map(|(_, i)| *i))
        .ok_or_else(|| {
            format!("unknown key {value:?}; valid keys: C C# D D# E F F# G G# A A# B")
        })?;
    Ok(ALL_KEYS[index])
}

const ALL_KEYS: [KeyName; 12] = [
    KeyName::C,
    KeyName::CSharp,
    KeyName::D,
    KeyName::DSharp,
    KeyName::E,
    KeyName::F,
    KeyName::FSharp,
    KeyName::G,
    KeyName::GSharp,
    KeyName::A,
    KeyName::ASharp,
    KeyName::B,
];

pub(crate) fn parse_scale(value: &str) -> Result<ScaleName, String> {
    let normal: String = value
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Ok(match normal.as_str() {
        "major" | "ionian" => ScaleName::Major,
        "minor" | "aeolian" => ScaleName::Minor,
        "dorian" => ScaleName::Dorian,
        "phrygian" => ScaleName::Phrygian,
        "lydian" => ScaleName::Lydian,
        "mixolydian" => ScaleName::Mixolydian,
        "majorpentatonic" => ScaleName::MajorPentatonic,
        "minorpentatonic" => ScaleName::MinorPentatonic,
        _ => {
            return Err(format!(
                "unknown scale {value:?}; valid scales: major, minor, dorian, phrygian, lydian, \
                 mixolydian, major-pentatonic, minor-pentatonic"
            ));
        }
    })
}

fn parse_in_range(value: &str, min: f64, max: f64, what: &str) -> Result<f64, String> {
    let number: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number; {what} must be in {min}–{max}"))?;
    if !(min..=max).contains(&number) {
        return Err(format!(
            "{value} is out of range; {what} must be in {min}–{max}"
        ));
    }
    Ok(number)
}

fn parse_bpm(value: &str) -> Result<f32, String> {
    parse_in_range(
        value,
        TEMPO_MIN_BPM as f64,
        TEMPO_MAX_BPM as f64,
        "the tempo",
    )
    .map(|v| v as f32)
}

fn parse_unit(value: &str) -> Result<f32, String> {
    parse_in_range(value, 0.0, 1.0, "the value").map(|v| v as f32)
}

fn parse_seed(value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|s| *s <= SEED_MAX as u32)
        .ok_or_else(|| {
            format!("{value:?} is not a valid seed; it must be an integer in 0–{SEED_MAX}")
        })
}

fn parse_seconds(value: &str) -> Result<f64, String> {
    let seconds = parse_in_range(value, 0.0, 86_400.0, "the length in seconds")?;
    if seconds <= 0.0 {
        return Err("the length must be more than 0 seconds".into());
    }
    Ok(seconds)
}

fn parse_sample_rate(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(rate @ (44_100 | 48_000 | 88_200 | 96_000)) => Ok(rate),
        _ => Err(format!(
            "{value:?} is not a supported sample rate; use 44100, 48000, 88200 or 96000"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_scales_parse_case_insensitively() {
        assert_eq!(parse_key("f#"), Ok(KeyName::FSharp));
        assert_eq!(parse_key("Bb"), Ok(KeyName::ASharp));
        assert_eq!(
            parse_scale("Minor-Pentatonic"),
            Ok(ScaleName::MinorPentatonic)
        );
        assert_eq!(parse_scale("DORIAN"), Ok(ScaleName::Dorian));
        assert!(parse_key("H").unwrap_err().contains("valid keys"));
        assert!(parse_scale("blues").unwrap_err().contains("valid scales"));
    }

    #[test]
    fn numbers_outside_their_range_are_rejected_with_the_range() {
        assert!(parse_bpm("-5").unwrap_err().contains("30–180"));
        assert!(parse_bpm("NaN").is_err());
        assert!(parse_unit("1.5").is_err());
        assert!(parse_seed("70000").is_err());
        assert!(parse_seconds("0").is_err());
        assert!(parse_sample_rate("22050").is_err());
        assert_eq!(parse_bpm("72.5"), Ok(72.5));
    }

    #[test]
    fn a_preset_sets_everything_and_flags_override_it() {
        let cli = Cli::try_parse_from([
            "auralis",
            "render",
            "--seconds",
            "1",
            "--out",
            "x.wav",
            "--preset",
            "deep field",
            "--bpm",
            "60",
        ])
        .expect("valid flags");
        let Command::Render(args) = cli.command else {
            panic!("render");
        };
        let settings = args.music.settings();
        let deep_field = presets::find("Deep Field").expect("preset").settings;
        assert_eq!(settings.key, deep_field.key);
        assert_eq!(settings.space, deep_field.space);
        assert_eq!(settings.tempo_bpm, 60.0);
        let error = Cli::try_parse_from([
            "auralis",
            "render",
            "--seconds",
            "1",
            "--out",
            "x.wav",
            "--preset",
            "polka",
        ])
        .expect_err("unknown preset");
        assert!(error.to_string().contains("Night Drive"), "{error}");
    }

    /// Property-based fuzzing of the command line: any mix of real and made-up flags and
    /// values parses into valid settings or fails with clap's error, never a panic.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn flag() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => prop::sample::select(vec![
                    "--seconds", "--out", "--sample-rate", "--renderer", "--bits", "--preset",
                    "--key", "--scale", "--bpm", "--intensity", "--brightness", "--space",
                    "--seed", "--bind", "--port", "--token", "--max-listeners",
                ])
                .prop_map(str::to_string),
                1 => "-{0,2}.{0,10}",
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "cpu",
                    "gpu",
                    "deep field",
                    "0",
                    "-1",
                    "1",
                    "24",
                    "32",
                    "44100",
                    "96000",
                    "1e9",
                    "NaN",
                    "inf",
                    "-0",
                    "65535",
                    "65536",
                    "0.5",
                    "C#",
                    "lydian",
                    "::1",
                    "0.0.0.0",
                    "x.wav",
                    "",
                ])
                .prop_map(str::to_string),
                ".{0,12}",
                any::<f64>().prop_map(|v| v.to_string()),
                any::<i64>().prop_map(|v| v.to_string()),
            ]
        }

        /// A subcommand, usually with what it requires, then flags with values in any order.
        fn command_line() -> impl Strategy<Value = Vec<String>> {
            (
                prop_oneof![
                    Just("render".to_string()),
                    Just("serve".to_string()),
                    Just("run".to_string()),
                    ".{0,8}"
                ],
                any::<bool>(),
                prop::collection::vec((flag(), value()), 0..6),
            )
                .prop_map(|(command, required, flags)| {
                    let mut argv = vec!["auralis".to_string(), command];
                    if required {
                        argv.extend(["--seconds", "1", "--out", "x.wav"].map(String::from));
                    }
                    for (flag, value) in flags {
                        argv.push(flag);
                        argv.push(value);
                    }
                    argv
                })
        }

        fn assert_valid(music: &MusicArgs) {
            crate::api::assert_in_range(&music.settings());
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_command_line_parses_into_valid_settings_or_an_error(argv in command_line()) {
                match Cli::try_parse_from(&argv) {
                    Ok(Cli { command: Command::Render(args) }) => {
                        assert!(args.seconds > 0.0 && args.seconds <= 86_400.0);
                        assert!([44_100, 48_000, 88_200, 96_000].contains(&args.sample_rate));
                        assert!([24, 32].contains(&args.bits));
                        assert_valid(&args.music);
                    }
                    Ok(Cli { command: Command::Serve(args) }) => {
                        assert!((1..=10_000).contains(&args.max_listeners));
                        assert!([44_100, 48_000, 88_200, 96_000].contains(&args.sample_rate));
                        assert_valid(&args.music);
                    }
                    Ok(Cli { command: Command::Run }) => {}
                    Err(error) => {
                        assert!(!error.to_string().is_empty());
                    }
                }
            }
        }
    }
}
