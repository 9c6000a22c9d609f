//! The roof the CPU renderer is measured against: this core's peak throughput for the
//! instructions the renderer's inner loop runs (separate f32 multiplies and adds, in equal
//! numbers, no fused multiply-add), on every vector width up to the widest the CPU offers.
//!
//! The roof is the fastest of several kernels, because the widest vectors are not always the
//! fastest: a core that runs 512-bit operations as two 256-bit halves (AMD Zen 4) measured
//! 116 GFLOP/s on 256-bit vectors and 77–97 on 512-bit ones, depending on how the chains were
//! arranged. Many independent chains keep every pipeline busy whatever its latency; the
//! constants are opaque to the compiler (multiplying by one and adding zero, so values never
//! overflow or turn subnormal, which would slow the hardware), and the best of several runs is
//! taken, as for any peak.

use std::hint::black_box;
use std::time::Instant;

use auralis::synth::SimdPath;

/// Floating-point operations of the CPU renderer's inner loop per partial per frame: the
/// sample times the left and right amplitude and added to each sum (4), the phasor's complex
/// rotation (4 multiplies, an add and a subtract: 6), the two amplitude ramps (2). The
/// per-block reseeds and the final horizontal sum are left out (under 5 % of the work at a
/// few thousand partials), so the share of the roof is if anything understated.
pub const RENDERER_FLOPS_PER_PARTIAL_FRAME: f64 = 12.0;

/// Peak GFLOP/s of one core for the renderer's instruction mix on the vectors this CPU offers
/// up to `path`'s, the best of `runs` runs of about `seconds_each` of each kernel.
pub fn peak_gflops(path: SimdPath, runs: usize, seconds_each: f64) -> f64 {
    kernels(path)
        .into_iter()
        .map(|kernel| {
            // Calibrate: how many iterations take about `seconds_each`.
            let mut iterations = 1u64 << 12;
            loop {
                let started = Instant::now();
                kernel(iterations);
                let elapsed = started.elapsed().as_secs_f64();
                if elapsed > 0.02 {
                    iterations = (seconds_each * iterations as f64 / elapsed).max(1.0) as u64;
                    break;
                }
                iterations *= 4;
            }
            (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    let flops = kernel(iterations);
                    flops / started.elapsed().as_secs_f64() / 1e9
                })
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

/// A kernel: runs its loop so many times and says how many floating-point operations it did.
type Kernel = fn(u64) -> f64;

/// The kernels this CPU runs, up to `path`'s vectors.
fn kernels(path: SimdPath) -> Vec<Kernel> {
    let mut kernels: Vec<Kernel> = vec![portable];
    #[cfg(target_arch = "x86_64")]
    {
        if matches!(path, SimdPath::Avx | SimdPath::Avx512) && SimdPath::Avx.is_supported() {
            kernels.extend([x86::avx::<4> as Kernel, x86::avx::<6>]);
        }
        if path == SimdPath::Avx512 && path.is_supported() {
            kernels.extend([
                x86::avx512::<4> as Kernel,
                x86::avx512::<12>,
                x86::avx512_chained::<12>,
            ]);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = path;
    kernels
}

/// The portable renderer's kind of code: arrays the compiler vectorises for the build target.
fn portable(iterations: u64) -> f64 {
    const WIDTH: usize = 16;
    const CHAINS: usize = 4;
    let (one, zero) = (black_box(1.0f32), black_box(0.0f32));
    let mut products = [[1.0f32; WIDTH]; CHAINS];
    let mut sums = [[1.0f32; WIDTH]; CHAINS];
    for _ in 0..iterations {
        for chain in 0..CHAINS {
            for lane in 0..WIDTH {
                products[chain][lane] *= one;
                sums[chain][lane] += zero;
            }
        }
    }
    black_box((products, sums));
    iterations as f64 * (2 * CHAINS * WIDTH) as f64
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m256, __m512, _mm256_add_ps, _mm256_mul_ps, _mm256_set1_ps, _mm512_add_ps, _mm512_mul_ps,
        _mm512_set1_ps,
    };
    use std::hint::black_box;

    use auralis::synth::SimdPath;

    /// `C` multiply chains and `C` add chains of 16 lanes.
    pub fn avx512<const C: usize>(iterations: u64) -> f64 {
        assert!(SimdPath::Avx512.is_supported());
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe { avx512_loop::<C>(iterations, black_box(1.0), black_box(0.0)) }
    }

    #[target_feature(enable = "avx512f")]
    fn avx512_loop<const C: usize>(iterations: u64, one: f32, zero: f32) -> f64 {
        let (one, zero) = (_mm512_set1_ps(one), _mm512_set1_ps(zero));
        let mut products: [__m512; C] = [_mm512_set1_ps(1.0); C];
        let mut sums: [__m512; C] = [_mm512_set1_ps(1.0); C];
        for _ in 0..iterations {
            for chain in 0..C {
                products[chain] = _mm512_mul_ps(products[chain], one);
                sums[chain] = _mm512_add_ps(sums[chain], zero);
            }
        }
        black_box((products, sums));
        iterations as f64 * (2 * C * 16) as f64
    }

    /// `C` chains of a multiply feeding an add, 16 lanes, as the renderer's products feed its
    /// sums.
    pub fn avx512_chained<const C: usize>(iterations: u64) -> f64 {
        assert!(SimdPath::Avx512.is_supported());
        // SAFETY: the CPU supports AVX-512F, checked just above.
        unsafe { avx512_chained_loop::<C>(iterations, black_box(1.0), black_box(0.0)) }
    }

    #[target_feature(enable = "avx512f")]
    fn avx512_chained_loop<const C: usize>(iterations: u64, one: f32, zero: f32) -> f64 {
        let (one, zero) = (_mm512_set1_ps(one), _mm512_set1_ps(zero));
        let mut chains: [__m512; C] = [_mm512_set1_ps(1.0); C];
        for _ in 0..iterations {
            for chain in chains.iter_mut() {
                *chain = _mm512_add_ps(_mm512_mul_ps(*chain, one), zero);
            }
        }
        black_box(chains);
        iterations as f64 * (2 * C * 16) as f64
    }

    /// `C` multiply chains and `C` add chains of 8 lanes (with the two constants, at most 16
    /// registers for `C` ≤ 7).
    pub fn avx<const C: usize>(iterations: u64) -> f64 {
        assert!(SimdPath::Avx.is_supported());
        // SAFETY: the CPU supports AVX, checked just above.
        unsafe { avx_loop::<C>(iterations, black_box(1.0), black_box(0.0)) }
    }

    #[target_feature(enable = "avx")]
    fn avx_loop<const C: usize>(iterations: u64, one: f32, zero: f32) -> f64 {
        let (one, zero) = (_mm256_set1_ps(one), _mm256_set1_ps(zero));
        let mut products: [__m256; C] = [_mm256_set1_ps(1.0); C];
        let mut sums: [__m256; C] = [_mm256_set1_ps(1.0); C];
        for _ in 0..iterations {
            for chain in 0..C {
                products[chain] = _mm256_mul_ps(products[chain], one);
                sums[chain] = _mm256_add_ps(sums[chain], zero);
            }
        }
        black_box((products, sums));
        iterations as f64 * (2 * C * 8) as f64
    }
}
