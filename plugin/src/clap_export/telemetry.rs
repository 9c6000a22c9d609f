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
//!     // [thread-safe, not audio-thread] Underruns the instance's audio side has played since
//!     // the instance was created: blocks it had to fade out because the engine's frames
//!     // were not there in time.
//!     uint64_t (*underruns)(const clap_plugin_t *plugin);
//! } auralis_plugin_telemetry_t;
//! ```

use std::cell::RefCell;
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
    /// The counters of the instance [`Auralis::default`](crate::Auralis) made last on this
    /// thread. nice-plug's `Wrapper::new` makes the instance on the calling thread and keeps
    /// it private, so `create_plugin` takes the counters from here right after.
    static CREATED: RefCell<Option<Arc<Telemetry>>> = const { RefCell::new(None) };
}

/// Called by every new instance with its counters.
pub(crate) fn created(telemetry: &Arc<Telemetry>) {
    CREATED.with_borrow_mut(|created| *created = Some(telemetry.clone()));
}

/// The counters of the instance made on this thread since the last call, if any.
pub(super) fn take_created() -> Option<Arc<Telemetry>> {
    CREATED.with_borrow_mut(Option::take)
}

unsafe extern "C" fn underruns(plugin: *const clap_plugin) -> u64 {
    super::with_instance(plugin, |instance| {
        instance.telemetry.as_ref().map(|t| t.underruns())
    })
    .flatten()
    .unwrap_or(0)
}
