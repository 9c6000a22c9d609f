//! `auralis render`: offline rendering to WAV, and to a MIDI file of the notes played.
//!
//! Drives an [`EngineCore`] directly on this thread, so the result depends only on the flags:
//! the same flags give a byte-identical file. Each file is written next to its destination under
//! a temporary name and renamed into place when complete, so an interrupted render leaves no
//! half-written file behind.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use auralis::engine::{ENGINE_BLOCK_FRAMES, EngineCore};
use auralis::params::{FollowMode, MidiLayers};
use auralis::realtime::denormals::DenormalGuard;
use auralis::realtime::{NoteOutConsumer, note_ring};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::RenderArgs;
use crate::midi_file::MidiRecording;
use crate::midi_input;

/// A WAV file being written, under its temporary name.
type WavWriter = hound::WavWriter<std::io::BufWriter<fs::File>>;

/// Renders `args.seconds` of music to `args.out` as stereo WAV (32-bit float or 24-bit
/// integer) and/or to `args.midi` as a Standard MIDI File.
pub fn run(args: &RenderArgs) -> Result<()> {
    DenormalGuard::enable_for_thread();
    let outputs: Vec<(&str, &PathBuf)> = [("--out", &args.out), ("--midi", &args.midi)]
        .into_iter()
        .filter_map(|(flag, path)| path.as_ref().map(|path| (flag, path)))
        .collect();
    let temps: Vec<PathBuf> = outputs.iter().map(|(_, path)| temp_path(path)).collect();
    let result = write(args, &temps);
    if result.is_err() {
        for temp in &temps {
            let _ = fs::remove_file(temp);
        }
    }
    result?;
    for ((flag, path), temp) in outputs.iter().zip(&temps) {
        fs::rename(temp, path).with_context(|| {
            format!(
                "{flag} {}: could not move the render into place",
                path.display()
            )
        })?;
        eprintln!("auralis: wrote {:.1} s to {}", args.seconds, path.display());
    }
    Ok(())
}

/// Renders into the temporary files: the WAV's first when there is one, then the MIDI file's.
fn write(args: &RenderArgs, temps: &[PathBuf]) -> Result<()> {
    let total_frames = (args.seconds * f64::from(args.sample_rate.hz())).round() as u64;
    let mut temps = temps.iter();
    let mut wav = match &args.out {
        Some(out) => Some(create_wav(
            args,
            out,
            temps.next().context("temporary path")?,
        )?),
        None => None,
    };
    let midi_temp = args.midi.as_ref().and(temps.next());

    let mut settings = args.music.settings();
    if midi_temp.is_some() {
        settings.midi_out = MidiLayers::All;
    }
    let input = match &args.midi_in {
        Some(path) => {
            settings.follow = args.follow.unwrap_or(FollowMode::Chords);
            midi_input::read(path, args.sample_rate)
                .with_context(|| format!("--midi-in {}", path.display()))?
        }
        None => Vec::new(),
    };
    let mut input = input.into_iter().peekable();
    // Offline, a slow GPU only makes the render slower: give it all the time it needs.
    let mut engine = EngineCore::with_renderer(
        args.sample_rate,
        &settings,
        args.renderer,
        std::time::Duration::from_secs(2),
    );
    if let Some(layer) = args.solo_layer {
        engine = engine.with_solo(layer);
    }
    let mut notes = None;
    if midi_temp.is_some() {
        let (producer, consumer) = note_ring();
        engine = engine.with_midi_out(producer);
        let recording = MidiRecording::new(args.sample_rate, settings.tempo_bpm);
        notes = Some((consumer, recording));
    }
    eprintln!("auralis: rendering with {}", engine.renderer_description());
    let mut block = vec![[0.0f32; 2]; ENGINE_BLOCK_FRAMES];
    let mut done = 0u64;
    // Drawn only on a terminal; indicatif hides it when stderr is a pipe or a file.
    let progress = ProgressBar::new(total_frames).with_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}% of {msg}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message(format!("{:.1} s", args.seconds));
    while done < total_frames {
        let frames = (total_frames - done).min(ENGINE_BLOCK_FRAMES as u64) as usize;
        // Handed over block by block, as a host would: the engine's input queue is bounded.
        while let Some(event) = input.next_if(|event| event.frame < done + frames as u64) {
            engine.receive_midi(event);
        }
        engine.render(&settings, None, &mut block[..frames]);
        if let (Some(writer), Some(out)) = (wav.as_mut(), &args.out) {
            // A full disk shows up here, part way through: say where, and why.
            write_block(writer, &block[..frames], args.bits)
                .with_context(|| format!("--out {}: could not write", out.display()))?;
        }
        if let Some((consumer, recording)) = notes.as_mut() {
            collect(consumer, recording);
        }
        done += frames as u64;
        progress.set_position(done);
    }
    progress.finish_and_clear();
    if let (Some(writer), Some(out)) = (wav, &args.out) {
        writer
            .finalize()
            .with_context(|| format!("--out {}: could not finish the file", out.display()))?;
    }
    if let (Some((mut consumer, mut recording)), Some(temp), Some(midi)) =
        (notes, midi_temp, &args.midi)
    {
        engine.end_midi_notes();
        collect(&mut consumer, &mut recording);
        recording
            .save(temp)
            .with_context(|| format!("--midi {}", midi.display()))?;
    }
    Ok(())
}

/// Moves every note the engine has sent into `recording`.
fn collect(consumer: &mut NoteOutConsumer, recording: &mut MidiRecording) {
    consumer.drain_block(0, usize::MAX, |_, note| recording.record(note));
}

/// Opens the WAV file at `temp` for the render's format.
fn create_wav(args: &RenderArgs, out: &Path, temp: &Path) -> Result<WavWriter> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: args.sample_rate.hz_u32(),
        bits_per_sample: args.bits,
        sample_format: if args.bits == 24 {
            hound::SampleFormat::Int
        } else {
            hound::SampleFormat::Float
        },
    };
    hound::WavWriter::create(temp, spec)
        .with_context(|| format!("--out {}: cannot write here", out.display()))
}

fn write_block<W: std::io::Write + std::io::Seek>(
    writer: &mut hound::WavWriter<W>,
    frames: &[[f32; 2]],
    bits: u16,
) -> hound::Result<()> {
    for sample in frames.iter().flatten() {
        if bits == 24 {
            writer.write_sample((sample.clamp(-1.0, 1.0) * 8_388_607.0).round() as i32)?;
        } else {
            writer.write_sample(*sample)?;
        }
    }
    Ok(())
}

fn temp_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "render".into());
    name.push(format!(".partial-{}", std::process::id()));
    out.with_file_name(name)
}
