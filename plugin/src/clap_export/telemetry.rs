//! Auralis's own CLAP extension, `audio.auralis.telemetry/1`: an instance's counters as its
//! audio side keeps them, for tools that know to ask (the benchmark's host and the test host).
//! A host that does not know the id never asks, and nothing changes for it.
//!
//! A host sees the device's xruns, but not a plugin that played a gap because its engine fell
//! behind: that shows only in Auralis's own underrun count (the editor's status line, the
//! monitor's `auralis_underruns_total`). Judging a realtime run by anything else (a silent
//! block, the time a call took) guesses, and a virtual machine that stalls a CPU for
//! milliseconds makes a guess from time wrong: the stall is counted as the calling thread's.
//!
//! ```c
//! typedef struct auralis_plugin_telemetry {
//!     // [thread-safe] Underruns the instance's audio side has played since the instance was
//!     // created: blocks it had to fade out because the engine's frames were not there in
//!     // time. May wait for a lock that only creating and destroying instances take: a host's
//!     // audio thread may read it between blocks while it creates and destroys none.
//!     uint64_t (*underruns)(const clap_plugin_t *plugin);
//! } auralis_plugin_telemetry_t;
//! ```
//!
//! Only instances made through the CLAP factory offer it; `get_extension` returns null for an
//! instance whose counters it does not know, so a host never reads a made-up zero.

use std::cell::Cell;
use std::ffi::{CStr, c_void};
use std::ptr;
use std::sync::Arc;

use clap_sys::plugin::clap_plugin;

use crate::realtime::Telemetry;

/// The extension's id.
pub const EXT_TELEMETRY: &CStr = c"audio.auralis.telemetry/1";

/// The extension's functions, laid out as the C struct above.
#[repr(C)]
pub struct PluginTelemetry {
    /// See the module's text.
    pub underruns: Option<unsafe extern "C" fn(plugin: *const clap_plugin) -> u64>,
}

static TELEMETRY: PluginTelemetry = PluginTelemetry {
    underruns: Some(underruns),
};

/// The extension, for `get_extension`.
pub(super) fn extension() -> *const c_void {
    ptr::from_ref(&TELEMETRY).cast()
}

thread_local! {
    /// Set by `create_plugin` around nice-plug's `Wrapper::new`, which makes the instance
    /// ([`Auralis::default`](crate::Auralis)) on the calling thread and keeps it private: only
    /// then does a new instance leave its counters in [`CREATED`]. VST3 instances, the
    /// standalone's and a test's own leave nothing behind.
    static CREATING: Cell<bool> = const { Cell::new(false) };
    /// The counters the instance being created left, as `Arc::into_raw`. Plain `Cell`s, so the
    /// thread-locals need no destructor: a destructor registered from this library would keep
    /// glibc from unloading it while the host's thread lives.
    static CREATED: Cell<*const Telemetry> = const { Cell::new(std::ptr::null()) };
}

/// Runs `create` (which makes one instance) and returns what it made with the counters the
/// instance left, if it left any.
pub(super) fn creating<T>(create: impl FnOnce() -> T) -> (T, Option<Arc<Telemetry>>) {
    take_created();
    CREATING.set(true);
    let made = create();
    CREATING.set(false);
    (made, take_created())
}

/// Called by every new instance with its counters; kept only while `create_plugin` waits for
/// them.
pub(crate) fn created(telemetry: &Arc<Telemetry>) {
    if CREATING.get() {
        drop(take_created());
        CREATED.set(Arc::into_raw(telemetry.clone()));
    }
}

fn take_created() -> Option<Arc<Telemetry>> {
    let raw = CREATED.replace(std::ptr::null());
    // SAFETY: a non-null value was made by `Arc::into_raw` in `created` and is taken once,
    // since it is replaced by null here.
    (!raw.is_null()).then(|| unsafe { Arc::from_raw(raw) })
}

/// Whether the instance `plugin` has counters to report.
pub(super) fn known(plugin: *const clap_plugin) -> bool {
    super::with_instance(plugin, |instance| instance.telemetry.is_some()).unwrap_or(false)
}

unsafe extern "C" fn underruns(plugin: *const clap_plugin) -> u64 {
    // Offered only to instances with counters (`known`), which keep them until `destroy`.
    super::with_instance(plugin, |instance| {
        instance.telemetry.as_ref().map(|t| t.underruns())
    })
    .flatten()
    .unwrap_or(0)
}
