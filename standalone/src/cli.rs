//! Command-line flags. Bad values are rejected here, at the edge, with the flag named.

use std::path::PathBuf;

use auralis::engine::SoloLayer;
use auralis::params::{
    BRIGHTNESS, FollowMode, INTENSITY, KeyName, MidiLayers, MusicalSettings, NumberRange, SEED,
    SPACE, ScaleName, TEMPO, default_key_name, default_scale_name, key_names, parse_key,
    parse_scale, scale_names,
};
use auralis::presets::user::UserPresets;
use auralis::presets::{self, NamedMood};
use auralis::signal::SampleRate;
use auralis::synth::RendererChoice;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

/// Auralis: endlessly evolving generative ambient music.
#[derive(Debug, Parser)]
#[command(
    name = "auralis",
    version,
    about,
    after_help = "Environment: AURALIS_LOG sets the log level (off, error, warn, info, debug, \
                  trace; default info), NICE_LOG where logs go (stderr or a file path). \
                  AURALIS_MONITOR_PORT switches the web monitor on in `run` at that port. \
                  AURALIS_ICECAST_PASSWORD gives `serve --icecast` its source password (and \
                  overrides the one in the URL), so it need not appear on a command line."
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

/// The renderer choices as the command line takes them, named by the library.
fn renderer_parser() -> impl TypedValueParser<Value = RendererChoice> {
    PossibleValuesParser::new(RendererChoice::ALL.map(RendererChoice::as_str))
        .map(|name: String| RendererChoice::parse(&name).unwrap_or_default())
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
    /// Renderer for the voices: a real GPU when there is one, else the CPU (auto); wgpu even on
    /// a software adapter (gpu); the CPU (cpu).
    #[arg(long, env = "AURALIS_RENDERER", value_parser = renderer_parser(),
          default_value_t = RendererChoice::Auto)]
    pub renderer: RendererChoice,
    /// Sample rate of the stream in Hz.
    #[arg(long, default_value = "48000", value_parser = parse_sample_rate)]
    pub sample_rate: SampleRate,
    /// Also push the stream to an Icecast server (Ogg/Opus, 48 kHz):
    /// icecast://source:PASSWORD@HOST:PORT/MOUNT (http:// means the same). Repeat it to feed
    /// several servers or mounts. The password may come from AURALIS_ICECAST_PASSWORD instead.
    #[arg(long = "icecast", value_name = "URL", env = "AURALIS_ICECAST", value_delimiter = ' ',
          hide_env_values = true, value_parser = parse_secret_url)]
    pub icecast: Vec<SecretUrl>,
    /// Opus bitrate of the Icecast stream in kbit/s. One encoder serves Icecast and the
    /// browsers, so browsers asking for Opus get this bitrate too while Icecast is on.
    #[arg(long, env = "AURALIS_ICECAST_BITRATE", value_name = "KBPS", default_value_t = 128,
          value_parser = clap::value_parser!(u32).range(16..=510))]
    pub icecast_bitrate: u32,
    /// Run without the web monitor (no port is opened): only the Icecast outputs play.
    #[arg(long, requires = "icecast")]
    pub no_monitor: bool,
    #[command(flatten)]
    pub music: MusicArgs,
}

/// A `--icecast` URL as given, which may hold a password: its `Debug` does not show it.
#[derive(Clone)]
pub struct SecretUrl(pub String);

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretUrl(…)")
    }
}

/// Takes any text: the URL is checked in `serve`, whose errors never echo it (clap's would).
fn parse_secret_url(value: &str) -> Result<SecretUrl, String> {
    Ok(SecretUrl(value.to_owned()))
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("output").required(true).multiple(true).args(["out", "midi"])))]
pub struct RenderArgs {
    /// Length of the render in seconds (0 < S ≤ 86400).
    #[arg(long, value_parser = parse_seconds, allow_negative_numbers = true)]
    pub seconds: f64,
    /// The WAV file to write.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A Standard MIDI File of the notes the render plays (type 1, a track per layer, the
    /// channels of the plugin's MIDI out), alone or beside --out.
    #[arg(long)]
    pub midi: Option<PathBuf>,
    /// A Standard MIDI File played into the render as a host plays a MIDI track into the
    /// plugin (every track and channel): with --follow, the music follows its chords or key.
    #[arg(long, value_name = "FILE")]
    pub midi_in: Option<PathBuf>,
    /// What the music follows of the notes of --midi-in: off, key or chords. [default: chords
    /// with --midi-in, else off]
    #[arg(long, value_parser = parse_follow, requires = "midi_in")]
    pub follow: Option<FollowMode>,
    /// Sample rate in Hz.
    #[arg(long, default_value = "48000", value_parser = parse_sample_rate)]
    pub sample_rate: SampleRate,
    /// Renderer for the voices: a real GPU when there is one, else the CPU (auto); wgpu even on
    /// a software adapter (gpu); the CPU (cpu).
    #[arg(long, env = "AURALIS_RENDERER", value_parser = renderer_parser(),
          default_value_t = RendererChoice::Auto)]
    pub renderer: RendererChoice,
    /// Sample format: 32 (float) or 24 (integer).
    #[arg(long, default_value_t = 32, value_parser = parse_bits)]
    pub bits: u16,
    /// Play one composed layer alone (drone, pad, melody, texture, percussion): for measuring
    /// that layer of the mix, not for listening, so it is left out of the help.
    #[arg(long, hide = true, value_parser = parse_solo_layer)]
    pub solo_layer: Option<SoloLayer>,
    #[command(flatten)]
    pub music: MusicArgs,
}

fn parse_solo_layer(value: &str) -> Result<SoloLayer, String> {
    let wanted = value.trim().to_ascii_lowercase();
    SoloLayer::NAMED
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|&(_, layer)| layer)
        .ok_or_else(|| {
            let names: Vec<&str> = SoloLayer::NAMED.iter().map(|(name, _)| *name).collect();
            format!("unknown layer {value:?}; layers: {}", names.join(", "))
        })
}

fn parse_follow(value: &str) -> Result<FollowMode, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(FollowMode::Off),
        "key" => Ok(FollowMode::Key),
        "chords" => Ok(FollowMode::Chords),
        _ => Err(format!(
            "{value:?} is not a Follow mode; use off, key or chords"
        )),
    }
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
    /// Start from a preset: a factory one or one of the user's own.
    #[arg(long, value_parser = parse_preset, help = preset_help())]
    pub preset: Option<NamedMood>,
    /// The key.
    #[arg(long, value_parser = parse_key, help = format!(
        "Key: {} (also Db, Eb, Gb, Ab, Bb). [default: {}]", key_names(), default_key_name()))]
    pub key: Option<KeyName>,
    /// The scale.
    #[arg(long, value_parser = parse_scale, help = format!(
        "Scale: {}. [default: {}]", scale_names(), default_scale_name()))]
    pub scale: Option<ScaleName>,
    /// The tempo.
    #[arg(long, value_parser = parse_bpm, allow_negative_numbers = true,
          help = range_help("Tempo in BPM", TEMPO))]
    pub bpm: Option<f32>,
    /// How much happens.
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true,
          help = range_help("How much happens", INTENSITY))]
    pub intensity: Option<f32>,
    /// Timbre.
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true,
          help = range_help("Timbre from dark to bright", BRIGHTNESS))]
    pub brightness: Option<f32>,
    /// Reverb and delay.
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true,
          help = range_help("Reverb and delay", SPACE))]
    pub space: Option<f32>,
    /// The seed.
    #[arg(long, value_parser = parse_seed, allow_negative_numbers = true,
          help = range_help("Seed of the composer's choices", SEED))]
    pub seed: Option<u32>,
}

/// A help line with the parameter's range and default, from the library's table.
fn range_help(what: &str, range: NumberRange) -> String {
    format!(
        "{what}, {}–{}. [default: {}]",
        range.min, range.max, range.default
    )
}

/// The presets' help line, naming every factory preset (the user's are looked up when used).
fn preset_help() -> String {
    let names: Vec<String> = presets::names()
        .map(|name| {
            if name.contains(' ') {
                format!("{name:?}")
            } else {
                name.to_owned()
            }
        })
        .collect();
    format!(
        "Start from a preset: {} (the first is the default), or one you saved in the window \
         (Preset → Save as…)",
        names.join(", ")
    )
}

impl MusicArgs {
    /// The validated settings these flags describe: the preset (or the default patch), with
    /// every given flag applied on top.
    pub fn settings(&self) -> MusicalSettings {
        let base = self
            .preset
            .as_ref()
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
            // Only `render --midi-in` plays notes in, and it sets Follow itself.
            follow: FollowMode::Off,
        }
    }
}

/// The preset `value` names, factory or the user's (in the user's preset folder).
pub fn parse_preset(value: &str) -> Result<NamedMood, String> {
    presets::lookup(value, UserPresets::open().ok().as_ref())
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
        f64::from(TEMPO.min),
        f64::from(TEMPO.max),
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
        .filter(|s| SEED.contains(f64::from(*s)))
        .ok_or_else(|| {
            format!(
                "{value:?} is not a valid seed; it must be an integer in {}–{}",
                SEED.min, SEED.max
            )
        })
}

fn parse_seconds(value: &str) -> Result<f64, String> {
    let seconds = parse_in_range(value, 0.0, 86_400.0, "the length in seconds")?;
    if seconds <= 0.0 {
        return Err("the length must be more than 0 seconds".into());
    }
    Ok(seconds)
}

/// The rates the command line offers: those audio interfaces and files commonly use, which the
/// engine supports all of.
const SAMPLE_RATES_HZ: [u32; 4] = [44_100, 48_000, 88_200, 96_000];

fn parse_sample_rate(value: &str) -> Result<SampleRate, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|rate| SAMPLE_RATES_HZ.contains(rate))
        .and_then(|rate| SampleRate::new(rate as f32).ok())
        .ok_or_else(|| {
            format!("{value:?} is not a supported sample rate; use 44100, 48000, 88200 or 96000")
        })
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
                    "--seed", "--bind", "--port", "--token", "--max-listeners", "--icecast",
                    "--icecast-bitrate",
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
                        assert!([44_100, 48_000, 88_200, 96_000].contains(&args.sample_rate.hz_u32()));
                        assert!([24, 32].contains(&args.bits));
                        assert_valid(&args.music);
                    }
                    Ok(Cli { command: Command::Serve(args) }) => {
                        assert!((1..=10_000).contains(&args.max_listeners));
                        assert!((16..=510).contains(&args.icecast_bitrate));
                        assert!([44_100, 48_000, 88_200, 96_000].contains(&args.sample_rate.hz_u32()));
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
