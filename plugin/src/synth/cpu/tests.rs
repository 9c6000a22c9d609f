//! The CPU renderer against an f64 sine reference, and its SIMD paths against each other.

use auralis_checks::max_difference;

use super::*;

/// The reference: each partial evaluated with `sin` in f64.
fn reference(block: &PartialBlock) -> (Vec<f32>, Vec<f32>) {
    let mut left = vec![0.0f64; block.frames];
    let mut right = vec![0.0f64; block.frames];
    for p in &block.partials {
        for i in 0..block.frames {
            let s = (TAU * (p.phase as f64 + i as f64 * p.increment as f64)).sin();
            left[i] += s * (p.amp_left as f64 + i as f64 * p.amp_left_step as f64);
            right[i] += s * (p.amp_right as f64 + i as f64 * p.amp_right_step as f64);
        }
    }
    (
        left.into_iter().map(|v| v as f32).collect(),
        right.into_iter().map(|v| v as f32).collect(),
    )
}

fn block(partials: usize, frames: usize) -> PartialBlock {
    let mut block = PartialBlock::with_capacity(partials);
    block.clear(frames);
    for k in 0..partials {
        let x = k as f32;
        block.partials.push(PartialParams {
            phase: (x * 0.137).fract(),
            increment: 0.0005 + 0.49 * ((x * 0.61).fract()),
            amp_left: 0.01 + 0.002 * x,
            amp_left_step: 1e-6 * (x - 10.0),
            amp_right: 0.02,
            amp_right_step: -2e-6,
        });
    }
    block
}

#[test]
fn matches_the_sine_reference_for_uneven_partial_counts() {
    for (partials, frames) in [(1, 64), (13, 256), (64, 1024), (0, 32)] {
        let block = block(partials, frames);
        let (ref_l, ref_r) = reference(&block);
        let mut left = vec![9.0; frames];
        let mut right = vec![9.0; frames];
        CpuRenderer::new()
            .render(&block, &mut left, &mut right)
            .unwrap();
        let err = max_difference(&left, &ref_l).max(max_difference(&right, &ref_r));
        assert!(
            err < 2e-5,
            "{partials} partials × {frames} frames: max error {err}"
        );
    }
}

#[test]
fn sin_cos_cycles_matches_the_library() {
    for k in -2_000..=2_000 {
        let x = k as f64 * 0.000_713_9 + (k as f64 * 0.37).fract() * 1e-3;
        let (sin, cos) = sin_cos_cycles(x);
        let (lib_sin, lib_cos) = (TAU * x).sin_cos();
        assert!((sin - lib_sin).abs() < 1e-14, "sin at {x}");
        assert!((cos - lib_cos).abs() < 1e-14, "cos at {x}");
    }
    for x in [0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, -0.25] {
        let (sin, cos) = sin_cos_cycles(x);
        let (lib_sin, lib_cos) = (TAU * x).sin_cos();
        assert!((sin - lib_sin).abs() < 1e-15 && (cos - lib_cos).abs() < 1e-15);
    }
}

/// Renders `block` on `path` through the renderer's own entry point, or says why it cannot:
/// `None` when the CPU lacks the path and its skip was asked for by name, a failure otherwise.
///
/// libtest has no "skipped" outcome that a test can choose at run time (`#[ignore]` is fixed
/// at compile time, and `cfg(target_feature = ...)` describes the build target, not the CPU
/// the tests run on). Returning early on a CPU without the path would print "ok" for a
/// comparison that never ran, so instead such a CPU fails the test, saying why, unless the
/// skip is asked for by name (`AURALIS_SKIP_AVX_TEST`, `AURALIS_SKIP_AVX512_TEST`, which
/// `cargo xtask test` sets on such a CPU and says so); then it says `SKIPPED` on stderr.
fn render_on(path: SimdPath, block: &PartialBlock) -> Option<(Vec<f32>, Vec<f32>)> {
    let skip_env = match path {
        SimdPath::Portable => "",
        SimdPath::Avx => "AURALIS_SKIP_AVX_TEST",
        SimdPath::Avx512 => "AURALIS_SKIP_AVX512_TEST",
    };
    let Some(mut renderer) = CpuRenderer::with_path(path, block.frames) else {
        assert!(
            std::env::var_os(skip_env).is_some(),
            "this CPU has no {}, so that path cannot be compared with the portable one here; \
             set {skip_env}=1 to skip the comparison on purpose",
            path.name()
        );
        eprintln!(
            "SKIPPED: no {} on this CPU ({skip_env} is set)",
            path.name()
        );
        return None;
    };
    assert_eq!(renderer.path(), path);
    let mut left = vec![9.0; block.frames];
    let mut right = vec![9.0; block.frames];
    renderer
        .render(block, &mut left, &mut right)
        .expect("the CPU renderer cannot fail");
    Some((left, right))
}

/// Asserts that `path` gives the portable path's bits for partial counts that fill whole
/// passes, part of one, and less than one lane group, over several reseeds.
fn assert_same_bits_as_portable(path: SimdPath) {
    // 16: one lane group; 37: two and a part; 48: one whole AVX-512 pass; 149: three whole
    // passes and a remainder of one whole group and a part; 600 frames: three reseeds.
    for partials in [1, 16, 37, 48, 149] {
        let block = block(partials, 600);
        let portable = render_on(SimdPath::Portable, &block).expect("the portable path runs");
        let Some(other) = render_on(path, &block) else {
            return;
        };
        assert!(
            other == portable,
            "{partials} partials: the {} path differs from the portable one",
            path.name()
        );
        assert!(
            portable.0.iter().any(|&s| s != 0.0),
            "the comparison ran on silence"
        );
    }
}

/// Off x86-64 there is no such path to compare, and the test does not exist.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_avx_path_gives_the_portable_bits() {
    assert_same_bits_as_portable(SimdPath::Avx);
}

/// Off x86-64 there is no such path to compare, and the test does not exist.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_avx512_path_gives_the_portable_bits() {
    assert_same_bits_as_portable(SimdPath::Avx512);
}

#[test]
fn a_new_renderer_takes_the_fastest_path_this_cpu_runs() {
    let path = CpuRenderer::new().path();
    assert_eq!(path, SimdPath::detect());
    assert!(path.is_supported());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        assert_eq!(path, SimdPath::Avx512);
    } else if std::arch::is_x86_feature_detected!("avx") {
        assert_eq!(path, SimdPath::Avx);
    }
}

#[test]
fn rendering_a_reserved_size_does_not_allocate() {
    let block = block(40, 256);
    let mut renderer = CpuRenderer::with_max_frames(256);
    let mut left = vec![0.0; 256];
    let mut right = vec![0.0; 256];
    nice_assert_no_alloc::assert_no_alloc(|| {
        renderer.render(&block, &mut left, &mut right).unwrap();
    });
    assert!(left.iter().any(|s| *s != 0.0));
}
