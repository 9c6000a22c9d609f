//! Failure mid-stream: each injected fault returns its error, the renderer stays failed, and a
//! `RendererChain` [GPU, CPU, silence] hands the same block to the CPU without a click.

use auralis_checks::{largest_step, rms};

use super::*;
use crate::synth::RendererChain;

const FRAMES: usize = 512;
const BLOCKS: usize = 12;
const FAULT_AT: usize = 5;

/// A stream of blocks from voices whose phases and amplitudes carry over in f64, as the voice
/// allocator hands them out: the output is one continuous signal across blocks.
struct Stream {
    /// (phase in cycles, increment, left amp, right amp, amp change per frame).
    partials: Vec<(f64, f64, f64, f64, f64)>,
}

impl Stream {
    fn new(rng: &mut Rng) -> Self {
        let count = 240;
        let partials = (0..count)
            .map(|_| {
                let amp = rng.range(0.0, 2.0 / count as f64);
                // Audible range only, so a natural step between samples stays far below a
                // jump to silence or garbage.
                let increment = rng.range(20.0, 2000.0) / 48_000.0;
                (rng.unit(), increment, amp, amp * rng.unit(), amp * -1e-5)
            })
            .collect();
        Self { partials }
    }

    fn next_block(&mut self) -> PartialBlock {
        let mut block = PartialBlock::with_capacity(self.partials.len());
        block.clear(FRAMES);
        for (phase, increment, left, right, step) in &mut self.partials {
            block.partials.push(PartialParams {
                phase: *phase as f32,
                increment: *increment as f32,
                amp_left: *left as f32,
                amp_left_step: *step as f32,
                amp_right: *right as f32,
                amp_right_step: *step as f32,
            });
            *phase = (*phase + *increment * FRAMES as f64).fract();
            *left += *step * FRAMES as f64;
            *right += *step * FRAMES as f64;
        }
        block
    }

    /// The largest step between two consecutive samples the signal itself can make.
    fn max_natural_step(&self) -> f32 {
        let step: f64 = self
            .partials
            .iter()
            .map(|(_, inc, l, r, s)| l.max(*r).abs() * std::f64::consts::TAU * inc + s.abs())
            .sum();
        step as f32
    }
}

#[test]
fn each_fault_fails_with_its_error_and_the_renderer_stays_failed() {
    let Some(gpu) = private_gpu() else { return };
    let block = random_block(&mut Rng(1), 64, 256);
    for fault in [
        GpuFault::Timeout,
        GpuFault::Validation,
        GpuFault::DeviceLost,
    ] {
        let mut renderer = renderer_on(Arc::clone(&gpu));
        assert!(
            render_with(&mut renderer, &block).is_ok(),
            "{fault:?}: healthy first"
        );
        renderer.inject_fault(fault);
        let error = render_with(&mut renderer, &block).expect_err("the fault must fail a block");
        let expected = match (&fault, &error) {
            (GpuFault::Timeout, RenderError::Timeout(_)) => true,
            (GpuFault::Validation, RenderError::Backend(m)) => m.contains("validation"),
            (GpuFault::DeviceLost, RenderError::DeviceLost(_)) => true,
            _ => false,
        };
        assert!(expected, "{fault:?} gave {error}");
        eprintln!("{fault:?} → {error}");
        // Sticky: the next block fails the same way without any new fault.
        let again = render_with(&mut renderer, &block).expect_err("stays failed");
        assert_eq!(again.to_string(), error.to_string());
    }
    // The device is gone now: a new renderer on it is refused up front.
    assert!(matches!(
        GpuRenderer::with_shared(gpu),
        Err(GpuError::DeviceLost(_))
    ));
}

#[test]
fn the_chain_moves_to_the_cpu_mid_stream_without_a_click() {
    for fault in [
        GpuFault::Timeout,
        GpuFault::Validation,
        GpuFault::DeviceLost,
    ] {
        let Some(gpu) = private_gpu() else { return };
        let gpu_renderer = renderer_on(gpu);
        let injector = gpu_renderer.fault_injector();
        let mut chain = RendererChain::new(vec![
            Box::new(gpu_renderer),
            Box::new(CpuRenderer::new()),
            Box::new(crate::synth::SilentRenderer),
        ]);
        let mut stream = Stream::new(&mut Rng(11));
        let max_step = stream.max_natural_step();
        let mut output = Vec::new();
        for index in 0..BLOCKS {
            let block = stream.next_block();
            if index == FAULT_AT {
                injector.inject(fault);
            }
            let mut left = vec![f32::NAN; FRAMES];
            let mut right = vec![f32::NAN; FRAMES];
            chain.render(&block, &mut left, &mut right);
            let expected_kind = if index < FAULT_AT {
                RendererKind::Gpu
            } else {
                RendererKind::Cpu
            };
            assert_eq!(
                chain.current().kind(),
                expected_kind,
                "{fault:?}, block {index}"
            );
            if index == FAULT_AT {
                // The failed block was rendered again by the CPU, from the same partials.
                assert!((left.clone(), right.clone()) == cpu(&block), "{fault:?}");
                let message = chain.last_error().expect("the fallback is reported");
                assert!(message.contains("falling back to CPU"), "{message}");
            }
            output.extend_from_slice(&left);
        }
        let rms = rms(&output);
        assert!(
            rms > 0.01,
            "{fault:?}: the stream should be audible, rms {rms}"
        );
        // Continuity: no step larger than the signal's own fastest change (plus the parity
        // tolerance for the GPU→CPU seam).
        let worst = largest_step(&output);
        assert!(
            worst <= max_step + 1e-4,
            "{fault:?}: step {worst} > natural maximum {max_step}"
        );
    }
}

#[test]
fn a_block_slower_than_the_deadline_times_out_for_real() {
    let Some(gpu) = private_gpu() else { return };
    let software = is_software(gpu.adapter_info());
    let mut renderer = renderer_on(gpu);
    // ~2M partial-frames: about 100 ms on lavapipe, far beyond a 1 µs deadline.
    let block = random_block(&mut Rng(5), 2048, 1024);
    renderer.set_timeout(Duration::from_micros(1));
    match render_with(&mut renderer, &block) {
        Err(RenderError::Timeout(_)) => {}
        // A fast GPU may finish between submit and wait; anything else is a bug.
        Ok(_) if !software => {}
        other => panic!("expected a timeout, got {:?}", other.map(|_| ())),
    }
}
