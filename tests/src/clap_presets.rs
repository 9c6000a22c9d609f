//! Preset discovery as a host's preset browser does it: through the bundle's
//! `clap.preset-discovery-factory` (clack's host side), every provider is created with an
//! indexer of ours, every location it declares is crawled (the plugin's own presets, and the
//! files of the declared types in each folder), and every preset's metadata is collected.
//! Loading one into an instance is [`ClapInstance::load_preset`](crate::clap_host::ClapInstance::load_preset).

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clack_extensions::preset_discovery::prelude::*;
use clack_host::prelude::*;

use crate::clap_host::ClapBundle;

/// Where a preset is, as the provider declared it.
#[derive(Debug, Clone, PartialEq)]
pub enum PresetLocation {
    /// Inside the plugin (its factory presets).
    Plugin,
    /// A file or folder.
    File(PathBuf),
}

impl PresetLocation {
    /// `self` as clack's location, with the C string it needs.
    pub fn with_raw<R>(&self, f: impl FnOnce(Location) -> R) -> Result<R> {
        match self {
            Self::Plugin => Ok(f(Location::Plugin)),
            Self::File(path) => {
                let path = CString::new(path.to_string_lossy().into_owned())
                    .context("a path with a NUL byte")?;
                Ok(f(Location::File { path: &path }))
            }
        }
    }
}

/// One preset as a browser lists it.
#[derive(Debug, Clone, Default)]
pub struct DiscoveredPreset {
    /// Display name.
    pub name: String,
    /// The key to load it with, if its location holds several.
    pub load_key: Option<String>,
    /// Where it is (set by the crawler; a file's own path for file presets).
    pub location: Option<PresetLocation>,
    /// Factory / user content flags.
    pub flags: u32,
    /// The plugins it is for, as `abi:id`.
    pub plugin_ids: Vec<String>,
    /// Its description.
    pub description: String,
    /// Its features ("ambient", "pad"...).
    pub features: Vec<String>,
    /// Its creators.
    pub creators: Vec<String>,
}

/// What the providers declared and what their locations hold.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The providers' ids.
    pub providers: Vec<String>,
    /// Declared file types: (name, extension).
    pub file_types: Vec<(String, Option<String>)>,
    /// Declared locations: (name, where, flags).
    pub locations: Vec<(String, PresetLocation, u32)>,
    /// Every preset found.
    pub presets: Vec<DiscoveredPreset>,
    /// Errors the providers reported while reading metadata.
    pub errors: Vec<String>,
}

#[derive(Default)]
struct Indexer {
    file_types: Vec<(String, Option<String>)>,
    locations: Vec<(String, PresetLocation, u32)>,
}

fn text(s: &CStr) -> String {
    s.to_string_lossy().into_owned()
}

impl IndexerImpl for Indexer {
    fn declare_filetype(&mut self, file_type: FileType) -> Result<(), HostError> {
        self.file_types
            .push((text(file_type.name), file_type.file_extension.map(text)));
        Ok(())
    }

    fn declare_location(&mut self, location: LocationInfo) -> Result<(), HostError> {
        let place = match location.location {
            Location::Plugin => PresetLocation::Plugin,
            Location::File { path } => PresetLocation::File(PathBuf::from(text(path))),
        };
        self.locations
            .push((text(location.name), place, location.flags.bits()));
        Ok(())
    }

    fn declare_soundpack(&mut self, _soundpack: Soundpack) -> Result<(), HostError> {
        Ok(())
    }
}

#[derive(Default)]
struct Receiver {
    presets: Vec<DiscoveredPreset>,
    errors: Vec<String>,
}

impl Receiver {
    fn current(&mut self) -> Option<&mut DiscoveredPreset> {
        self.presets.last_mut()
    }
}

impl MetadataReceiverImpl for Receiver {
    fn on_error(&mut self, error_code: i32, error_message: Option<&CStr>) {
        self.errors.push(format!(
            "{} (code {error_code})",
            error_message.map(text).unwrap_or_default()
        ));
    }

    fn begin_preset(
        &mut self,
        name: Option<&CStr>,
        load_key: Option<&CStr>,
    ) -> Result<(), HostError> {
        self.presets.push(DiscoveredPreset {
            name: name.map(text).unwrap_or_default(),
            load_key: load_key.map(text),
            ..DiscoveredPreset::default()
        });
        Ok(())
    }

    fn add_plugin_id(&mut self, plugin_id: UniversalPluginId) {
        let id = format!("{}:{}", text(plugin_id.abi), text(plugin_id.id));
        if let Some(p) = self.current() {
            p.plugin_ids.push(id);
        }
    }

    fn set_soundpack_id(&mut self, _soundpack_id: &CStr) {}

    fn set_flags(&mut self, flags: Flags) {
        if let Some(p) = self.current() {
            p.flags = flags.bits();
        }
    }

    fn add_creator(&mut self, creator: &CStr) {
        if let Some(p) = self.current() {
            p.creators.push(text(creator));
        }
    }

    fn set_description(&mut self, description: &CStr) {
        if let Some(p) = self.current() {
            p.description = text(description);
        }
    }

    fn set_timestamps(&mut self, _creation: Option<Timestamp>, _modification: Option<Timestamp>) {}

    fn add_feature(&mut self, feature: &CStr) {
        if let Some(p) = self.current() {
            p.features.push(text(feature));
        }
    }

    fn add_extra_info(&mut self, _key: &CStr, _value: &CStr) {}
}

/// The files under `dir` (recursively) whose extension is one of `extensions`.
fn files_in(dir: &Path, extensions: &[String]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        if path.is_dir() {
            found.extend(files_in(&path, extensions));
        } else if path
            .extension()
            .is_some_and(|ext| extensions.iter().any(|e| *e == ext.to_string_lossy()))
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

impl ClapBundle {
    /// Every preset the bundle's preset-discovery providers offer, crawled as a host does.
    ///
    /// # Errors
    /// If the bundle has no preset-discovery factory or a provider fails to start.
    pub fn discover_presets(&self) -> Result<Discovery> {
        let entry = self.entry();
        let factory = entry
            .get_factory::<PresetDiscoveryFactory>()
            .context("the bundle has no preset-discovery factory")?;
        let host_info = HostInfo::new(
            "Auralis test host",
            "Auralis",
            "https://example.invalid/auralis",
            env!("CARGO_PKG_VERSION"),
        )
        .map_err(|err| anyhow!("host info: {err}"))?;
        let mut discovery = Discovery::default();
        let ids: Vec<CString> = factory
            .provider_descriptors()
            .filter_map(|d| d.id().map(CStr::to_owned))
            .collect();
        for id in ids {
            discovery.providers.push(text(&id));
            let mut provider = Provider::instantiate(Indexer::default(), entry, &id, &host_info)
                .map_err(|err| anyhow!("creating provider {id:?}: {err}"))?;
            let indexer = provider.indexer();
            let locations = indexer.locations.clone();
            let extensions: Vec<String> = indexer
                .file_types
                .iter()
                .filter_map(|(_, ext)| ext.clone())
                .collect();
            discovery.file_types.extend(indexer.file_types.clone());
            for (_, place, _) in &locations {
                let targets = match place {
                    PresetLocation::Plugin => vec![PresetLocation::Plugin],
                    PresetLocation::File(path) if path.is_dir() => files_in(path, &extensions)
                        .into_iter()
                        .map(PresetLocation::File)
                        .collect(),
                    PresetLocation::File(path) => vec![PresetLocation::File(path.clone())],
                };
                for target in targets {
                    let mut receiver = Receiver::default();
                    target.with_raw(|location| provider.get_metadata(location, &mut receiver))?;
                    for mut preset in receiver.presets {
                        preset.location = Some(target.clone());
                        discovery.presets.push(preset);
                    }
                    discovery.errors.extend(receiver.errors);
                }
            }
            discovery.locations.extend(locations);
        }
        Ok(discovery)
    }
}
