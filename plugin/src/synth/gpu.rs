//! The GPU renderer: sums a block's partial oscillators with wgpu compute shaders
//! (`shaders/partials.wgsl`), matching [`super::CpuRenderer`] within 1e-4 per sample.
//!
//! It owns the process-wide GPU device ([`shared_device`], one per process, shared by every
//! plugin instance) and, per renderer, the pipelines and buffers ([`GpuRenderer`]). All of it
//! runs on engine threads: device creation, pipeline building and the per-block
//! submit-and-wait. None of it may run on the host's main or audio thread: creating a device
//! can take tens of milliseconds, and every block waits for the GPU (with a deadline).
//!
//! Failure is ordinary here. No adapter, a software-only adapter under
//! [`GpuSelection::Auto`], a lost device, a timeout or a wgpu validation error all come back
//! as values ([`GpuError`] at set-up, [`super::RenderError`] per block); the renderer then
//! stays failed and the [`super::RendererChain`] renders on the CPU from that block on.

mod buffers;
mod device;
mod fault;
mod layout;
mod pipelines;
mod readback;
mod render;
mod scopes;
#[cfg(test)]
mod tests;

pub use device::{DeviceHealth, SharedGpu, choose_adapter, is_software, shared_device};
#[cfg(test)]
pub use fault::{FaultInjector, GpuFault};
pub use layout::{BlockParams, GpuCapacity, MAX_FRAMES};
pub use render::{DEFAULT_TIMEOUT, GpuRenderer};

/// Which adapters the GPU renderer may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpuSelection {
    /// Hardware only: a software rasteriser (lavapipe, llvmpipe, SwiftShader) is slower than
    /// the CPU renderer, so it is refused and the CPU renders instead.
    Auto,
    /// Any adapter, software included: for tests, benchmarks and users who insist.
    Force,
}

/// Why the GPU renderer could not be set up. Each one means: render on the CPU.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter at all: no GPU, no driver, or no Vulkan/Metal/DX12 loader.
    #[error("no GPU adapter found (no Vulkan, Metal or DX12 driver)")]
    NoAdapter,
    /// Only software adapters, refused by [`GpuSelection::Auto`].
    #[error("only software GPU adapters found ({0}); the CPU renderer is faster")]
    OnlySoftware(String),
    /// The chosen adapter cannot run compute shaders.
    #[error("the GPU adapter {0} cannot run compute shaders")]
    NoCompute(String),
    /// The driver refused to create a device.
    #[error("the GPU driver refused to create a device: {0}")]
    RequestDevice(#[from] wgpu::RequestDeviceError),
    /// The device was lost before the renderer could use it.
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    /// wgpu rejected the shader, a pipeline or a buffer.
    #[error("setting up the GPU renderer failed: {0}")]
    Setup(String),
    /// A block needs a buffer larger than the device allows.
    #[error(
        "a block of {frames} frames × {partials} partials needs a {bytes}-byte GPU buffer; \
         the device allows {limit}"
    )]
    BlockTooLarge {
        /// Frames of the block's capacity.
        frames: usize,
        /// Partials of the block's capacity.
        partials: usize,
        /// Bytes of the largest buffer needed.
        bytes: u64,
        /// The device's largest storage buffer.
        limit: u64,
    },
}
