//! The process's GPU device: adapter choice, device creation, and the health flags that
//! wgpu's callbacks write.
//!
//! One device per process is shared by every plugin instance ([`shared_device`]); each
//! [`super::GpuRenderer`] owns its own buffers on it. Creating a device enumerates drivers and
//! compiles nothing yet, but can still take tens of milliseconds: call these functions from an
//! engine thread, never from the host's main or audio thread. Nothing here panics on a missing
//! or failing GPU; every failure is a [`GpuError`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::{GpuError, GpuSelection};

/// A device and its queue, shared by the renderers of every plugin instance in the process.
pub struct SharedGpu {
    /// The logical device; every renderer builds its pipelines and buffers on it.
    device: wgpu::Device,
    /// The device's only queue; renderers submit one block at a time each.
    queue: wgpu::Queue,
    /// What the adapter says it is, for `describe()` and status reports.
    info: wgpu::AdapterInfo,
    /// Written by the device's lost and uncaptured-error callbacks, read by the renderers.
    health: Arc<DeviceHealth>,
}

/// What wgpu's callbacks report about the device; they may run on any thread.
#[derive(Debug, Default)]
pub struct DeviceHealth {
    /// Set once the device is lost (driver reset, `destroy`, out of memory in the driver).
    lost: AtomicBool,
    /// Why the device was lost, when it was.
    lost_reason: Mutex<Option<String>>,
    /// Errors raised outside any error scope. The renderers scope all their own work, so a
    /// change in this count means something is wrong with the device itself.
    uncaptured: AtomicU64,
    /// The most recent uncaptured error.
    last_uncaptured: Mutex<Option<String>>,
}

impl DeviceHealth {
    /// Whether the device has been lost.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Why the device was lost, or a generic reason when the callback gave none.
    pub fn lost_reason(&self) -> String {
        let reason = self
            .lost_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        reason.clone().unwrap_or_else(|| "device lost".into())
    }

    /// How many errors arrived outside any error scope so far.
    pub fn uncaptured_count(&self) -> u64 {
        self.uncaptured.load(Ordering::Acquire)
    }

    /// The most recent error that arrived outside any error scope.
    pub fn last_uncaptured(&self) -> String {
        let last = self
            .last_uncaptured
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last.clone().unwrap_or_default()
    }

    fn record_lost(&self, reason: wgpu::DeviceLostReason, message: String) {
        let text = if message.is_empty() {
            format!("device lost ({reason:?})")
        } else {
            format!("device lost ({reason:?}): {message}")
        };
        *self
            .lost_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(text);
        self.lost.store(true, Ordering::Release);
    }

    fn record_uncaptured(&self, error: wgpu::Error) {
        *self
            .last_uncaptured
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error.to_string());
        self.uncaptured.fetch_add(1, Ordering::AcqRel);
    }
}

impl SharedGpu {
    /// Wraps a device someone else created (tests, an embedding app) and installs the error and
    /// device-lost callbacks, replacing any the caller set: wgpu's default error handler panics.
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
    ) -> Arc<Self> {
        let health = Arc::new(DeviceHealth::default());
        let on_error = Arc::clone(&health);
        device.on_uncaptured_error(Arc::new(move |error| on_error.record_uncaptured(error)));
        let on_lost = Arc::clone(&health);
        device
            .set_device_lost_callback(move |reason, message| on_lost.record_lost(reason, message));
        Arc::new(Self {
            device,
            queue,
            info,
            health,
        })
    }

    /// A new device of its own (not the process-wide one): the best adapter that `selection`
    /// allows. Prefer [`shared_device`]; this is for tests that must not disturb other users.
    ///
    /// # Errors
    /// [`GpuError::NoAdapter`] or [`GpuError::OnlySoftware`] when no adapter qualifies,
    /// [`GpuError::RequestDevice`] when the driver refuses a device.
    pub fn create(selection: GpuSelection) -> Result<Arc<Self>, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            // Vulkan, Metal, DX12. WGPU_BACKEND may narrow it for debugging.
            backends: wgpu::Backends::PRIMARY.with_env(),
            flags: wgpu::InstanceFlags::from_build_config().with_env(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let infos: Vec<_> = adapters.iter().map(wgpu::Adapter::get_info).collect();
        let Some(index) = choose_adapter(&infos, selection) else {
            let software: Vec<_> = infos
                .iter()
                .filter(|info| is_software(info))
                .map(|info| info.name.clone())
                .collect();
            return Err(if software.is_empty() {
                GpuError::NoAdapter
            } else {
                GpuError::OnlySoftware(software.join(", "))
            });
        };
        let adapter = &adapters[index];
        let downlevel = adapter.get_downlevel_capabilities();
        if !downlevel
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(GpuError::NoCompute(infos[index].name.clone()));
        }
        let supported = adapter.limits();
        // WebGPU's downlevel limits cover our 4 bindings and 64-wide workgroups on any
        // hardware; only the buffer sizes are raised to what the adapter allows, so blocks can
        // grow as far as the hardware lets them.
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: supported.max_storage_buffer_binding_size,
            max_buffer_size: supported.max_buffer_size,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                label: Some("auralis.gpu.device"),
                required_features: wgpu::Features::empty(),
                required_limits,
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::MemoryUsage,
                trace: wgpu::Trace::Off,
            }))?;
        Ok(Self::from_device(device, queue, infos[index].clone()))
    }

    /// The logical device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// What the adapter says it is.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The flags wgpu's callbacks write.
    pub fn health(&self) -> &DeviceHealth {
        &self.health
    }

    /// Adapter name, backend and kind, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (vulkan,
    /// software)`.
    pub fn describe(&self) -> String {
        let kind = match self.info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "software",
            wgpu::DeviceType::Other => "other",
        };
        format!(
            "{} ({}, {kind})",
            self.info.name,
            self.info.backend.to_str()
        )
    }
}

impl std::fmt::Debug for SharedGpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedGpu")
            .field("adapter", &self.describe())
            .field("lost", &self.health.is_lost())
            .finish_non_exhaustive()
    }
}

/// The devices currently shared, one per selection. Weak, so the device goes away with the
/// last renderer that used it, and a lost device is replaced by the next caller.
struct SharedSlots {
    auto: Weak<SharedGpu>,
    force: Weak<SharedGpu>,
}

static SHARED: Mutex<SharedSlots> = Mutex::new(SharedSlots {
    auto: Weak::new(),
    force: Weak::new(),
});

/// The process-wide device for `selection`, created on first use and shared while any
/// renderer holds it. Call it from an engine thread: the first call creates the device.
///
/// # Errors
/// As [`SharedGpu::create`]. A failure is not cached: a later call tries again.
pub fn shared_device(selection: GpuSelection) -> Result<Arc<SharedGpu>, GpuError> {
    // Held across creation so that two instances starting together get one device.
    let mut slots = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    let slot = match selection {
        GpuSelection::Auto => &mut slots.auto,
        GpuSelection::Force => &mut slots.force,
    };
    if let Some(gpu) = slot.upgrade().filter(|gpu| !gpu.health.is_lost()) {
        return Ok(gpu);
    }
    let gpu = SharedGpu::create(selection)?;
    *slot = Arc::downgrade(&gpu);
    Ok(gpu)
}

/// Whether an adapter is a software rasteriser (lavapipe, llvmpipe, SwiftShader, WARP), by its
/// type or, since GL drivers report llvmpipe as `Other`, by its name.
pub fn is_software(info: &wgpu::AdapterInfo) -> bool {
    const SOFTWARE_NAMES: [&str; 5] = [
        "llvmpipe",
        "lavapipe",
        "softpipe",
        "swiftshader",
        "microsoft basic render",
    ];
    let name = info.name.to_lowercase();
    let driver = info.driver.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || SOFTWARE_NAMES
            .iter()
            .any(|soft| name.contains(soft) || driver.contains(soft))
}

/// The index of the best adapter in `infos` for `selection`, if any qualifies: discrete before
/// integrated before virtual before other, software last and only when forced.
pub fn choose_adapter(infos: &[wgpu::AdapterInfo], selection: GpuSelection) -> Option<usize> {
    let rank = |info: &wgpu::AdapterInfo| {
        if is_software(info) {
            return 4;
        }
        match info.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other | wgpu::DeviceType::Cpu => 3,
        }
    };
    infos
        .iter()
        .enumerate()
        .filter(|(_, info)| selection == GpuSelection::Force || !is_software(info))
        .min_by_key(|(_, info)| rank(info))
        .map(|(index, _)| index)
}
