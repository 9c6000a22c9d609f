//! What the project needs from outside Cargo: Debian packages and the Python hosts' venv.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{run, run_in, target_dir, workspace_root};

/// Debian packages the build needs, each with the reason.
const BUILD_PACKAGES: &[(&str, &str)] = &[
    ("pkg-config", "locating system libraries for -sys crates"),
    ("libasound2-dev", "the standalone's ALSA backend"),
    ("libjack-jackd2-dev", "the standalone's JACK backend"),
    ("libx11-dev", "the plugin window (baseview)"),
    ("libx11-xcb-dev", "the plugin window (baseview)"),
    ("libxcb1-dev", "the plugin window (baseview)"),
    ("libxcb-icccm4-dev", "the plugin window (baseview)"),
    ("libxcb-dri2-0-dev", "the plugin window (baseview)"),
    ("libxcursor-dev", "the plugin window (baseview)"),
    ("libgl1-mesa-dev", "the plugin window's OpenGL context"),
    (
        "libopus-dev",
        "Opus streams of the web monitor in `auralis serve`",
    ),
];

/// Debian packages only the tests need.
const TEST_PACKAGES: &[(&str, &str)] = &[
    (
        "chromium",
        "the browser that plays the web monitor in the tests",
    ),
    (
        "mesa-vulkan-drivers",
        "software Vulkan (lavapipe), so the GPU renderer is always tested",
    ),
    ("nodejs", "runs the browser test (Playwright)"),
    (
        "xvfb",
        "a virtual display for the GUI test's window and screenshot",
    ),
    ("npm", "installs the browser test's Playwright"),
    (
        "icecast2",
        "the real Icecast server that `serve --icecast` feeds in the tests",
    ),
    (
        "ffmpeg",
        "ffprobe/ffmpeg: the ordinary player that listens through Icecast in the tests",
    ),
    (
        "prometheus",
        "promtool checks /metrics, and a real Prometheus scrapes `auralis serve`",
    ),
    ("lintian", "checks the Debian package against Debian policy"),
    (
        "systemd",
        "systemd-analyze verifies the service unit and rates its sandbox",
    ),
    (
        "xdotool",
        "the GUI test's keyboard and window size, sent through the X server",
    ),
    (
        "x11-xserver-utils",
        "xrdb, which sets the virtual display's scale factor (Xft.dpi) for the GUI test",
    ),
];

/// Debian packages `cargo xtask package` needs besides the build's.
const PACKAGING_PACKAGES: &[(&str, &str)] = &[
    (
        "dpkg-dev",
        "dpkg-shlibdeps computes the package's Depends from the binaries",
    ),
    ("binutils", "strips the binaries that go into the package"),
    ("gzip", "compresses the changelog and the tarball"),
];

/// Installs every Debian package, the Python venv and the browser test's npm packages.
pub fn install_all() -> Result<()> {
    install_debian_packages(true)?;
    python_venv()?;
    browser_test_packages()?;
    Ok(())
}

/// Installs the missing Debian packages with apt-get (as root), or explains what to install:
/// those the build needs, and with `for_tests` those the tests (which build the package too)
/// need as well.
pub fn install_debian_packages(for_tests: bool) -> Result<()> {
    let extra: &[&[(&str, &str)]] = if for_tests {
        &[TEST_PACKAGES, PACKAGING_PACKAGES]
    } else {
        &[]
    };
    install(
        BUILD_PACKAGES
            .iter()
            .chain(extra.iter().copied().flatten())
            .collect(),
    )
}

/// Installs what `cargo xtask package` needs: the build's packages and the packaging tools.
pub fn install_packaging_packages() -> Result<()> {
    install(BUILD_PACKAGES.iter().chain(PACKAGING_PACKAGES).collect())
}

fn install(wanted: Vec<&(&str, &str)>) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .map(|(name, _)| *name)
        // A Node.js that did not come from Debian is as good.
        .filter(|name| !(is_installed(name) || is_node(name) && has_command(name)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        let reasons: Vec<String> = wanted
            .iter()
            .filter(|(n, _)| missing.contains(n))
            .map(|(n, why)| format!("  {n}: {why}"))
            .collect();
        bail!(
            "these Debian packages are missing and installing them needs root:\n{}\nrun: sudo \
             apt-get install -y {}",
            reasons.join("\n"),
            missing.join(" ")
        );
    }
    run("apt-get", &["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    run_in(
        Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        &format!("apt-get install {}", missing.join(" ")),
    )
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_node(package: &str) -> bool {
    matches!(package, "nodejs" | "npm")
}

fn has_command(name: &str) -> bool {
    let command = if name == "nodejs" { "node" } else { name };
    Command::new(command)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Installs the browser test's npm packages (once per lock file) and returns its directory.
pub fn browser_test_packages() -> Result<PathBuf> {
    let dir = workspace_root().join("tests/browser");
    let lock = std::fs::read_to_string(dir.join("package-lock.json"))
        .context("reading tests/browser/package-lock.json")?;
    let stamp = dir.join("node_modules/.auralis-lock");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(&lock) {
        return Ok(dir);
    }
    run_in(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir),
        "npm ci (tests/browser: playwright-core)",
    )?;
    std::fs::write(&stamp, lock)?;
    Ok(dir)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Creates (once) the venv with the VST3 hosts and returns its Python interpreter.
pub fn python_venv() -> Result<PathBuf> {
    let venv = target_dir().join("venv");
    let python = venv.join("bin").join("python");
    let requirements = workspace_root().join("tests/python/requirements.txt");
    let stamp = venv.join(".requirements");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    let system_python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .context("Python 3 is needed for the VST3 host tests: install python3 and python3-venv")?;
    run(
        system_python,
        &["-m", "venv", venv.to_str().context("venv path")?],
    )?;
    let python_str = python.to_str().context("venv path")?;
    run(
        python_str,
        &["-m", "pip", "install", "-q", "--upgrade", "pip"],
    )?;
    run(
        python_str,
        &[
            "-m",
            "pip",
            "install",
            "-q",
            "-r",
            requirements.to_str().context("path")?,
        ],
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}
