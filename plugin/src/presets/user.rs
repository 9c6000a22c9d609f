//! The user's own presets: one file each ([`super::file`]) in a folder of the user's data
//! directory (`dirs`: on Linux `~/.local/share/auralis/presets/`, or under `$XDG_DATA_HOME`),
//! shared by every plugin instance and the standalone.
//!
//! Files are written whole to a temporary name and renamed into place, so a crash never leaves
//! half a preset. A file that cannot be read (damaged, hand-broken, from a newer Auralis) is
//! listed with its problem, never loaded and never overwritten: saving under its name is
//! refused. Blocking file I/O: call from the GUI or main thread, never the audio thread.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use thiserror::Error;

use super::file::{self, EXTENSION, FileProblem, MAX_FILE_BYTES, NameProblem};
use super::{PRESETS, normalise};
use crate::params::MusicalSettings;

/// One readable user preset.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPreset {
    /// Its display name, from the file.
    pub name: String,
    /// The mood it sets.
    pub settings: MusicalSettings,
    /// The file it lives in.
    pub path: PathBuf,
    /// When the file was last written, if the system says.
    pub modified: Option<SystemTime>,
}

/// What went wrong with a user preset, in one line that names the file or the preset.
#[derive(Debug, Error)]
pub enum PresetError {
    /// The file exists but is not a preset this version can read. It is left as it is.
    #[error("the preset file {} {problem}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: FileProblem,
    },
    /// Reading or writing failed (permissions, a full disk...).
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "writing"...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// The name cannot name a preset.
    #[error("{0}")]
    Name(NameProblem),
    /// A factory preset has this name; user presets may not hide one.
    #[error("\"{0}\" is a factory preset's name: choose another")]
    FactoryName(String),
    /// A preset (or an unreadable file) already has this name.
    #[error("a preset named \"{0}\" exists already: choose another name, or delete it first")]
    Exists(String),
    /// An unreadable file has the name, and it is never overwritten.
    #[error("{} exists and cannot be read, so it is left untouched: choose another name", path.display())]
    Unreadable {
        /// The file in the way.
        path: PathBuf,
    },
    /// No preset has this name.
    #[error("no preset named \"{name}\"; {}", list(known))]
    NotFound {
        /// The name asked for.
        name: String,
        /// Every preset name there is.
        known: Vec<String>,
    },
    /// The system names no data directory (no home directory).
    #[error("no folder for user presets: the system names no data directory (is HOME set?)")]
    NoDataDir,
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "there are none".into()
    } else {
        format!("presets: {}", names.join(", "))
    }
}

/// The folder of user presets.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPresets {
    /// Where the files are; created on the first save.
    dir: PathBuf,
}

impl UserPresets {
    /// The presets in `dir` (tests and tools; everything else uses [`UserPresets::open`]).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The user's preset folder: `auralis/presets` in the platform's data directory.
    ///
    /// # Errors
    /// [`PresetError::NoDataDir`] when the system has none.
    pub fn open() -> Result<Self, PresetError> {
        dirs::data_dir()
            .map(|data| Self::at(data.join("auralis").join("presets")))
            .ok_or(PresetError::NoDataDir)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every preset file in the folder, read, sorted by name; unreadable ones as errors (after
    /// the readable ones). A folder that does not exist yet holds none.
    pub fn scan(&self) -> Vec<Result<UserPreset, PresetError>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Vec::new(),
            Err(source) => {
                return vec![Err(PresetError::Io {
                    action: "reading the preset folder",
                    path: self.dir.clone(),
                    source,
                })];
            }
        };
        let mut found: Vec<Result<UserPreset, PresetError>> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| is_preset_file(path))
            .map(|path| load(&path))
            .collect();
        found.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => normalise(&a.name).cmp(&normalise(&b.name)),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            (Err(a), Err(b)) => a.to_string().cmp(&b.to_string()),
        });
        found
    }

    /// The readable presets only.
    pub fn presets(&self) -> Vec<UserPreset> {
        self.scan().into_iter().filter_map(Result::ok).collect()
    }

    /// The preset called `name`, matched as factory presets are (case, spaces and dashes aside).
    ///
    /// # Errors
    /// [`PresetError::NotFound`] listing the names there are.
    pub fn find(&self, name: &str) -> Result<UserPreset, PresetError> {
        let wanted = normalise(name);
        let presets = self.presets();
        let known = presets.iter().map(|p| p.name.clone()).collect();
        presets
            .into_iter()
            .find(|p| normalise(&p.name) == wanted)
            .ok_or_else(|| PresetError::NotFound {
                name: name.to_owned(),
                known,
            })
    }

    /// Saves `settings` as a new preset called `name`.
    ///
    /// # Errors
    /// A name that is unusable, a factory preset's, or taken (by a preset or by an unreadable
    /// file, which stays as it is); or the write failing.
    pub fn save(&self, name: &str, settings: &MusicalSettings) -> Result<UserPreset, PresetError> {
        let name = self.free_name(name, None)?;
        let path = self.dir.join(file_name(&name));
        self.write_new(&path, &name, settings)?;
        load(&path)
    }

    /// Gives `preset` the name `new_name`: its file is written anew under the new name, then the
    /// old one removed.
    ///
    /// # Errors
    /// As [`save`](Self::save), and if the preset's file no longer reads as it did.
    pub fn rename(&self, preset: &UserPreset, new_name: &str) -> Result<UserPreset, PresetError> {
        let current = load(&preset.path)?;
        let name = self.free_name(new_name, Some(&current.path))?;
        let path = self.dir.join(file_name(&name));
        if path == current.path {
            // Only the name's case or spacing changes, and with it the file's contents only.
            replace_file(&path, &name, &current.settings)?;
        } else {
            self.write_new(&path, &name, &current.settings)?;
            remove(&current.path)?;
        }
        load(&path)
    }

    /// Deletes `preset`'s file.
    ///
    /// # Errors
    /// If the file no longer reads as a preset (it is then left alone) or cannot be removed.
    pub fn delete(&self, preset: &UserPreset) -> Result<(), PresetError> {
        load(&preset.path)?;
        remove(&preset.path)
    }

    /// `name`, checked and free for a preset (the file at `own_path` does not count as taken).
    fn free_name(&self, name: &str, own_path: Option<&Path>) -> Result<String, PresetError> {
        let name = file::check_name(name).map_err(PresetError::Name)?;
        if let Some(factory) = PRESETS
            .iter()
            .find(|p| normalise(p.name) == normalise(&name))
        {
            return Err(PresetError::FactoryName(factory.name.to_owned()));
        }
        for existing in self.scan() {
            match existing {
                Ok(p) if Some(p.path.as_path()) == own_path => {}
                Ok(p) if normalise(&p.name) == normalise(&name) => {
                    return Err(PresetError::Exists(p.name));
                }
                _ => {}
            }
        }
        let path = self.dir.join(file_name(&name));
        if Some(path.as_path()) != own_path && path.exists() {
            return Err(match load(&path) {
                Ok(p) => PresetError::Exists(p.name),
                Err(_) => PresetError::Unreadable { path },
            });
        }
        Ok(name)
    }

    fn write_new(
        &self,
        path: &Path,
        name: &str,
        settings: &MusicalSettings,
    ) -> Result<(), PresetError> {
        fs::create_dir_all(&self.dir).map_err(|source| PresetError::Io {
            action: "creating the preset folder",
            path: self.dir.clone(),
            source,
        })?;
        replace_file(path, name, settings)
    }
}

/// Whether `path` looks like a preset file (by its extension; hidden temporary files aside).
fn is_preset_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == EXTENSION)
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !n.starts_with('.'))
}

/// The file name for a preset called `name`: the name with characters that no file system
/// takes replaced by `_`.
pub fn file_name(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect();
    let stem = stem.trim_start_matches('.');
    format!("{stem}.{EXTENSION}")
}

/// Reads the preset file at `path`.
///
/// # Errors
/// The file's problem, or the read's.
pub fn load(path: &Path) -> Result<UserPreset, PresetError> {
    let io_error = |source| PresetError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    };
    let metadata = fs::metadata(path).map_err(io_error)?;
    if metadata.len() > MAX_FILE_BYTES as u64 {
        return Err(PresetError::File {
            path: path.to_owned(),
            problem: FileProblem::TooLarge(metadata.len() as usize),
        });
    }
    let bytes = fs::read(path).map_err(io_error)?;
    let data = file::read(&bytes).map_err(|problem| PresetError::File {
        path: path.to_owned(),
        problem,
    })?;
    Ok(UserPreset {
        name: data.name,
        settings: data.settings,
        path: path.to_owned(),
        modified: metadata.modified().ok(),
    })
}

/// Writes the preset to a temporary file beside `path` and renames it into place.
fn replace_file(path: &Path, name: &str, settings: &MusicalSettings) -> Result<(), PresetError> {
    let text = file::write(name, settings).map_err(PresetError::Name)?;
    let temporary = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("preset")
    ));
    let result = fs::write(&temporary, text).and_then(|()| fs::rename(&temporary, path));
    result.map_err(|source| {
        let _ = fs::remove_file(&temporary);
        PresetError::Io {
            action: "writing",
            path: path.to_owned(),
            source,
        }
    })
}

fn remove(path: &Path) -> Result<(), PresetError> {
    fs::remove_file(path).map_err(|source| PresetError::Io {
        action: "deleting",
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::KeyName;

    fn temporary() -> (tempfile::TempDir, UserPresets) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = UserPresets::at(dir.path().join("auralis").join("presets"));
        (dir, store)
    }

    fn mood(seed: u32) -> MusicalSettings {
        MusicalSettings {
            key: KeyName::B,
            tempo_bpm: 64.7,
            intensity: 0.333,
            seed,
            ..MusicalSettings::default()
        }
    }

    #[test]
    fn save_find_rename_and_delete() {
        let (_guard, store) = temporary();
        assert!(store.scan().is_empty(), "a missing folder holds no presets");
        let saved = store.save("Slow Tide", &mood(9)).expect("save");
        assert_eq!(saved.settings, mood(9));
        assert_eq!(saved.path, store.dir().join("Slow Tide.auralis"));
        let found = store.find("slow-tide").expect("found loosely");
        assert_eq!(found.settings, mood(9));

        store
            .save("Dusk / Dawn?", &mood(10))
            .expect("odd characters");
        assert!(store.dir().join("Dusk _ Dawn_.auralis").is_file());
        let names: Vec<String> = store.presets().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["Dusk / Dawn?", "Slow Tide"]);

        let renamed = store.rename(&found, "Low Tide").expect("rename");
        assert_eq!(renamed.settings, mood(9));
        assert!(!found.path.exists());
        assert!(store.find("Slow Tide").is_err());
        let recased = store.rename(&renamed, "low tide").expect("a new case");
        assert_eq!(recased.name, "low tide");

        store.delete(&recased).expect("delete");
        assert!(!recased.path.exists());
        let error = store.find("low tide").expect_err("gone").to_string();
        assert!(error.contains("Dusk / Dawn?"), "{error}");
    }

    #[test]
    fn taken_and_factory_names_are_refused() {
        let (_guard, store) = temporary();
        store.save("Mine", &mood(1)).expect("save");
        let error = store.save("MINE", &mood(2)).expect_err("taken");
        assert!(matches!(error, PresetError::Exists(_)), "{error}");
        assert_eq!(store.find("mine").expect("kept").settings, mood(1));
        let error = store.save("deep field", &mood(2)).expect_err("factory");
        assert!(error.to_string().contains("Deep Field"), "{error}");
        assert!(store.save("  ", &mood(2)).is_err());
    }

    #[test]
    fn unreadable_files_are_listed_with_their_problem_and_never_touched() {
        let (_guard, store) = temporary();
        store.save("Good", &mood(1)).expect("save");
        let good_text = fs::read_to_string(store.dir().join("Good.auralis")).expect("read");
        let damaged = [
            (
                "Truncated",
                good_text[..good_text.len() / 2].to_owned(),
                "damaged",
            ),
            (
                "Wrong Type",
                good_text.replace("\"seed\": 1", "\"seed\": \"one\""),
                "parameter \"seed\" must be a whole number",
            ),
            (
                "Unknown Id",
                good_text.replace("\"seed\": 1", "\"seed\": 1, \"warmth\": 2"),
                "\"warmth\" is not a preset parameter",
            ),
            (
                "Future",
                good_text.replace("\"format_version\": 1", "\"format_version\": 999"),
                "newer Auralis",
            ),
        ];
        for (name, text, _) in &damaged {
            fs::write(store.dir().join(format!("{name}.auralis")), text).expect("write");
        }
        let scan = store.scan();
        assert_eq!(scan.len(), 5);
        assert!(scan[0].as_ref().is_ok_and(|p| p.name == "Good"));
        for (name, text, expected) in &damaged {
            let path = store.dir().join(format!("{name}.auralis"));
            let error = load(&path).expect_err(name).to_string();
            assert!(error.contains(expected), "{error}");
            assert!(error.contains(&*path.to_string_lossy()), "{error}");
            let error = store.save(name, &mood(3)).expect_err("never overwritten");
            assert!(error.to_string().contains("left untouched"), "{error}");
            assert_eq!(&fs::read_to_string(&path).expect("still there"), text);
        }
    }
}
