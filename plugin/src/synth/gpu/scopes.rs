//! wgpu error scopes around each unit of GPU work, so errors come back as values attributed to
//! the renderer that caused them, even on a device shared by many plugin instances.
//!
//! Scopes are per thread in wgpu; a renderer pushes and pops them on its engine thread within
//! one call. Popping resolves at once on native backends.

use crate::synth::renderer::RenderError;

/// Out-of-memory, validation and internal scopes, pushed in that reverse order.
pub struct ErrorScopes {
    // Field order is drop order: innermost first, as wgpu requires when a scope is dropped
    // unpopped on an early return.
    /// Innermost: out-of-memory errors.
    oom: wgpu::ErrorScopeGuard,
    /// Validation errors (bad dispatch, bad binding, a destroyed resource in use).
    validation: wgpu::ErrorScopeGuard,
    /// Outermost: internal errors (e.g. a shader the driver failed to compile).
    internal: wgpu::ErrorScopeGuard,
}

impl ErrorScopes {
    /// Starts capturing errors on `device` for this thread.
    pub fn push(device: &wgpu::Device) -> Self {
        let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        Self {
            oom,
            validation,
            internal,
        }
    }

    /// Stops capturing; the first error caught, out-of-memory first.
    pub fn pop(self) -> Option<wgpu::Error> {
        let Self {
            oom,
            validation,
            internal,
        } = self;
        let oom = pollster::block_on(oom.pop());
        let validation = pollster::block_on(validation.pop());
        let internal = pollster::block_on(internal.pop());
        oom.or(validation).or(internal)
    }
}

/// The renderer's view of a wgpu error.
pub fn render_error(error: wgpu::Error) -> RenderError {
    match error {
        wgpu::Error::OutOfMemory { .. } => RenderError::OutOfMemory,
        wgpu::Error::Validation { description, .. } => {
            RenderError::Backend(format!("GPU validation error: {}", one_line(&description)))
        }
        wgpu::Error::Internal { description, .. } => {
            RenderError::Backend(format!("internal GPU error: {}", one_line(&description)))
        }
    }
}

/// wgpu's multi-line error tree ("Validation Error\n\nCaused by:\n  In a CommandEncoder…")
/// as one line for logs and status reports: the causes joined by ": ".
pub fn one_line(description: &str) -> String {
    let causes: Vec<_> = description
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "Caused by:")
        .collect();
    if causes.is_empty() {
        description.trim().to_owned()
    } else {
        causes.join(": ")
    }
}
