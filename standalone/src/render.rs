//! `auralis render`: offline rendering to WAV.
//!
//! Drives an [`EngineCore`] directly on this thread, so the result depends only on the flags:
//! the same flags give a byte-identical file. The file is written next to its destination under
//! a temporary name and renamed into place when complete, so an interrupted render leaves no
//! half-written file behind.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use auralis::engine::{ENGINE_BLOCK_FRAMES, EngineCore};
use auralis::realtime::denormals::DenormalGuard;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::RenderArgs;

/// Renders `args.seconds` of music to `args.out` as stereo WAV, 32-bit float or 24-bit integer.
pub fn run(args: &RenderArgs) -> Result<()> {
    DenormalGuard::enable_for_thread();
    let total_frames = (args.seconds * f64::from(args.sample_rate.hz())).round() as u64;
    let temp = temp_path(&args.out);
    let result = write(args, &temp, total_frames);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    fs::rename(&temp, &args.out).with_context(|| {
        format!(
            "--out {}: could not move the render into place",
            args.out.display()
        )
    })?;
    eprintln!(
        "auralis: wrote {:.1} s to {}",
        args.seconds,
        args.out.display()
    );
    Ok(())
}

fn write(args: &RenderArgs, temp: &Path, total_frames: u64) -> Result<()> {
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
    let mut writer = hound::WavWriter::create(temp, spec)
        .with_context(|| format!("--out {}: cannot write here", args.out.display()))?;
    let settings = args.music.settings();
    // Offline, a slow GPU only makes the render slower: give it all the time it needs.
    let mut engine = EngineCore::with_renderer(
        args.sample_rate,
        &settings,
        args.renderer,
        std::time::Duration::from_secs(2),
    );
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
        engine.render(&settings, None, &mut block[..frames]);
        // A full disk shows up here, part way through: say where, and why.
        write_block(&mut writer, &block[..frames], args.bits)
            .with_context(|| format!("--out {}: could not write", args.out.display()))?;
        done += frames as u64;
        progress.set_position(done);
    }
    progress.finish_and_clear();
    writer
        .finalize()
        .with_context(|| format!("--out {}: could not finish the file", args.out.display()))?;
    Ok(())
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
        .unwrap_or_else(|| "render.wav".into());
    name.push(format!(".partial-{}", std::process::id()));
    out.with_file_name(name)
}
