//! Command-line flags. Bad values are rejected here, at the edge, with the flag named.

use std::path::PathBuf;

use auralis::params::{
    KeyName, MusicalSettings, SEED_DEFAULT, SEED_MAX, ScaleName, TEMPO_DEFAULT_BPM, TEMPO_MAX_BPM,
    TEMPO_MIN_BPM,
};
use clap::{Args, Parser, Subcommand};

/// Auralis: endlessly evolving generative ambient music.
#[derive(Debug, Parser)]
#[command(name = "auralis", version, about)]
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
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Length of the render in seconds (0 < S ≤ 86400).
    #[arg(long, value_parser = parse_seconds)]
    pub seconds: f64,
    /// The WAV file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000, value_parser = parse_sample_rate)]
    pub sample_rate: u32,
    #[command(flatten)]
    pub music: MusicArgs,
}

/// The musical flags, shared by every subcommand that makes sound.
#[derive(Debug, Args)]
pub struct MusicArgs {
    /// Key: C, C#, D, D#, E, F, F#, G, G#, A, A#, B (also Db, Eb, Gb, Ab, Bb).
    #[arg(long, default_value = "D", value_parser = parse_key)]
    pub key: KeyName,
    /// Scale: major, minor, dorian, phrygian, lydian, mixolydian, major-pentatonic,
    /// minor-pentatonic.
    #[arg(long, default_value = "dorian", value_parser = parse_scale)]
    pub scale: ScaleName,
    /// Tempo in BPM (30–180).
    #[arg(long, default_value_t = TEMPO_DEFAULT_BPM, value_parser = parse_bpm)]
    pub bpm: f32,
    /// How much happens, 0–1.
    #[arg(long, default_value_t = 0.45, value_parser = parse_unit)]
    pub intensity: f32,
    /// Timbre from dark to bright, 0–1.
    #[arg(long, default_value_t = 0.5, value_parser = parse_unit)]
    pub brightness: f32,
    /// Reverb and delay, 0–1.
    #[arg(long, default_value_t = 0.6, value_parser = parse_unit)]
    pub space: f32,
    /// Seed of the composer's choices (0–65535).
    #[arg(long, default_value_t = SEED_DEFAULT as u32, value_parser = parse_seed)]
    pub seed: u32,
}

impl MusicArgs {
    /// The validated settings these flags describe.
    pub fn settings(&self) -> MusicalSettings {
        MusicalSettings {
            key: self.key,
            scale: self.scale,
            tempo_bpm: self.bpm,
            sync_to_host: false,
            intensity: self.intensity,
            brightness: self.brightness,
            space: self.space,
            seed: self.seed,
        }
    }
}

const KEYS: [&str; 12] = [
    "c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b",
];
const FLATS: [(&str, usize); 5] = [("db", 1), ("eb", 3), ("gb", 6), ("ab", 8), ("bb", 10)];

fn parse_key(value: &str) -> Result<KeyName, String> {
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

fn parse_scale(value: &str) -> Result<ScaleName, String> {
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
}
