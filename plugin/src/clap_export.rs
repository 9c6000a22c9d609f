//! The CLAP entry point: nice-plug's plugin, plus the presets a host's browser lists.
//!
//! CLAP 1.2 lets a host index a plugin's presets without instantiating it, through a
//! `clap.preset-discovery-factory` next to the plugin factory, and load one into an instance
//! through the plugin's `clap.preset-load` extension. nice-plug offers neither, so this module
//! exports the entry itself: the plugin factory is nice-plug's own wrapper
//! ([`Wrapper::new`], as `nice_export_clap!` creates it), the preset-discovery factory is ours,
//! and each instance's `get_extension` is wrapped to add `preset-load` and Auralis's own
//! telemetry extension ([`telemetry`]) before handing every other id to nice-plug. This stays in
//! the plugin crate rather than in a patch of the carried nice-plug: the carried copy holds only
//! fixes waiting for a release (vendor/PATCHES.md), and a feature patch would have to be redone
//! at every upgrade; this glue uses only items nice-plug makes public for its own export macro,
//! and the CLAP host test exercises all of it.
//!
//! Presets load the way a host loads saved state (`set_state_inner`, on the main thread): the
//! preset's parameters are set, the others stay, and the host is told to rescan the values.
//! Every function here runs on the host's main thread or an indexing thread, never inside the
//! audio thread's `process()`; the telemetry extension's may run on any thread
//! (`telemetry.rs` says what it may wait for).

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::Path;
use std::ptr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::UNIX_EPOCH;

use clap_sys::entry::clap_plugin_entry;
use clap_sys::ext::preset_load::{
    CLAP_EXT_PRESET_LOAD, CLAP_EXT_PRESET_LOAD_COMPAT, clap_host_preset_load,
    clap_plugin_preset_load,
};
use clap_sys::factory::plugin_factory::{CLAP_PLUGIN_FACTORY_ID, clap_plugin_factory};
use clap_sys::factory::preset_discovery::{
    CLAP_PRESET_DISCOVERY_FACTORY_ID, CLAP_PRESET_DISCOVERY_FACTORY_ID_COMPAT,
    CLAP_PRESET_DISCOVERY_IS_FACTORY_CONTENT, CLAP_PRESET_DISCOVERY_IS_USER_CONTENT,
    CLAP_PRESET_DISCOVERY_LOCATION_FILE, CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN,
    clap_preset_discovery_factory, clap_preset_discovery_filetype, clap_preset_discovery_indexer,
    clap_preset_discovery_location, clap_preset_discovery_location_kind,
    clap_preset_discovery_metadata_receiver, clap_preset_discovery_provider,
    clap_preset_discovery_provider_descriptor,
};
use clap_sys::host::clap_host;
use clap_sys::plugin::{clap_plugin, clap_plugin_descriptor};
use clap_sys::universal_plugin_id::clap_universal_plugin_id;
use clap_sys::version::CLAP_VERSION;
use nice_plug::prelude::nice_error;
use nice_plug::wrapper::clap::{PluginDescriptor, Wrapper};

use crate::Auralis;
use crate::params::{MusicalSettings, display_name};
use crate::presets::user::{self, UserPresets};
use crate::presets::{self, file};
use crate::realtime::Telemetry;

/// The CLAP plugin's entry point.
#[allow(non_upper_case_globals)]
#[unsafe(no_mangle)]
#[used]
pub static clap_entry: clap_plugin_entry = clap_plugin_entry {
    clap_version: CLAP_VERSION,
    init: Some(init),
    deinit: Some(deinit),
    get_factory: Some(get_factory),
};

extern "C" fn init(_plugin_path: *const c_char) -> bool {
    nice_plug::wrapper::setup_logger::<Auralis>();
    true
}

extern "C" fn deinit() {}

extern "C" fn get_factory(factory_id: *const c_char) -> *const c_void {
    if factory_id.is_null() {
        return ptr::null();
    }
    // SAFETY: the host passes a NUL-terminated string (checked for null above).
    let id = unsafe { CStr::from_ptr(factory_id) };
    if id == CLAP_PLUGIN_FACTORY_ID {
        ptr::from_ref(&PLUGIN_FACTORY).cast()
    } else if id == CLAP_PRESET_DISCOVERY_FACTORY_ID
        || id == CLAP_PRESET_DISCOVERY_FACTORY_ID_COMPAT
    {
        ptr::from_ref(&PRESET_DISCOVERY_FACTORY).cast()
    } else {
        ptr::null()
    }
}

mod telemetry;

pub(crate) use telemetry::created;

// ---- the plugin factory: nice-plug's wrapper, with preset-load and telemetry added ----

static PLUGIN_FACTORY: clap_plugin_factory = clap_plugin_factory {
    get_plugin_count: Some(get_plugin_count),
    get_plugin_descriptor: Some(get_plugin_descriptor),
    create_plugin: Some(create_plugin),
};

fn descriptor() -> &'static PluginDescriptor {
    static DESCRIPTOR: OnceLock<PluginDescriptor> = OnceLock::new();
    DESCRIPTOR.get_or_init(PluginDescriptor::for_plugin::<Auralis>)
}

unsafe extern "C" fn get_plugin_count(_factory: *const clap_plugin_factory) -> u32 {
    1
}

unsafe extern "C" fn get_plugin_descriptor(
    _factory: *const clap_plugin_factory,
    index: u32,
) -> *const clap_plugin_descriptor {
    if index == 0 {
        descriptor().clap_plugin_descriptor()
    } else {
        ptr::null()
    }
}

/// nice-plug's own vtable entries that this module wraps, the same for every instance.
#[derive(Clone, Copy)]
struct Framework {
    get_extension: Option<unsafe extern "C" fn(*const clap_plugin, *const c_char) -> *const c_void>,
    destroy: Option<unsafe extern "C" fn(*const clap_plugin)>,
}

static FRAMEWORK: OnceLock<Framework> = OnceLock::new();

/// The live instances, by plugin address: what nice-plug keeps private and this module needs.
static INSTANCES: Mutex<Vec<Instance>> = Mutex::new(Vec::new());

/// A live instance as this module knows it.
struct Instance {
    /// Its `clap_plugin`, as an address.
    plugin: usize,
    /// Its host, to tell which preset was loaded, as an address.
    host: usize,
    /// Its counters, for the telemetry extension.
    telemetry: Option<Arc<Telemetry>>,
}

unsafe extern "C" fn create_plugin(
    _factory: *const clap_plugin_factory,
    host: *const clap_host,
    plugin_id: *const c_char,
) -> *const clap_plugin {
    if plugin_id.is_null() || host.is_null() {
        return ptr::null();
    }
    // SAFETY: a NUL-terminated string from the host, checked for null above.
    if unsafe { CStr::from_ptr(plugin_id) } != descriptor().clap_id() {
        return ptr::null();
    }
    // SAFETY: `host` is the host's valid `clap_host`, as `nice_export_clap!` passes it.
    let (wrapper, telemetry) = telemetry::creating(|| unsafe { Wrapper::<Auralis>::new(host) });
    // SAFETY: the reference is given to the returned `clap_plugin` and taken back by
    // nice-plug's `destroy`.
    let wrapper = unsafe { &*Arc::into_raw(wrapper) };
    let plugin = {
        let mut plugin = wrapper.clap_plugin.borrow_mut();
        let framework = *FRAMEWORK.get_or_init(|| Framework {
            get_extension: plugin.get_extension,
            destroy: plugin.destroy,
        });
        plugin.get_extension = Some(get_extension);
        if framework.destroy.is_some() {
            plugin.destroy = Some(destroy);
        }
        wrapper.clap_plugin.as_ptr()
    };
    lock_instances().push(Instance {
        plugin: plugin as usize,
        host: host as usize,
        telemetry,
    });
    plugin
}

fn lock_instances() -> std::sync::MutexGuard<'static, Vec<Instance>> {
    INSTANCES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Calls `f` with the live instance `plugin`, if it is one.
fn with_instance<R>(plugin: *const clap_plugin, f: impl FnOnce(&Instance) -> R) -> Option<R> {
    lock_instances()
        .iter()
        .find(|instance| instance.plugin == plugin as usize)
        .map(f)
}

unsafe extern "C" fn destroy(plugin: *const clap_plugin) {
    lock_instances().retain(|instance| instance.plugin != plugin as usize);
    if let Some(destroy) = FRAMEWORK.get().and_then(|f| f.destroy) {
        // SAFETY: nice-plug's own `destroy` for the instance it created.
        unsafe { destroy(plugin) }
    }
}

static PRESET_LOAD: clap_plugin_preset_load = clap_plugin_preset_load {
    from_location: Some(from_location),
};

unsafe extern "C" fn get_extension(plugin: *const clap_plugin, id: *const c_char) -> *const c_void {
    if !id.is_null() {
        // SAFETY: a NUL-terminated string from the host.
        let id = unsafe { CStr::from_ptr(id) };
        if id == CLAP_EXT_PRESET_LOAD || id == CLAP_EXT_PRESET_LOAD_COMPAT {
            return ptr::from_ref(&PRESET_LOAD).cast();
        }
        if id == telemetry::EXT_TELEMETRY {
            return if telemetry::known(plugin) {
                telemetry::extension()
            } else {
                ptr::null()
            };
        }
    }
    match FRAMEWORK.get().and_then(|f| f.get_extension) {
        // SAFETY: nice-plug's own `get_extension` for the instance it created.
        Some(get_extension) => unsafe { get_extension(plugin, id) },
        None => ptr::null(),
    }
}

/// A preset's location as the host hands it back.
enum Located<'a> {
    /// A factory preset, by its name (the load key).
    Factory(&'a str),
    /// A user preset file.
    File(&'a Path),
}

/// Reads a location and load key into what they point at.
///
/// # Safety
/// `location` and `load_key` are null or NUL-terminated strings.
unsafe fn locate<'a>(
    kind: clap_preset_discovery_location_kind,
    location: *const c_char,
    load_key: *const c_char,
) -> Result<Located<'a>, String> {
    // SAFETY: as the caller promises.
    let text = |p: *const c_char| unsafe { (!p.is_null()).then(|| CStr::from_ptr(p)) };
    match kind {
        CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN => text(load_key)
            .and_then(|key| key.to_str().ok())
            .map(Located::Factory)
            .ok_or_else(|| "a factory preset needs its name as the load key".to_owned()),
        CLAP_PRESET_DISCOVERY_LOCATION_FILE => text(location)
            .and_then(|path| path.to_str().ok())
            .map(|path| Located::File(Path::new(path)))
            .ok_or_else(|| "a preset file location needs a path".to_owned()),
        other => Err(format!("unknown preset location kind {other}")),
    }
}

/// The mood the preset at a location sets.
fn preset_settings(located: &Located) -> Result<MusicalSettings, String> {
    match located {
        Located::Factory(name) => presets::find(name)
            .map(|p| p.settings)
            .ok_or_else(|| format!("no factory preset named \"{name}\"")),
        Located::File(path) => user::load(path)
            .map(|p| p.settings)
            .map_err(|e| e.to_string()),
    }
}

unsafe extern "C" fn from_location(
    plugin: *const clap_plugin,
    kind: clap_preset_discovery_location_kind,
    location: *const c_char,
    load_key: *const c_char,
) -> bool {
    // SAFETY: the host passes null or NUL-terminated strings.
    let located = unsafe { locate(kind, location, load_key) };
    let loaded = located.and_then(|located| {
        let settings = preset_settings(&located)?;
        // SAFETY: `plugin` is an instance this factory created; nice-plug points its
        // `plugin_data` at the wrapper, which lives until `destroy`.
        let wrapper = unsafe {
            plugin
                .as_ref()
                .and_then(|p| p.plugin_data.cast::<Wrapper<Auralis>>().as_ref())
        }
        .ok_or_else(|| "no plugin instance".to_owned())?;
        let mut state = presets::as_state(&settings);
        if wrapper.set_state_inner(&mut state) {
            Ok(())
        } else {
            Err("the plugin refused the preset's values".to_owned())
        }
    });
    let host = host_preset_load(plugin);
    match loaded {
        Ok(()) => {
            if let Some((host, ext)) = host
                && let Some(loaded) = ext.loaded
            {
                // SAFETY: the host's own extension, called on its main thread, as here.
                unsafe { loaded(host, kind, location, load_key) };
            }
            true
        }
        Err(message) => {
            nice_error!("loading a preset: {message}");
            if let Some((host, ext)) = host
                && let Some(on_error) = ext.on_error
                && let Ok(message) = CString::new(message)
            {
                // SAFETY: as above.
                unsafe { on_error(host, kind, location, load_key, 0, message.as_ptr()) };
            }
            false
        }
    }
}

/// The host's side of preset-load for the instance `plugin`, if the host has one.
fn host_preset_load(
    plugin: *const clap_plugin,
) -> Option<(*const clap_host, &'static clap_host_preset_load)> {
    let host = with_instance(plugin, |instance| instance.host as *const clap_host)?;
    // SAFETY: the host outlives its plugin instances.
    let get_extension = unsafe { (*host).get_extension }?;
    [CLAP_EXT_PRESET_LOAD, CLAP_EXT_PRESET_LOAD_COMPAT]
        .into_iter()
        .find_map(|id| {
            // SAFETY: the host's own function with its own pointer; the extension it returns
            // lives as long as the host.
            unsafe {
                get_extension(host, id.as_ptr())
                    .cast::<clap_host_preset_load>()
                    .as_ref()
            }
        })
        .map(|ext| (host, ext))
}

// ---- the preset-discovery factory ----

static PRESET_DISCOVERY_FACTORY: clap_preset_discovery_factory = clap_preset_discovery_factory {
    count: Some(provider_count),
    get_descriptor: Some(provider_descriptor),
    create: Some(create_provider),
};

const PROVIDER_ID: &CStr = c"audio.auralis.generative.presets";

static PROVIDER_DESCRIPTOR: clap_preset_discovery_provider_descriptor =
    clap_preset_discovery_provider_descriptor {
        clap_version: CLAP_VERSION,
        id: PROVIDER_ID.as_ptr(),
        name: c"Auralis presets".as_ptr(),
        vendor: c"Auralis".as_ptr(),
    };

unsafe extern "C" fn provider_count(_factory: *const clap_preset_discovery_factory) -> u32 {
    1
}

unsafe extern "C" fn provider_descriptor(
    _factory: *const clap_preset_discovery_factory,
    index: u32,
) -> *const clap_preset_discovery_provider_descriptor {
    if index == 0 {
        &PROVIDER_DESCRIPTOR
    } else {
        ptr::null()
    }
}

/// One provider instance: the vtable the host holds, and what it needs between calls.
struct Provider {
    /// What the host calls; `provider_data` points at this struct.
    raw: clap_preset_discovery_provider,
    /// The host's indexer, valid until `destroy`.
    indexer: *const clap_preset_discovery_indexer,
    /// The user preset folder declared to the indexer, kept alive as long as the provider.
    user_dir: Option<CString>,
}

unsafe extern "C" fn create_provider(
    _factory: *const clap_preset_discovery_factory,
    indexer: *const clap_preset_discovery_indexer,
    provider_id: *const c_char,
) -> *const clap_preset_discovery_provider {
    // SAFETY: a NUL-terminated string from the host, checked for null first.
    if indexer.is_null()
        || provider_id.is_null()
        || unsafe { CStr::from_ptr(provider_id) } != PROVIDER_ID
    {
        return ptr::null();
    }
    let provider = Box::into_raw(Box::new(Provider {
        raw: clap_preset_discovery_provider {
            desc: &PROVIDER_DESCRIPTOR,
            provider_data: ptr::null_mut(),
            init: Some(provider_init),
            destroy: Some(provider_destroy),
            get_metadata: Some(provider_get_metadata),
            get_extension: Some(provider_get_extension),
        },
        indexer,
        user_dir: None,
    }));
    // SAFETY: just allocated; freed in `provider_destroy`.
    unsafe {
        (*provider).raw.provider_data = provider.cast();
        &(*provider).raw
    }
}

/// The provider behind the host's pointer.
///
/// # Safety
/// `provider` is null or came from [`create_provider`] and is not destroyed.
unsafe fn provider_of<'a>(
    provider: *const clap_preset_discovery_provider,
) -> Option<&'a mut Provider> {
    // SAFETY: as the caller promises; the host calls a provider from one thread at a time.
    unsafe { provider.as_ref()?.provider_data.cast::<Provider>().as_mut() }
}

unsafe extern "C" fn provider_init(provider: *const clap_preset_discovery_provider) -> bool {
    // SAFETY: the host's provider from `create_provider`.
    let Some(provider) = (unsafe { provider_of(provider) }) else {
        return false;
    };
    // SAFETY: the indexer the host created the provider with, valid until destroy.
    let Some(indexer) = (unsafe { provider.indexer.as_ref() }) else {
        return false;
    };
    let filetype = clap_preset_discovery_filetype {
        name: c"Auralis preset".as_ptr(),
        description: c"An Auralis user preset: its mood in a small JSON file".as_ptr(),
        file_extension: c"auralis".as_ptr(),
    };
    debug_assert_eq!(file::EXTENSION, "auralis");
    let factory = clap_preset_discovery_location {
        flags: CLAP_PRESET_DISCOVERY_IS_FACTORY_CONTENT,
        name: c"Auralis factory presets".as_ptr(),
        kind: CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN,
        location: ptr::null(),
    };
    // SAFETY: the indexer's own functions with its own pointer, during init as CLAP requires.
    unsafe {
        if let Some(declare) = indexer.declare_filetype
            && !declare(indexer, &filetype)
        {
            return false;
        }
        if let Some(declare) = indexer.declare_location
            && !declare(indexer, &factory)
        {
            return false;
        }
    }
    // The folder is created now so that a host watching it sees the first preset saved; if it
    // cannot be, the factory presets are still offered.
    let user_dir = UserPresets::open().and_then(|store| {
        std::fs::create_dir_all(store.dir()).map_err(|source| user::PresetError::Io {
            action: "creating the preset folder",
            path: store.dir().to_owned(),
            source,
        })?;
        Ok(store.dir().to_owned())
    });
    match user_dir.map(|dir| CString::new(dir.to_string_lossy().into_owned())) {
        Ok(Ok(dir)) => {
            let user = clap_preset_discovery_location {
                flags: CLAP_PRESET_DISCOVERY_IS_USER_CONTENT,
                name: c"Your Auralis presets".as_ptr(),
                kind: CLAP_PRESET_DISCOVERY_LOCATION_FILE,
                location: dir.as_ptr(),
            };
            // SAFETY: as above; `dir` lives in the provider until destroy.
            if let Some(declare) = indexer.declare_location
                && !unsafe { declare(indexer, &user) }
            {
                return false;
            }
            provider.user_dir = Some(dir);
        }
        Ok(Err(_)) => nice_error!("the user preset folder's path holds a NUL byte"),
        Err(err) => nice_error!("user presets are not offered to the host: {err}"),
    }
    true
}

unsafe extern "C" fn provider_destroy(provider: *const clap_preset_discovery_provider) {
    // SAFETY: the host's provider from `create_provider`, destroyed once.
    if let Some(provider) = unsafe { provider_of(provider) } {
        // SAFETY: allocated by `Box::into_raw` in `create_provider`.
        drop(unsafe { Box::from_raw(ptr::from_mut(provider)) });
    }
}

unsafe extern "C" fn provider_get_extension(
    _provider: *const clap_preset_discovery_provider,
    _extension_id: *const c_char,
) -> *const c_void {
    ptr::null()
}

/// The metadata receiver the host passed, with safe methods.
struct Receiver<'a>(&'a clap_preset_discovery_metadata_receiver);

impl Receiver<'_> {
    fn text(&self, value: &str) -> CString {
        CString::new(value.replace('\0', " ")).unwrap_or_default()
    }

    fn begin(&self, name: &str, load_key: Option<&str>) -> bool {
        let name = self.text(name);
        let key = load_key.map(|k| self.text(k));
        let Some(begin) = self.0.begin_preset else {
            return false;
        };
        let key_ptr = key.as_ref().map_or(ptr::null(), |k| k.as_ptr());
        // SAFETY: the host's receiver; the strings live through the call.
        unsafe { begin(self.0, name.as_ptr(), key_ptr) }
    }

    fn describe(&self, flags: u32, description: &str, features: &[&str]) {
        let plugin_id = clap_universal_plugin_id {
            abi: c"clap".as_ptr(),
            id: descriptor().clap_id().as_ptr(),
        };
        // SAFETY: the host's receiver; every string lives through its call.
        unsafe {
            if let Some(f) = self.0.add_plugin_id {
                f(self.0, &plugin_id);
            }
            if let Some(f) = self.0.set_flags {
                f(self.0, flags);
            }
            if let Some(f) = self.0.add_creator {
                f(self.0, c"Auralis".as_ptr());
            }
            if let Some(f) = self.0.set_description {
                f(self.0, self.text(description).as_ptr());
            }
            if let Some(f) = self.0.add_feature {
                for feature in features {
                    f(self.0, self.text(feature).as_ptr());
                }
            }
        }
    }

    fn timestamps(&self, modified_s: u64) {
        if let Some(f) = self.0.set_timestamps {
            // SAFETY: the host's receiver. 0 means "unknown" in CLAP.
            unsafe { f(self.0, 0, modified_s) };
        }
    }

    fn error(&self, message: &str) {
        if let Some(f) = self.0.on_error {
            // SAFETY: the host's receiver; the string lives through the call.
            unsafe { f(self.0, 0, self.text(message).as_ptr()) };
        }
    }
}

/// A one-line summary of a user preset's mood for the browser: "D Dorian · 70 BPM".
fn summary(settings: &MusicalSettings) -> String {
    format!(
        "{} {} · {} BPM",
        display_name(settings.key),
        display_name(settings.scale),
        settings.tempo_bpm
    )
}

unsafe extern "C" fn provider_get_metadata(
    _provider: *const clap_preset_discovery_provider,
    kind: clap_preset_discovery_location_kind,
    location: *const c_char,
    receiver: *const clap_preset_discovery_metadata_receiver,
) -> bool {
    // SAFETY: the host's receiver, valid through this call.
    let Some(receiver) = (unsafe { receiver.as_ref() }).map(Receiver) else {
        return false;
    };
    match kind {
        CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN => {
            for preset in &presets::PRESETS {
                if !receiver.begin(preset.name, Some(preset.name)) {
                    return false;
                }
                receiver.describe(
                    CLAP_PRESET_DISCOVERY_IS_FACTORY_CONTENT,
                    preset.description,
                    preset.features(),
                );
            }
            true
        }
        CLAP_PRESET_DISCOVERY_LOCATION_FILE => {
            // SAFETY: a NUL-terminated path from the host, or null.
            let path = unsafe { (!location.is_null()).then(|| CStr::from_ptr(location)) };
            let Some(path) = path.and_then(|p| p.to_str().ok()).map(Path::new) else {
                receiver.error("a preset file location needs a path");
                return false;
            };
            // A host may hand back the folder itself rather than each file in it.
            let found = if path.is_dir() {
                UserPresets::at(path).scan()
            } else {
                vec![user::load(path)]
            };
            let mut all_read = true;
            for preset in found {
                match preset {
                    Ok(preset) => {
                        // One preset per file: no load key (CLAP's rule for single files).
                        let key = None;
                        if !receiver.begin(&preset.name, key) {
                            return false;
                        }
                        receiver.describe(
                            CLAP_PRESET_DISCOVERY_IS_USER_CONTENT,
                            &summary(&preset.settings),
                            &["ambient"],
                        );
                        if let Some(modified) = preset
                            .modified
                            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                        {
                            receiver.timestamps(modified.as_secs());
                        }
                    }
                    Err(err) => {
                        receiver.error(&err.to_string());
                        all_read = false;
                    }
                }
            }
            all_read
        }
        _ => {
            receiver.error("unknown preset location kind");
            false
        }
    }
}
