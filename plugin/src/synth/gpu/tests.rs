//! Tests of the GPU renderer on whatever adapter this machine has (lavapipe on CI), plus the
//! helpers they share: seeded partial sets, the f64 reference, error measures.
//!
//! They need a Vulkan adapter; `apt-get install mesa-vulkan-drivers` provides lavapipe. Set
//! `AURALIS_SKIP_GPU_TESTS=1` to skip the ones that need a device on a machine without one.

mod fallback;
mod parity;

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::synth::{CpuRenderer, PartialBlock, PartialParams, RenderError, Renderer, RendererKind};

/// Generous: tests check results, not speed, and lavapipe shares two cores with the others.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The process-wide forced device, or `None` when GPU tests are skipped on purpose.
fn forced_gpu() -> Option<Arc<SharedGpu>> {
    device_or_skip(shared_device(GpuSelection::Force))
}

/// A device of the test's own, for tests that destroy it.
fn private_gpu() -> Option<Arc<SharedGpu>> {
    device_or_skip(SharedGpu::create(GpuSelection::Force))
}

fn device_or_skip(result: Result<Arc<SharedGpu>, GpuError>) -> Option<Arc<SharedGpu>> {
    match result {
        Ok(gpu) => Some(gpu),
        Err(_) if std::env::var_os("AURALIS_SKIP_GPU_TESTS").is_some() => None,
        Err(err) => panic!(
            "GPU tests need a Vulkan adapter (apt-get install mesa-vulkan-drivers), \
             or AURALIS_SKIP_GPU_TESTS=1: {err}"
        ),
    }
}

fn renderer_on(gpu: Arc<SharedGpu>) -> GpuRenderer {
    let mut renderer = GpuRenderer::with_shared(gpu).expect("renderer set-up");
    renderer.set_timeout(TEST_TIMEOUT);
    renderer
}

/// SplitMix64: a seeded stream, so every failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

/// `count` partials with random phases, increments up to 0.45 (a quarter of them near it),
/// amplitudes summing to about 1 per channel and ramps that stay in range over `frames`.
fn random_block(rng: &mut Rng, count: usize, frames: usize) -> PartialBlock {
    let mut block = PartialBlock::with_capacity(count);
    block.clear(frames);
    let mean_amp = 1.0 / count.max(1) as f64;
    for _ in 0..count {
        let increment = if rng.unit() < 0.25 {
            rng.range(0.40, 0.45)
        } else {
            rng.range(1e-4, 0.45)
        };
        let amp_left = rng.range(0.0, 2.0 * mean_amp);
        let amp_right = rng.range(0.0, 2.0 * mean_amp);
        // Ends anywhere between 0 and twice the mean: fades in and out across the block.
        let ramp =
            |rng: &mut Rng, start: f64| (rng.range(0.0, 2.0 * mean_amp) - start) / frames as f64;
        block.partials.push(PartialParams {
            phase: rng.unit() as f32,
            increment: increment as f32,
            amp_left: amp_left as f32,
            amp_left_step: ramp(rng, amp_left) as f32,
            amp_right: amp_right as f32,
            amp_right_step: ramp(rng, amp_right) as f32,
        });
    }
    block
}

/// 40 voices × 24 harmonic partials, fundamentals 55–880 Hz at 48 kHz, 1/k spectra,
/// partials above 0.45 fs muted, amplitudes normalised to sum to 1 per channel.
fn voice_mix_block(rng: &mut Rng, frames: usize) -> PartialBlock {
    const VOICES: usize = 40;
    const PARTIALS: usize = 24;
    let mut block = PartialBlock::with_capacity(VOICES * PARTIALS);
    block.clear(frames);
    let mut raw = Vec::new();
    for _ in 0..VOICES {
        let fundamental_hz = 55.0 * 2f64.powf(rng.range(0.0, 4.0));
        let pan = rng.unit();
        let fade = rng.range(-0.5, 0.5);
        for k in 1..=PARTIALS {
            let increment = fundamental_hz * k as f64 / 48_000.0;
            let weight = if increment < 0.45 {
                1.0 / k as f64
            } else {
                0.0
            };
            raw.push((
                rng.unit(),
                increment,
                weight * (1.0 - pan),
                weight * pan,
                fade,
            ));
        }
    }
    let total_left: f64 = raw.iter().map(|p| p.2).sum();
    let total_right: f64 = raw.iter().map(|p| p.3).sum();
    for (phase, increment, left, right, fade) in raw {
        let (left, right) = (left / total_left, right / total_right);
        block.partials.push(PartialParams {
            phase: phase as f32,
            increment: increment as f32,
            amp_left: left as f32,
            amp_left_step: (left * fade / frames as f64) as f32,
            amp_right: right as f32,
            amp_right_step: (right * fade / frames as f64) as f32,
        });
    }
    block
}

/// The exact sum, `sin` in f64 (as `cpu.rs`'s own reference).
fn reference(block: &PartialBlock) -> (Vec<f32>, Vec<f32>) {
    let mut left = vec![0.0f64; block.frames];
    let mut right = vec![0.0f64; block.frames];
    for p in &block.partials {
        for i in 0..block.frames {
            let phase = p.phase as f64 + i as f64 * p.increment as f64;
            let s = (std::f64::consts::TAU * phase).sin();
            left[i] += s * (p.amp_left as f64 + i as f64 * p.amp_left_step as f64);
            right[i] += s * (p.amp_right as f64 + i as f64 * p.amp_right_step as f64);
        }
    }
    let narrow = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    (narrow(left), narrow(right))
}

fn render_with(
    renderer: &mut dyn Renderer,
    block: &PartialBlock,
) -> Result<(Vec<f32>, Vec<f32>), RenderError> {
    // Poisoned, so a renderer that skips a sample is caught.
    let mut left = vec![f32::NAN; block.frames];
    let mut right = vec![f32::NAN; block.frames];
    renderer.render(block, &mut left, &mut right)?;
    Ok((left, right))
}

fn cpu(block: &PartialBlock) -> (Vec<f32>, Vec<f32>) {
    render_with(&mut CpuRenderer::new(), block).expect("the CPU renderer cannot fail")
}

/// Largest absolute difference over both channels (NaN counts as infinitely wrong).
fn max_error(a: &(Vec<f32>, Vec<f32>), b: &(Vec<f32>, Vec<f32>)) -> f32 {
    assert_eq!(a.0.len(), b.0.len());
    auralis_checks::max_difference(&a.0, &b.0).max(auralis_checks::max_difference(&a.1, &b.1))
}

fn software(name: &str, device_type: wgpu::DeviceType) -> wgpu::AdapterInfo {
    wgpu::AdapterInfo {
        name: name.into(),
        vendor: 0,
        device: 0,
        device_type,
        device_pci_bus_id: String::new(),
        driver: String::new(),
        driver_info: String::new(),
        backend: wgpu::Backend::Vulkan,
        subgroup_min_size: 4,
        subgroup_max_size: 64,
        transient_saves_memory: None,
        limit_bucket: None,
    }
}

#[test]
fn auto_refuses_software_adapters_and_force_takes_them_last() {
    use wgpu::DeviceType::*;
    let lavapipe = software("llvmpipe (LLVM 15.0.6, 256 bits)", Cpu);
    // GL drivers report llvmpipe as `Other`: the name gives it away.
    let gl_llvmpipe = software("llvmpipe (LLVM 15.0.6, 256 bits)", Other);
    let discrete = software("AMD Radeon RX 7600", DiscreteGpu);
    let integrated = software("Intel(R) UHD Graphics 620", IntegratedGpu);

    let only_soft = [lavapipe.clone(), gl_llvmpipe];
    assert_eq!(choose_adapter(&only_soft, GpuSelection::Auto), None);
    assert_eq!(choose_adapter(&only_soft, GpuSelection::Force), Some(0));
    let mixed = [lavapipe, integrated, discrete];
    assert_eq!(choose_adapter(&mixed, GpuSelection::Auto), Some(2));
    assert_eq!(choose_adapter(&mixed, GpuSelection::Force), Some(2));
    assert_eq!(choose_adapter(&mixed[..2], GpuSelection::Force), Some(1));
    assert_eq!(choose_adapter(&[], GpuSelection::Force), None);
}

#[test]
fn auto_on_this_machine_uses_hardware_or_nothing() {
    match GpuRenderer::new(GpuSelection::Auto) {
        Ok(renderer) => assert!(
            !is_software(renderer.adapter_info()),
            "Auto chose {}",
            renderer.describe()
        ),
        Err(GpuError::NoAdapter | GpuError::OnlySoftware(_)) => {}
        Err(other) => panic!("unexpected error from Auto: {other}"),
    }
    // Where the only adapter is software (this machine: lavapipe), Auto must have refused it
    // and said which one it refused.
    if let Some(gpu) = forced_gpu().filter(|gpu| is_software(gpu.adapter_info())) {
        match GpuRenderer::new(GpuSelection::Auto) {
            Err(GpuError::OnlySoftware(names)) => assert!(names.contains(&gpu.adapter_info().name)),
            Err(other) => panic!("Auto should name the software adapter: {other}"),
            Ok(renderer) if !is_software(renderer.adapter_info()) => {}
            Ok(renderer) => panic!("Auto chose {}", renderer.describe()),
        }
    }
}

#[test]
fn force_picks_an_adapter_and_describes_it() {
    let Some(gpu) = forced_gpu() else { return };
    let renderer = renderer_on(Arc::clone(&gpu));
    assert_eq!(renderer.kind(), RendererKind::Gpu);
    let description = renderer.describe();
    eprintln!("forced adapter: {description}");
    assert!(
        description.contains(&gpu.adapter_info().name),
        "{description}"
    );
    assert!(
        description.contains(gpu.adapter_info().backend.to_str()),
        "{description}"
    );
    if gpu.adapter_info().name.contains("llvmpipe") {
        assert!(description.contains("software"), "{description}");
    }
}

#[test]
fn renderers_share_one_device_and_render_concurrently() {
    let Some(_) = forced_gpu() else { return };
    let renderers: Vec<_> = (0..6)
        .map(|_| GpuRenderer::new(GpuSelection::Force).expect("renderer"))
        .collect();
    for renderer in &renderers[1..] {
        assert!(Arc::ptr_eq(renderer.shared(), renderers[0].shared()));
    }
    let threads: Vec<_> = renderers
        .into_iter()
        .enumerate()
        .map(|(seed, mut renderer)| {
            std::thread::spawn(move || {
                renderer.set_timeout(TEST_TIMEOUT);
                let mut rng = Rng(seed as u64);
                (0..4)
                    .map(|_| {
                        let block = random_block(&mut rng, 300, 256);
                        max_error(&render_with(&mut renderer, &block).unwrap(), &cpu(&block))
                    })
                    .fold(0.0, f32::max)
            })
        })
        .collect();
    for thread in threads {
        let error = thread.join().expect("render thread");
        assert!(error <= 1e-4, "max error {error}");
    }
}

#[test]
fn buffers_grow_for_a_larger_block_and_still_fit_small_ones() {
    let Some(gpu) = forced_gpu() else { return };
    let mut renderer = renderer_on(gpu);
    assert_eq!(renderer.capacity(), GpuCapacity::default());
    let mut rng = Rng(7);
    for (partials, frames) in [(3000, 4096), (100, 64), (2500, 1500)] {
        let block = random_block(&mut rng, partials, frames);
        let error = max_error(&render_with(&mut renderer, &block).unwrap(), &cpu(&block));
        assert!(error <= 1e-4, "{partials} × {frames}: max error {error}");
    }
    let grown = renderer.capacity();
    assert_eq!((grown.frames, grown.partials), (4096, 4096));
}

#[test]
fn empty_blocks_give_silence_without_touching_the_gpu() {
    let Some(gpu) = forced_gpu() else { return };
    let mut renderer = renderer_on(gpu);
    let mut block = PartialBlock::with_capacity(0);
    block.clear(64);
    assert_eq!(
        render_with(&mut renderer, &block).unwrap(),
        (vec![0.0; 64], vec![0.0; 64])
    );
    block.clear(0);
    assert!(render_with(&mut renderer, &block).is_ok());
}
