//! The Debian package as an operator meets it: its contents, lintian's verdict, and then
//! installed on this machine (as root) with `dpkg -i`: the program runs from `/usr/bin`, a CLAP
//! host loads the plugin from `/usr/lib/clap`, `systemd-analyze` verifies the unit and rates
//! its sandbox. `dpkg -r` and `dpkg --purge` take it all away again, even when a check fails.
//!
//! `cargo xtask test` builds the package first and names it in `AURALIS_DEB` (and the tarball
//! in `AURALIS_TARBALL`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use auralis_tests::checks::{assert_sane, rms_dbfs};
use auralis_tests::clap_host::ClapBundle;

const PLUGIN_ID: &str = "audio.auralis.generative";
/// What `systemd-analyze security` may rate the unit at most: "OK" or better.
const MAX_EXPOSURE: f64 = 3.0;

/// Every file the package must hold, as `dpkg-deb --contents` lists them.
const FILES: [&str; 9] = [
    "./usr/bin/auralis",
    "./usr/lib/clap/Auralis.clap",
    "./usr/lib/vst3/Auralis.vst3/Contents/x86_64-linux/Auralis.so",
    "./lib/systemd/system/auralis.service",
    "./etc/default/auralis",
    "./usr/share/doc/auralis/README.md",
    "./usr/share/doc/auralis/LICENSE",
    "./usr/share/doc/auralis/copyright",
    "./usr/share/doc/auralis/changelog.gz",
];

fn artifact(variable: &str) -> PathBuf {
    let path = std::env::var_os(variable).map(PathBuf::from).unwrap_or_else(|| {
        panic!("{variable} is not set: run the tests with `cargo xtask test`, which builds the package")
    });
    assert!(
        path.is_file(),
        "{variable}={} does not exist",
        path.display()
    );
    path
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program}: {err}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        output.status,
        text(output)
    );
}

fn deb_field(deb: &Path, field: &str) -> String {
    let output = run("dpkg-deb", &["--field", deb.to_str().unwrap(), field]);
    assert_success(&output, "dpkg-deb --field");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Removes the package however the test ends.
struct Installed;

impl Installed {
    fn install(deb: &Path) -> Self {
        let output = run("dpkg", &["-i", deb.to_str().unwrap()]);
        let installed = Self;
        assert_success(&output, "dpkg -i");
        installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run("dpkg", &["--purge", "auralis"]);
    }
}

#[test]
fn the_package_holds_every_file_and_passes_lintian() {
    let deb = artifact("AURALIS_DEB");
    let contents = run("dpkg-deb", &["--contents", deb.to_str().unwrap()]);
    assert_success(&contents, "dpkg-deb --contents");
    let listing = String::from_utf8_lossy(&contents.stdout);
    for file in FILES {
        assert!(
            listing.lines().any(|line| line.ends_with(file)),
            "{file} is not in the package:\n{listing}"
        );
    }
    let conffile = listing
        .lines()
        .find(|line| line.ends_with("./etc/default/auralis"))
        .unwrap();
    assert!(
        conffile.starts_with("-rw------- root/root"),
        "the defaults file may hold the token: {conffile}"
    );

    // The binary links libopus and ALSA; JACK is opened at run time, so it is recommended.
    let depends = deb_field(&deb, "Depends");
    for library in ["libc6", "libopus0", "libasound2"] {
        assert!(
            depends.contains(library),
            "Depends lacks {library}: {depends}"
        );
    }
    let recommends = deb_field(&deb, "Recommends");
    assert!(recommends.contains("libjack"), "{recommends}");
    assert_eq!(deb_field(&deb, "Package"), "auralis");
    assert_eq!(deb_field(&deb, "Version"), env!("CARGO_PKG_VERSION"));

    let tarball = artifact("AURALIS_TARBALL");
    let tar = run("tar", &["-tzf", tarball.to_str().unwrap()]);
    assert_success(&tar, "tar -tzf");
    let archived = String::from_utf8_lossy(&tar.stdout);
    let top = format!("auralis-{}", env!("CARGO_PKG_VERSION"));
    for file in FILES {
        let path = format!("{top}/{}", file.trim_start_matches("./"));
        assert!(
            archived.lines().any(|line| line == path),
            "{path} is not in the tarball"
        );
    }

    let lintian = run("lintian", &["--fail-on", "error", deb.to_str().unwrap()]);
    let said = text(&lintian);
    assert!(
        lintian.status.success() && !said.lines().any(|line| line.starts_with("E: ")),
        "lintian reports errors:\n{said}"
    );
    eprintln!("lintian:\n{said}");
}

#[test]
fn installed_it_runs_loads_in_a_clap_host_and_its_unit_is_sound() {
    let deb = artifact("AURALIS_DEB");
    let uid = run("id", &["-u"]);
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "installing the package needs root, as `cargo xtask test` runs in CI"
    );
    let installed = Installed::install(&deb);

    let version = run("/usr/bin/auralis", &["--version"]);
    assert_success(&version, "/usr/bin/auralis --version");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("auralis {}", env!("CARGO_PKG_VERSION"))
    );

    let bundle = ClapBundle::load("/usr/lib/clap/Auralis.clap")
        .unwrap_or_else(|err| panic!("the installed CLAP bundle does not load: {err:#}"));
    let plugins = bundle.plugins().expect("the factory lists its plugins");
    assert!(
        plugins.iter().any(|p| p.id == PLUGIN_ID),
        "{PLUGIN_ID} missing from {plugins:?}"
    );
    let mut instance = bundle.instantiate(PLUGIN_ID).expect("instantiate");
    instance.activate(48_000.0, 512).expect("activate");
    let rendered = instance.render(3.0, 512).expect("process");
    assert_sane(&rendered, "the installed plugin");
    let (left, right) = rendered.tail(2.0);
    let level = rms_dbfs(left, right);
    assert!(level > -50.0, "the installed plugin plays: {level:.1} dBFS");
    drop(instance);
    drop(bundle);

    let verify = run(
        "systemd-analyze",
        &["verify", "/lib/systemd/system/auralis.service"],
    );
    assert_success(&verify, "systemd-analyze verify");
    assert!(
        !text(&verify).contains("auralis.service"),
        "systemd-analyze verify has remarks on the unit:\n{}",
        text(&verify)
    );
    // --offline reads the unit file without asking a running systemd (there is none in a
    // container); systemd 250 and later.
    let security = run(
        "systemd-analyze",
        &["security", "--offline=yes", "auralis.service"],
    );
    assert_success(&security, "systemd-analyze security");
    let report = text(&security);
    let exposure: f64 = report
        .lines()
        .find_map(|line| {
            line.split("Overall exposure level for auralis.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{report}"));
    assert!(
        exposure <= MAX_EXPOSURE,
        "the unit's exposure is {exposure}, above {MAX_EXPOSURE}:\n{report}"
    );
    eprintln!("systemd-analyze security: exposure {exposure}");

    // Removal keeps the settings (a conffile), purging takes them too.
    let remove = run("dpkg", &["-r", "auralis"]);
    assert_success(&remove, "dpkg -r");
    assert!(!Path::new("/usr/bin/auralis").exists());
    assert!(!Path::new("/usr/lib/clap/Auralis.clap").exists());
    assert!(Path::new("/etc/default/auralis").exists());
    let purge = run("dpkg", &["--purge", "auralis"]);
    assert_success(&purge, "dpkg --purge");
    assert!(!Path::new("/etc/default/auralis").exists());
    drop(installed);
}
