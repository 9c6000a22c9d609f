//! The synthesizer: notes in, stereo audio out, on the engine thread.
//!
//! Tonal voices are additive ([`voice`]): each is a set of partials (frequency ratio, amplitude,
//! decay) under an envelope, with slow detune and pan motion, and Brightness as a spectral tilt
//! per partial. Every block, the [`allocator`] turns its voices into one flat list of partial
//! oscillators ([`block::PartialBlock`]: start phase, phase increment, amplitude ramps), computed
//! in f64 on this side so that phases never drift; a [`Renderer`] sums them into stereo. The CPU
//! renderer ([`cpu`]) and the GPU renderer render the same list, so they agree to a tolerance.
//! Percussion, the air (a band of breath noise that follows the bed) and the master effects are
//! serial in time and stay on the CPU.
//!
//! Nothing here runs on the host's audio thread; still, nothing allocates per block, so the
//! engine's speed does not depend on the allocator.

pub mod air;
pub mod allocator;
pub mod block;
pub mod cpu;
pub mod effects;
pub mod gpu;
pub mod instrument;
pub mod percussion;
pub mod renderer;
mod turns;
pub mod voice;

pub use allocator::{NoteRequest, VoiceAllocator};
pub use block::{PartialBlock, PartialParams};
pub use cpu::{CpuRenderer, SimdPath};
pub use gpu::{GpuError, GpuRenderer, GpuSelection, SharedGpu, shared_device};
pub use instrument::{Instrument, InstrumentId};
pub use renderer::{
    RenderError, Renderer, RendererChain, RendererChoice, RendererKind, SilentRenderer,
};
