//! [`GpuRenderer`]: one block of partials per submit, read back synchronously.
//!
//! Runs on the engine thread, which renders ahead of the audio thread; each `render` call
//! writes the block into buffers built beforehand, encodes both passes, submits, waits with a
//! deadline and copies the result out. One block in flight at a time, so results come back in
//! order and the wait is bounded. Never called from the host's audio thread: it blocks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use super::buffers::BlockBuffers;
use super::device::{SharedGpu, shared_device};
use super::fault::{ArmedFault, FaultSwitch};
use super::layout::{
    BlockParams, CHUNK_PARTIALS, GpuCapacity, MAX_FRAMES, WORKGROUP_FRAMES, chunks_for,
};
use super::pipelines::Pipelines;
use super::readback::{self, MAP_DONE, MAP_FAILED, MAP_PENDING};
use super::scopes::{ErrorScopes, one_line, render_error};
use super::{GpuError, GpuSelection};
use crate::synth::block::PartialBlock;
use crate::synth::renderer::{RenderError, Renderer, RendererKind};

/// How long a block may take before the renderer gives up on the GPU: several times a usual
/// engine block (1024 frames at 48 kHz ≈ 21 ms), and within the engine's lead over the audio.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);

/// Renders [`PartialBlock`]s with wgpu compute shaders (`shaders/partials.wgsl`).
///
/// Matches [`crate::synth::CpuRenderer`] within 1e-4 per sample. After its first error it
/// stays failed and returns that error for every later block, so a
/// [`crate::synth::RendererChain`] moves to the CPU for good.
pub struct GpuRenderer {
    /// The device, shared with the other instances in the process.
    gpu: Arc<SharedGpu>,
    /// Both compute pipelines, built once.
    pipelines: Pipelines,
    /// This renderer's buffers and bind group; replaced only when a block outgrows them.
    buffers: BlockBuffers,
    /// Written by the staging buffer's map callback, read by the wait.
    map_state: Arc<AtomicU8>,
    /// The longest wait for one block.
    timeout: Duration,
    /// The first error, returned again for every later block.
    failure: Option<RenderError>,
    /// The device's uncaptured-error count when last checked.
    uncaptured_seen: u64,
    /// Faults armed by tests; always disarmed in a shipped plugin.
    faults: FaultSwitch,
}

impl GpuRenderer {
    /// A renderer on the process-wide device for `selection` ([`shared_device`]). Call it
    /// from the engine thread: the first renderer in the process creates the device.
    ///
    /// # Errors
    /// A [`GpuError`] when no adapter qualifies or the device or pipelines cannot be set up;
    /// the caller then renders on the CPU.
    pub fn new(selection: GpuSelection) -> Result<Self, GpuError> {
        Self::with_shared(shared_device(selection)?)
    }

    /// A renderer on a device the caller created (tests, an embedding app): any adapter works,
    /// software ones included. Installs the error and device-lost callbacks on `device`.
    ///
    /// # Errors
    /// As [`GpuRenderer::with_shared`].
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        adapter_info: wgpu::AdapterInfo,
    ) -> Result<Self, GpuError> {
        Self::with_shared(SharedGpu::from_device(device, queue, adapter_info))
    }

    /// A renderer with buffers of its own on `gpu`.
    ///
    /// # Errors
    /// [`GpuError::DeviceLost`] for a lost device, [`GpuError::Setup`] when wgpu rejects the
    /// shader, pipelines or buffers.
    pub fn with_shared(gpu: Arc<SharedGpu>) -> Result<Self, GpuError> {
        if gpu.health().is_lost() {
            return Err(GpuError::DeviceLost(gpu.health().lost_reason()));
        }
        let device = gpu.device();
        let scopes = ErrorScopes::push(device);
        let pipelines = Pipelines::new(device);
        let buffers = BlockBuffers::new(device, &pipelines, GpuCapacity::default());
        if let Some(error) = scopes.pop() {
            return Err(GpuError::Setup(one_line(&error.to_string())));
        }
        Ok(Self {
            uncaptured_seen: gpu.health().uncaptured_count(),
            buffers: buffers?,
            pipelines,
            gpu,
            map_state: Arc::new(AtomicU8::new(MAP_PENDING)),
            timeout: DEFAULT_TIMEOUT,
            failure: None,
            faults: FaultSwitch::default(),
        })
    }

    /// The device this renderer uses.
    pub fn shared(&self) -> &Arc<SharedGpu> {
        &self.gpu
    }

    /// What the adapter says it is.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        self.gpu.adapter_info()
    }

    /// The largest block the buffers hold now.
    pub fn capacity(&self) -> GpuCapacity {
        self.buffers.capacity
    }

    /// Grows the buffers for blocks of up to `frames` × `partials` now, so the first such block
    /// does not pay for it. Never shrinks.
    ///
    /// # Errors
    /// [`GpuError::BlockTooLarge`] past the device's limits, [`GpuError::Setup`] when wgpu
    /// rejects the allocation.
    pub fn reserve(&mut self, frames: usize, partials: usize) -> Result<(), GpuError> {
        if self.buffers.capacity.fits(frames, partials) {
            return Ok(());
        }
        let capacity = self.buffers.capacity.grown_to(frames, partials);
        let device = self.gpu.device();
        let scopes = ErrorScopes::push(device);
        let buffers = BlockBuffers::new(device, &self.pipelines, capacity);
        if let Some(error) = scopes.pop() {
            return Err(GpuError::Setup(one_line(&error.to_string())));
        }
        self.buffers = buffers?;
        Ok(())
    }

    /// The longest wait for one block.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sets the longest wait for one block; past it `render` fails with
    /// [`RenderError::Timeout`]. Engines that know their sample rate may use e.g. four block
    /// durations; offline renders on slow adapters, seconds.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The error that made this renderer stop, if any.
    pub fn failure(&self) -> Option<&RenderError> {
        self.failure.as_ref()
    }

    /// A handle that makes this renderer fail on demand, usable while the renderer sits in a
    /// chain. Unit tests only.
    #[cfg(test)]
    pub fn fault_injector(&self) -> super::FaultInjector {
        super::FaultInjector::new(self.faults.clone(), self.gpu.device().clone())
    }

    /// Makes this renderer fail with `fault`; see [`super::GpuFault`]. Unit tests only.
    #[cfg(test)]
    pub fn inject_fault(&mut self, fault: super::GpuFault) {
        self.fault_injector().inject(fault);
    }

    /// Renders one block: upload, two passes, copy to staging, submit, wait, read back.
    fn render_block(
        &mut self,
        block: &PartialBlock,
        left: &mut [f32],
        right: &mut [f32],
    ) -> Result<(), RenderError> {
        self.check_health()?;
        let frames = block.frames.min(left.len()).min(right.len());
        let partials = block.partials.len();
        if frames == 0 {
            return Ok(());
        }
        if partials == 0 {
            left[..frames].fill(0.0);
            right[..frames].fill(0.0);
            return Ok(());
        }
        let (chunks, max_groups) = self.dispatch_size(frames, partials)?;
        self.reserve(frames, partials)
            .map_err(|err| RenderError::Backend(err.to_string()))?;
        let fault = self.faults.take();

        let (device, queue, buffers) = (self.gpu.device(), self.gpu.queue(), &self.buffers);
        let scopes = ErrorScopes::push(device);
        let params = BlockParams::new(frames, partials);
        queue.write_buffer(&buffers.params, 0, bytemuck::bytes_of(&params));
        queue.write_buffer(&buffers.partials, 0, bytemuck::cast_slice(&block.partials));
        // A validation fault dispatches beyond the device's limit, as a real bug would.
        let extra_groups = (fault == ArmedFault::Validation).then_some(max_groups + 1);
        let commands = self.encode(frames, chunks, extra_groups);
        let submission = queue.submit([commands]);
        self.start_readback(frames);
        if let Some(error) = scopes.pop() {
            return Err(render_error(error));
        }
        if fault == ArmedFault::Timeout {
            // As a real timeout leaves it: the work in flight and the map pending.
            return Err(RenderError::Timeout(self.timeout.as_millis() as u64));
        }
        readback::wait_for_map(
            device,
            submission,
            &self.map_state,
            self.gpu.health(),
            self.timeout,
        )?;
        readback::copy_out(&self.buffers.staging, frames, left, right)?;
        self.check_health()
    }

    /// The chunks of partials a block of `partials` is summed in, and the device's limit on
    /// workgroups per dimension; an error for a block beyond the renderer.
    fn dispatch_size(&self, frames: usize, partials: usize) -> Result<(usize, u32), RenderError> {
        let chunks = chunks_for(partials);
        let max_groups = self
            .gpu
            .device()
            .limits()
            .max_compute_workgroups_per_dimension;
        if frames > MAX_FRAMES || chunks > max_groups as usize {
            return Err(RenderError::Backend(format!(
                "a block of {frames} frames × {partials} partials is beyond the GPU renderer \
                 ({MAX_FRAMES} frames, {} partials at most)",
                max_groups as usize * CHUNK_PARTIALS as usize
            )));
        }
        Ok((chunks, max_groups))
    }

    /// The block's commands: sum each chunk of partials per frame, mix the chunks, copy the
    /// output to the staging buffer. `extra_groups` adds a bogus dispatch (fault injection).
    fn encode(
        &self,
        frames: usize,
        chunks: usize,
        extra_groups: Option<u32>,
    ) -> wgpu::CommandBuffer {
        let buffers = &self.buffers;
        let mut encoder =
            self.gpu
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("auralis.gpu.block"),
                });
        let frame_groups = frames.div_ceil(WORKGROUP_FRAMES as usize) as u32;
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("auralis.gpu.pass.sum_chunks"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipelines.sum_chunks);
            pass.set_bind_group(0, &buffers.bind_group, &[]);
            pass.dispatch_workgroups(frame_groups, chunks as u32, 1);
        }
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("auralis.gpu.pass.mix_chunks"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipelines.mix_chunks);
            pass.set_bind_group(0, &buffers.bind_group, &[]);
            pass.dispatch_workgroups(frame_groups, 1, 1);
            if let Some(groups) = extra_groups {
                pass.dispatch_workgroups(groups, 1, 1);
            }
        }
        let bytes = (frames * 2 * size_of::<f32>()) as u64;
        encoder.copy_buffer_to_buffer(&buffers.output, 0, &buffers.staging, 0, bytes);
        encoder.finish()
    }

    /// Asks for the staging buffer's first `frames` stereo frames to be mapped once the GPU is
    /// done; `map_state` says when.
    fn start_readback(&self, frames: usize) {
        let bytes = (frames * 2 * size_of::<f32>()) as u64;
        self.map_state.store(MAP_PENDING, Ordering::Release);
        let map_state = Arc::clone(&self.map_state);
        self.buffers
            .staging
            .slice(..bytes)
            .map_async(wgpu::MapMode::Read, move |result| {
                let state = if result.is_ok() { MAP_DONE } else { MAP_FAILED };
                map_state.store(state, Ordering::Release);
            });
    }

    /// Fails when the device was lost or raised an error outside our scopes since last time.
    fn check_health(&mut self) -> Result<(), RenderError> {
        let health = self.gpu.health();
        if health.is_lost() {
            return Err(RenderError::DeviceLost(health.lost_reason()));
        }
        let uncaptured = health.uncaptured_count();
        if uncaptured != self.uncaptured_seen {
            self.uncaptured_seen = uncaptured;
            return Err(RenderError::Backend(format!(
                "GPU error outside the renderer: {}",
                health.last_uncaptured()
            )));
        }
        Ok(())
    }

    /// The error to report for `error`: a lost device explains any other symptom, so it wins.
    fn classify(&self, error: RenderError) -> RenderError {
        // Lets wgpu run a pending device-lost callback (it fires from a poll).
        let _ = readback::poll_device(self.gpu.device(), wgpu::PollType::Poll);
        let health = self.gpu.health();
        match error {
            RenderError::DeviceLost(_) => error,
            _ if health.is_lost() => RenderError::DeviceLost(health.lost_reason()),
            _ => error,
        }
    }
}

impl Renderer for GpuRenderer {
    fn kind(&self) -> RendererKind {
        RendererKind::Gpu
    }

    fn describe(&self) -> String {
        self.gpu.describe()
    }

    fn render(
        &mut self,
        block: &PartialBlock,
        left: &mut [f32],
        right: &mut [f32],
    ) -> Result<(), RenderError> {
        if let Some(failure) = &self.failure {
            return Err(duplicate(failure));
        }
        self.render_block(block, left, right).map_err(|error| {
            let error = self.classify(error);
            self.failure = Some(duplicate(&error));
            error
        })
    }
}

impl std::fmt::Debug for GpuRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuRenderer")
            .field("adapter", &self.gpu.describe())
            .field("capacity", &self.buffers.capacity)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

/// A copy of `error` (`RenderError` is not `Clone`).
fn duplicate(error: &RenderError) -> RenderError {
    match error {
        RenderError::DeviceLost(reason) => RenderError::DeviceLost(reason.clone()),
        RenderError::OutOfMemory => RenderError::OutOfMemory,
        RenderError::Timeout(ms) => RenderError::Timeout(*ms),
        RenderError::Backend(message) => RenderError::Backend(message.clone()),
    }
}

// The engine moves renderers onto its thread.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<GpuRenderer>();
};
