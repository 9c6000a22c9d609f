//! Auralis's own CLAP extension, `audio.auralis.telemetry/1` (the plugin's
//! `clap_export/telemetry.rs` holds its contract): the instance's own count of underruns, which
//! no standard extension reports.

use std::ffi::{CStr, c_void};

use anyhow::{Context, Result};
use clack_host::extensions::prelude::*;

/// The extension's functions, as the plugin lays them out.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RawTelemetry {
    underruns: Option<unsafe extern "C" fn(plugin: *const c_void) -> u64>,
}

/// The plugin side of the extension.
#[derive(Clone, Copy)]
pub struct PluginTelemetry(RawExtension<PluginExtensionSide, RawTelemetry>);

// SAFETY: `RawTelemetry` is repr(C) and laid out as the plugin's `PluginTelemetry`, the struct
// behind this id.
unsafe impl Extension for PluginTelemetry {
    const IDENTIFIERS: &'static [&'static CStr] = &[c"audio.auralis.telemetry/1"];
    type ExtensionSide = PluginExtensionSide;

    unsafe fn from_raw(raw: RawExtension<Self::ExtensionSide>) -> Self {
        // SAFETY: the caller guarantees that the pointer is of the extension of this id.
        Self(unsafe { raw.cast() })
    }
}

/// Underruns the instance `plugin` has played since it was created, through `extension`, the
/// plugin's telemetry extension if it has one.
///
/// # Errors
/// If the plugin has no telemetry extension or no underrun count in it (it is not Auralis).
pub fn underruns(extension: Option<PluginTelemetry>, plugin: &PluginSharedHandle) -> Result<u64> {
    extension
        .context("the plugin has no telemetry extension")?
        .underruns(plugin)
        .context("the plugin's telemetry extension has no underrun count")
}

impl PluginTelemetry {
    /// Underruns the instance has played since it was created, if the plugin implements the
    /// function.
    fn underruns(&self, plugin: &PluginSharedHandle) -> Option<u64> {
        let underruns = plugin.use_extension(&self.0).underruns?;
        // SAFETY: the plugin's own function, called with its own instance. It is thread-safe;
        // it may wait for a lock that only creating and destroying instances take, which a
        // caller on an audio thread does not do meanwhile.
        Some(unsafe { underruns(plugin.as_raw_ptr().cast()) })
    }
}
