//! Writes the factory presets as `.vstpreset` files into a VST3 bundle:
//! `auralis-vst3-presets target/bundled/Auralis.vst3` fills `Contents/Resources/Presets/`
//! (the VST 3.7 bundle layout). `cargo xtask bundle` runs it after nice-plug's bundler, so the
//! files always come from the same preset table as the plugin, the GUI and the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use auralis::Auralis;
use auralis::presets::{PRESETS, vst3};
use nice_plug::prelude::Vst3Plugin;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(bundle), None) = (args.next(), args.next()) else {
        eprintln!("usage: auralis-vst3-presets BUNDLE.vst3");
        return ExitCode::from(2);
    };
    let bundle = PathBuf::from(bundle);
    if !bundle.is_dir() {
        eprintln!(
            "auralis-vst3-presets: {} is not a VST3 bundle folder",
            bundle.display()
        );
        return ExitCode::FAILURE;
    }
    let dir = bundle.join("Contents").join("Resources").join("Presets");
    // Presets dropped from the table must not linger from an earlier bundle.
    if dir.exists()
        && let Err(err) = std::fs::remove_dir_all(&dir)
    {
        eprintln!("auralis-vst3-presets: clearing {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    if let Err(err) = std::fs::create_dir_all(&dir) {
        eprintln!("auralis-vst3-presets: creating {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    for preset in &PRESETS {
        let path = dir.join(vst3::file_name(preset));
        let bytes = vst3::vstpreset(preset, &Auralis::VST3_CLASS_ID);
        if let Err(err) = std::fs::write(&path, bytes) {
            eprintln!("auralis-vst3-presets: writing {}: {err}", path.display());
            return ExitCode::FAILURE;
        }
    }
    eprintln!("wrote {} presets into {}", PRESETS.len(), dir.display());
    ExitCode::SUCCESS
}
