//! `auralis render` and the command line, run as a user runs them: the real binary.

use std::path::PathBuf;
use std::process::Command;

fn auralis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_auralis"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auralis-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn render(out: &PathBuf, extra: &[&str]) -> std::process::Output {
    auralis()
        .args(["render", "--seconds", "3", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("run auralis render")
}

#[test]
fn render_writes_the_exact_length_and_the_same_bytes_every_time() {
    let dir = temp_dir("render");
    let (first, second) = (dir.join("a.wav"), dir.join("b.wav"));
    for out in [&first, &second] {
        let result = render(out, &["--preset", "glass-garden", "--seed", "99"]);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let reader = hound::WavReader::open(&first).expect("a WAV file");
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 48_000));
    assert_eq!(reader.duration(), 3 * 48_000, "frames");
    let samples: Vec<f32> = reader
        .into_samples::<f32>()
        .map(|s| s.expect("sample"))
        .collect();
    let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
    assert!(rms > 0.003, "audible: RMS {rms}");
    assert!(samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
    assert_eq!(
        std::fs::read(&first).expect("read"),
        std::fs::read(&second).expect("read"),
        "two renders with the same flags differ"
    );
    let other = dir.join("c.wav");
    assert!(
        render(&other, &["--preset", "glass-garden", "--seed", "100"])
            .status
            .success()
    );
    assert_ne!(
        std::fs::read(&first).ok(),
        std::fs::read(&other).ok(),
        "another seed, same file"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_flags_fail_with_one_line_naming_the_flag() {
    let dir = temp_dir("flags");
    let out = dir.join("x.wav");
    for (flags, named) in [
        (vec!["--key", "H"], "--key"),
        (vec!["--bpm", "-5"], "--bpm"),
        (vec!["--intensity", "2"], "--intensity"),
        (vec!["--preset", "polka"], "--preset"),
        (vec!["--sample-rate", "1000"], "--sample-rate"),
    ] {
        let result = render(&out, &flags);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{flags:?} was accepted");
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
    }
    let result = auralis()
        .args([
            "render",
            "--seconds",
            "1",
            "--out",
            "/nonexistent-dir/x.wav",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(stderr.contains("--out"), "{stderr}");
    assert!(!out.exists(), "nothing written for refused flags");
    let _ = std::fs::remove_dir_all(dir);
}

/// A render onto a disk that fills part way: a 256 KiB file system, mounted in a mount
/// namespace of the render's own so nothing outlives it (the test command runs as root).
#[test]
fn a_disk_that_fills_during_a_render_is_a_clear_error_and_leaves_no_file() {
    let dir = temp_dir("full");
    let script = "mount -t tmpfs -o size=256k auralis-full \"$1\" || exit 90; \
         \"$2\" render --seconds 20 --renderer cpu --out \"$1/long.wav\"; status=$?; \
         echo \"left behind: $(ls -A \"$1\")\" >&2; exit $status";
    let result = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&dir)
        .arg(env!("CARGO_BIN_EXE_auralis"))
        .output()
        .expect("run unshare (util-linux)");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_ne!(
        result.status.code(),
        Some(90),
        "could not mount a small file system (the test needs root): {stderr}"
    );
    // 20 s of stereo float is 7.7 MB: the disk fills after about half a second of audio.
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("No space left on device") && stderr.contains("long.wav"),
        "the error names the file and the cause: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("left behind: \n") || stderr.trim_end().ends_with("left behind:"),
        "the partial file is removed: {stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_log_level_comes_from_auralis_log() {
    let dir = temp_dir("log");
    let out = dir.join("x.wav");
    let result = auralis()
        .env("AURALIS_LOG", "loud")
        .args(["render", "--seconds", "0.1", "--renderer", "cpu", "--out"])
        .arg(&out)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "a bad level is refused");
    assert!(
        stderr.contains("AURALIS_LOG") && stderr.contains("debug"),
        "{stderr}"
    );
    assert!(!out.exists());

    // At `info` the engine says why `auto` chose the renderer it did; at `error` it does not.
    let said = |level: &str| {
        let result = auralis()
            .env("AURALIS_LOG", level)
            .env_remove("NICE_LOG")
            .args(["render", "--seconds", "0.1", "--renderer", "auto", "--out"])
            .arg(&out)
            .output()
            .expect("run");
        assert!(result.status.success(), "{level}");
        String::from_utf8_lossy(&result.stderr).into_owned()
    };
    let info = said("INFO");
    assert!(info.contains("renderer auto"), "{info}");
    assert!(!said("error").contains("renderer auto"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn render_on_the_gpu_names_its_adapter_and_matches_the_cpu() {
    let dir = temp_dir("gpu");
    let (gpu, cpu) = (dir.join("gpu.wav"), dir.join("cpu.wav"));
    let on_gpu = render(&gpu, &["--renderer", "gpu", "--seed", "5"]);
    let stderr = String::from_utf8_lossy(&on_gpu.stderr);
    assert!(on_gpu.status.success(), "{stderr}");
    assert!(
        stderr.contains("rendering with gpu:"),
        "the GPU renderer did not run (the tests need Vulkan: mesa-vulkan-drivers): {stderr}"
    );
    assert!(
        render(&cpu, &["--renderer", "cpu", "--seed", "5"])
            .status
            .success()
    );
    let read = |path: &PathBuf| -> Vec<f32> {
        hound::WavReader::open(path)
            .expect("WAV")
            .into_samples::<f32>()
            .map(|s| s.expect("sample"))
            .collect()
    };
    let (a, b) = (read(&gpu), read(&cpu));
    assert_eq!(a.len(), b.len());
    let difference = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        difference <= 1e-3,
        "GPU and CPU renders differ by {difference}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn render_writes_24_bit_integer_samples_on_request() {
    let dir = temp_dir("bits");
    let out = dir.join("24.wav");
    let result = render(&out, &["--bits", "24"]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let reader = hound::WavReader::open(&out).expect("a WAV file");
    let spec = reader.spec();
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format),
        (24, hound::SampleFormat::Int)
    );
    assert_eq!(reader.duration(), 3 * 48_000);
    let peak = reader
        .into_samples::<i32>()
        .map(|s| s.expect("sample").abs())
        .max()
        .unwrap_or(0);
    assert!(peak > 10_000, "audible: peak {peak}");
    let refused = render(&dir.join("16.wav"), &["--bits", "16"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--bits"));
    let _ = std::fs::remove_dir_all(dir);
}
