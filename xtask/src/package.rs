//! `cargo xtask package`: the Debian package and a tarball of the same files.
//!
//! Writes `target/dist/auralis_<version>_<arch>.deb` and
//! `target/dist/auralis-<version>-linux-<machine>.tar.gz` from the release `auralis` binary and
//! the release plugin bundles:
//!
//! ```text
//! /usr/bin/auralis
//! /usr/lib/clap/Auralis.clap                   where every CLAP host looks
//! /usr/lib/vst3/Auralis.vst3/                  where every VST3 host looks
//! /lib/systemd/system/auralis.service          from deploy/auralis.service
//! /etc/default/auralis                         from deploy/auralis.default (a conffile)
//! /usr/share/doc/auralis/                      README.md, LICENSE, copyright, changelog.gz
//! ```
//!
//! Built with Debian's own tools rather than cargo-deb: `dpkg-deb` and `dpkg-shlibdeps` come
//! with dpkg-dev in seconds, where cargo-deb would be compiled from source (minutes on two
//! cores) to call the same `dpkg-shlibdeps` for the Depends. The service is installed but not
//! enabled: the package is also how a studio machine gets the plugins, and a music server
//! starting at boot there would be a surprise (`systemctl enable --now auralis` starts it).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::deps;
use crate::process::{cargo, run, run_in, target_dir, workspace_root};

/// The version of every crate in the workspace, and so of the package.
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MAINTAINER: &str = "The Auralis developers <auralis@example.org>";
/// Libraries the program and plugins open at run time (dlopen) rather than link, so
/// `dpkg-shlibdeps` cannot see them: JACK for `auralis run` (the jack crate), X11, XCB and GL
/// for the plugin window and the GUI (baseview and x11-dl), Vulkan for the GPU renderer (wgpu).
/// `serve` and `render` need none of them, hence Recommends rather than Depends.
const RECOMMENDS: &str =
    "libjack-jackd2-0 | libjack0, libx11-6, libx11-xcb1, libxcb1, libgl1, libvulkan1";

/// What `package` wrote.
pub struct Artifacts {
    /// The Debian package.
    pub deb: PathBuf,
    /// The same files for other distributions.
    pub tarball: PathBuf,
}

/// `cargo xtask package`: installs the packaging tools on first use, builds, and packs.
pub fn package(args: &[String]) -> Result<()> {
    if let Some(unknown) = args.first() {
        bail!("`package` takes no arguments (got {unknown:?})");
    }
    let artifacts = build()?;
    eprintln!(
        "\nwrote {}\n      {}",
        artifacts.deb.display(),
        artifacts.tarball.display()
    );
    Ok(())
}

/// Builds the release binary and bundles and packs them; used by `test` as well.
pub fn build() -> Result<Artifacts> {
    deps::install_packaging_packages()?;
    run(
        &cargo(),
        &["build", "--release", "--locked", "-p", "auralis-standalone"],
    )?;
    // Nothing to do when `test` has just made them.
    crate::tasks::bundle_release()?;

    let arch = command_output("dpkg", &["--print-architecture"])?;
    let dist = target_dir().join("dist");
    let stage = dist.join(format!("auralis_{VERSION}_{arch}"));
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("clear {}", stage.display()))?;
    }
    stage_files(&stage)?;
    let elf_files = [
        stage.join("usr/bin/auralis"),
        stage.join("usr/lib/clap/Auralis.clap"),
        vst3_library(&stage)?,
    ];
    let installed_kib = tree_size(&stage)?.div_ceil(1024);
    write_control(
        &stage,
        &arch,
        &shared_library_depends(&elf_files)?,
        installed_kib,
    )?;

    let epoch = source_date_epoch();
    let deb = dist.join(format!("auralis_{VERSION}_{arch}.deb"));
    run_in(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb)
            .env("SOURCE_DATE_EPOCH", &epoch),
        "dpkg-deb --build",
    )?;

    let tarball = dist.join(format!(
        "auralis-{VERSION}-linux-{}.tar.gz",
        std::env::consts::ARCH
    ));
    run_in(
        Command::new("tar")
            .args([
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                &format!("--mtime=@{epoch}"),
                &format!("--transform=s,^,auralis-{VERSION}/,"),
                "-czf",
            ])
            .arg(&tarball)
            .arg("-C")
            .arg(&stage)
            .args(["usr", "lib", "etc"]),
        "tar (the same files for other distributions)",
    )?;
    Ok(Artifacts { deb, tarball })
}

/// Lays out every file of the package under `stage`, with Debian's permissions.
fn stage_files(stage: &Path) -> Result<()> {
    let root = workspace_root();
    let release = target_dir().join("release");
    let bundled = target_dir().join("bundled");

    install_file(
        &release.join("auralis"),
        &stage.join("usr/bin/auralis"),
        0o755,
    )?;
    install_file(
        &bundled.join("Auralis.clap"),
        &stage.join("usr/lib/clap/Auralis.clap"),
        0o644,
    )?;
    copy_tree(
        &bundled.join("Auralis.vst3"),
        &stage.join("usr/lib/vst3/Auralis.vst3"),
    )?;
    // Hosts load them; nothing needs their symbols, and lintian rightly asks for them gone.
    let strip = |path: &Path| {
        run_in(
            Command::new("strip")
                .args(["--strip-unneeded", "--remove-section=.comment"])
                .arg(path),
            &format!("strip {}", path.display()),
        )
    };
    strip(&stage.join("usr/bin/auralis"))?;
    strip(&stage.join("usr/lib/clap/Auralis.clap"))?;
    strip(&vst3_library(stage)?)?;

    install_file(
        &root.join("deploy/auralis.service"),
        &stage.join("lib/systemd/system/auralis.service"),
        0o644,
    )?;
    // It may hold the access token.
    install_file(
        &root.join("deploy/auralis.default"),
        &stage.join("etc/default/auralis"),
        0o600,
    )?;

    let doc = stage.join("usr/share/doc/auralis");
    install_file(&root.join("README.md"), &doc.join("README.md"), 0o644)?;
    install_file(&root.join("LICENSE"), &doc.join("LICENSE"), 0o644)?;
    let license = fs::read_to_string(root.join("LICENSE")).context("read LICENSE")?;
    write_file(&doc.join("copyright"), &copyright(&license), 0o644)?;
    write_file(&doc.join("changelog"), &changelog(), 0o644)?;
    // -n: no name or time in the header, so the same sources give the same package.
    run_in(
        Command::new("gzip")
            .args(["-9nf"])
            .arg(doc.join("changelog")),
        "gzip changelog",
    )?;
    write_file(
        &stage.join("usr/share/lintian/overrides/auralis"),
        LINTIAN_OVERRIDES,
        0o644,
    )?;

    let debian = stage.join("DEBIAN");
    write_file(&debian.join("conffiles"), "/etc/default/auralis\n", 0o644)?;
    write_file(&debian.join("postinst"), POSTINST, 0o755)?;
    write_file(&debian.join("prerm"), PRERM, 0o755)?;
    write_file(&debian.join("postrm"), POSTRM, 0o755)?;
    write_md5sums(stage)?;
    set_directory_modes(stage)
}

/// The shared library inside the VST3 bundle.
fn vst3_library(stage: &Path) -> Result<PathBuf> {
    let dir = stage.join("usr/lib/vst3/Auralis.vst3/Contents");
    let arch_dir = fs::read_dir(&dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.to_string_lossy().ends_with("-linux"))
        .with_context(|| format!("no <arch>-linux folder in {}", dir.display()))?;
    Ok(arch_dir.join("Auralis.so"))
}

/// `Depends:` from the ELF files' shared libraries, as `dpkg-shlibdeps` reads them from the
/// installed packages' shlibs and symbols files.
fn shared_library_depends(elf_files: &[PathBuf]) -> Result<String> {
    // dpkg-shlibdeps insists on running in a source tree: give it a minimal one.
    let tree = target_dir().join("dist/shlibdeps");
    fs::create_dir_all(tree.join("debian"))?;
    fs::write(
        tree.join("debian/control"),
        "Source: auralis\n\nPackage: auralis\nArchitecture: any\n",
    )?;
    let mut command = Command::new("dpkg-shlibdeps");
    command
        .args(["-O", "--warnings=0"])
        .args(elf_files.iter().map(|f| format!("-e{}", f.display())))
        .current_dir(&tree);
    let output = command
        .output()
        .context("could not run dpkg-shlibdeps (Debian package dpkg-dev)")?;
    if !output.status.success() {
        bail!(
            "dpkg-shlibdeps failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let depends = text
        .lines()
        .find_map(|line| line.strip_prefix("shlibs:Depends="))
        .context("dpkg-shlibdeps printed no shlibs:Depends")?;
    Ok(depends.trim().to_owned())
}

fn write_control(stage: &Path, arch: &str, depends: &str, installed_kib: u64) -> Result<()> {
    let control = format!(
        "Package: auralis\n\
         Version: {VERSION}\n\
         Architecture: {arch}\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {installed_kib}\n\
         Depends: {depends}\n\
         Recommends: {RECOMMENDS}\n\
         Section: sound\n\
         Priority: optional\n\
         Description: generative ambient music engine, plugins and server\n \
         Auralis composes endlessly evolving ambient music (chords, melody, sparse\n \
         percussion) in a chosen key and mood and renders it with an additive\n \
         synthesizer, on the GPU when there is one.\n \
         .\n \
         This package contains the CLAP and VST3 instrument plugins, installed where\n \
         every host finds them, and the auralis program: play through a sound card,\n \
         render to WAV, or serve the music to browsers with Prometheus metrics. The\n \
         auralis service runs the server in a sandbox; it is not enabled on install.\n"
    );
    write_file(&stage.join("DEBIAN/control"), &control, 0o644)
}

/// The machine-readable copyright file Debian policy asks for, around the project's license.
fn copyright(license: &str) -> String {
    let notice = license
        .lines()
        .find(|line| line.starts_with("Copyright"))
        .unwrap_or("Copyright (c) The Auralis developers")
        .trim_start_matches("Copyright")
        .trim_start_matches(" (c)")
        .trim();
    // Continuation lines start with a space; an empty line is written " .".
    let body = license
        .lines()
        .skip_while(|line| !line.starts_with("Permission"))
        .map(|line| {
            if line.is_empty() {
                " .".to_owned()
            } else {
                format!(" {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: auralis\n\
         \n\
         Files: *\n\
         Copyright: {notice}\n\
         License: Expat\n\
         \n\
         License: Expat\n\
         {body}\n"
    )
}

/// A native package's changelog: one entry for this version.
fn changelog() -> String {
    let date = command_output(
        "date",
        &["-R", "-u", &format!("-d@{}", source_date_epoch())],
    )
    .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".into());
    format!(
        "auralis ({VERSION}) unstable; urgency=medium\n\n  \
         * Release {VERSION}; the project's history is in its README and repository.\n\n \
         -- {MAINTAINER}  {date}\n"
    )
}

/// Seconds since 1970 of the newest commit (or `SOURCE_DATE_EPOCH` if set), so the same sources
/// give the same package bytes.
fn source_date_epoch() -> String {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .or_else(|| command_output("git", &["log", "-1", "--format=%ct"]).ok())
        .filter(|epoch| !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| "0".into())
}

const LINTIAN_OVERRIDES: &str = "\
# The README points users to it; the copyright file carries the same text.
auralis: extra-license-file [usr/share/doc/auralis/LICENSE]
# It may hold the server's access token.
auralis: non-standard-file-perm 0600 != 0644 [etc/default/auralis]
";

// The maintainer scripts are debhelper's for a unit installed with `--no-enable --no-start`:
// record the unit's state, never enable or start it, stop it on removal, forget it on purge.
const POSTINST: &str = r#"#!/bin/sh
set -e
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper unmask 'auralis.service' >/dev/null || true
		deb-systemd-helper update-state 'auralis.service' >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		# An upgrade restarts a running server on the new binary.
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart 'auralis.service' >/dev/null || true
		fi
	fi
fi
"#;

const PRERM: &str = r#"#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop 'auralis.service' >/dev/null || true
fi
"#;

const POSTRM: &str = r#"#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "purge" ] && command -v deb-systemd-helper >/dev/null; then
	deb-systemd-helper purge 'auralis.service' >/dev/null || true
fi
"#;

fn install_file(from: &Path, to: &Path, mode: u32) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::copy(from, to).with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text).with_context(|| format!("write {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Copies a bundle directory; its files are data (0644) for the host to load.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let path = entry?.path();
        let target = to.join(path.file_name().context("a file name")?);
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            install_file(&path, &target, 0o644)?;
        }
    }
    Ok(())
}

/// Every regular file under `dir`, relative to `base`, sorted.
fn files_under(dir: &Path, base: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files_under(&path, base, files)?;
        } else {
            files.push(path.strip_prefix(base)?.to_path_buf());
        }
    }
    files.sort();
    Ok(())
}

fn tree_size(stage: &Path) -> Result<u64> {
    let mut files = Vec::new();
    files_under(stage, stage, &mut files)?;
    files
        .iter()
        .filter(|f| !f.starts_with("DEBIAN"))
        .map(|f| Ok(fs::metadata(stage.join(f))?.len()))
        .sum()
}

/// `DEBIAN/md5sums`, which `debsums` and `dpkg --verify` check installed files against.
fn write_md5sums(stage: &Path) -> Result<()> {
    let mut files = Vec::new();
    files_under(stage, stage, &mut files)?;
    files.retain(|f| !f.starts_with("DEBIAN"));
    let output = Command::new("md5sum")
        .args(&files)
        .current_dir(stage)
        .output()
        .context("run md5sum")?;
    if !output.status.success() {
        bail!("md5sum failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    write_file(
        &stage.join("DEBIAN/md5sums"),
        &String::from_utf8_lossy(&output.stdout),
        0o644,
    )
}

/// 0755 on every directory, whatever the umask made them.
fn set_directory_modes(dir: &Path) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            set_directory_modes(&path)?;
        }
    }
    Ok(())
}

fn command_output(program: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .with_context(|| format!("run {program}"))?;
    if !output.status.success() {
        bail!("{program} {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
