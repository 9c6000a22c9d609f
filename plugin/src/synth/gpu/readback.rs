//! Waiting for a submitted block and copying its result out of the staging buffer.
//!
//! This is the one place that blocks on the GPU, with a deadline. It runs on the engine thread
//! inside `GpuRenderer::render`; it must never be reachable from the host's audio thread.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::device::DeviceHealth;
use crate::synth::renderer::RenderError;

/// Map state values written by the `map_async` callback.
pub const MAP_PENDING: u8 = 0;
/// The staging buffer is mapped and readable.
pub const MAP_DONE: u8 = 1;
/// wgpu could not map the staging buffer (device lost, buffer destroyed).
pub const MAP_FAILED: u8 = 2;

/// Polls `device` until the map callback has set `state`, `health` reports a lost device or
/// `timeout` has passed.
///
/// # Errors
/// [`RenderError::Timeout`], [`RenderError::DeviceLost`], or [`RenderError::Backend`] when the
/// map failed or the poll reported something else.
pub fn wait_for_map(
    device: &wgpu::Device,
    submission: wgpu::SubmissionIndex,
    state: &AtomicU8,
    health: &DeviceHealth,
    timeout: Duration,
) -> Result<(), RenderError> {
    let deadline = Instant::now() + timeout;
    let timed_out = || RenderError::Timeout(timeout.as_millis() as u64);
    let mut waited = false;
    loop {
        match state.load(Ordering::Acquire) {
            MAP_DONE => return Ok(()),
            MAP_FAILED => {
                return Err(RenderError::Backend(
                    "the GPU result could not be mapped for reading".into(),
                ));
            }
            _ => {}
        }
        if health.is_lost() {
            return Err(RenderError::DeviceLost(health.lost_reason()));
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timed_out());
        }
        // One blocking wait for our submission; the map callback runs inside that poll. Should
        // it not have, further polls only collect callbacks, until the deadline.
        let poll = if waited {
            std::thread::yield_now();
            wgpu::PollType::Poll
        } else {
            wgpu::PollType::Wait {
                submission_index: Some(submission.clone()),
                timeout: Some(remaining),
            }
        };
        waited = true;
        match poll_device(device, poll) {
            Ok(()) => {}
            Err(PollFailure::Timeout) => return Err(timed_out()),
            Err(PollFailure::Other(message)) => return Err(RenderError::Backend(message)),
            Err(PollFailure::Panicked(message)) => return Err(RenderError::DeviceLost(message)),
        }
    }
}

/// Why a poll did not succeed.
pub enum PollFailure {
    /// The wait's timeout passed.
    Timeout,
    /// wgpu reported another poll error.
    Other(String),
    /// wgpu panicked inside `poll`.
    Panicked(String),
}

/// `device.poll`, with wgpu's panics turned into values.
///
/// wgpu 30 panics inside `Device::poll` when the driver reports an error while waiting (e.g.
/// `VK_ERROR_DEVICE_LOST`) instead of returning it. A lost GPU must fall back to the CPU, not
/// take the host down, so this is the one call we guard with `catch_unwind` (it needs
/// `panic = "unwind"`, the default). The panic message still goes through the panic hook.
pub fn poll_device(device: &wgpu::Device, poll: wgpu::PollType) -> Result<(), PollFailure> {
    match catch_unwind(AssertUnwindSafe(|| device.poll(poll))) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(wgpu::PollError::Timeout)) => Err(PollFailure::Timeout),
        Ok(Err(other)) => Err(PollFailure::Other(format!(
            "waiting for the GPU failed: {other}"
        ))),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(PollFailure::Panicked(format!(
                "wgpu failed while waiting: {message}"
            )))
        }
    }
}

/// Copies `frames` frames of planar stereo out of the mapped `staging` buffer, then unmaps it.
///
/// # Errors
/// [`RenderError::Backend`] when the mapped range cannot be read as `f32`s.
pub fn copy_out(
    staging: &wgpu::Buffer,
    frames: usize,
    left: &mut [f32],
    right: &mut [f32],
) -> Result<(), RenderError> {
    let bytes = (frames * 2 * size_of::<f32>()) as u64;
    let copied = read_planes(staging.slice(..bytes), frames, left, right);
    // Unmapped whatever happened, so the buffer is never left mapped.
    staging.unmap();
    copied
}

fn read_planes(
    slice: wgpu::BufferSlice<'_>,
    frames: usize,
    left: &mut [f32],
    right: &mut [f32],
) -> Result<(), RenderError> {
    let view = slice
        .get_mapped_range()
        .map_err(|err| RenderError::Backend(format!("reading the GPU result failed: {err}")))?;
    let samples: &[f32] = bytemuck::try_cast_slice(&view)
        .map_err(|err| RenderError::Backend(format!("the GPU result is not f32s: {err}")))?;
    let (left_plane, right_plane) = samples.split_at(frames);
    left[..frames].copy_from_slice(left_plane);
    right[..frames].copy_from_slice(&right_plane[..frames]);
    Ok(())
}
