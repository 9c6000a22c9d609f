//! Fault injection: makes a working GPU renderer fail on demand, mid-stream, so the fallback
//! to the CPU can be tested on any machine, lavapipe included.
//!
//! The switch is a single atomic the renderer reads once per block on the engine thread; the
//! way to arm it ([`FaultInjector`], [`GpuFault`]) exists only in the crate's own
//! unit tests, never in a shipped plugin.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// What the next block should do wrong, as the renderer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmedFault {
    /// Nothing: render normally.
    None,
    /// Treat the wait for the block as timed out, leaving the GPU work in flight.
    Timeout,
    /// Encode a dispatch over the device's limits, so wgpu reports a real validation error.
    Validation,
}

/// The armed fault, shared between a renderer and its injectors.
#[derive(Debug, Default, Clone)]
pub struct FaultSwitch(Arc<AtomicU8>);

const NONE: u8 = 0;
const TIMEOUT: u8 = 1;
const VALIDATION: u8 = 2;

impl FaultSwitch {
    /// The armed fault, disarming it: each injection hits exactly one block.
    pub fn take(&self) -> ArmedFault {
        match self.0.swap(NONE, Ordering::AcqRel) {
            TIMEOUT => ArmedFault::Timeout,
            VALIDATION => ArmedFault::Validation,
            _ => ArmedFault::None,
        }
    }

    #[cfg(test)]
    fn arm(&self, code: u8) {
        self.0.store(code, Ordering::Release);
    }
}

/// A failure to inject into a [`super::GpuRenderer`].
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuFault {
    /// Destroys the device for real (`wgpu::Device::destroy`): every renderer on it fails
    /// from its next block on with [`crate::synth::RenderError::DeviceLost`]. Use a device of
    /// the test's own ([`super::SharedGpu::create`]), not the process-wide one.
    DeviceLost,
    /// The next block's wait ends as if its deadline had passed, with the GPU work still in
    /// flight: [`crate::synth::RenderError::Timeout`].
    Timeout,
    /// The next block includes a dispatch larger than the device allows; wgpu's validation
    /// rejects the command buffer: [`crate::synth::RenderError::Backend`].
    Validation,
}

/// Arms faults in a renderer that someone else owns (e.g. inside a `RendererChain`).
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct FaultInjector {
    /// The renderer's switch.
    switch: FaultSwitch,
    /// The renderer's device, to destroy it.
    device: wgpu::Device,
}

#[cfg(test)]
impl FaultInjector {
    pub(super) fn new(switch: FaultSwitch, device: wgpu::Device) -> Self {
        Self { switch, device }
    }

    /// Makes the renderer fail with `fault` (at once for [`GpuFault::DeviceLost`], at its next
    /// block otherwise).
    pub fn inject(&self, fault: GpuFault) {
        match fault {
            GpuFault::DeviceLost => self.device.destroy(),
            GpuFault::Timeout => self.switch.arm(TIMEOUT),
            GpuFault::Validation => self.switch.arm(VALIDATION),
        }
    }
}
