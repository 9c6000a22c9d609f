// Additive partials → planar stereo, in two deterministic passes (GpuRenderer, synth/gpu/).
//
// `sum_chunks` gives each (frame, chunk of `chunk_partials` partials) one invocation that adds
// its partials in index order into `chunk_sums`; `mix_chunks` then adds the chunk sums of each
// frame in chunk order into `output` (left frames, then right frames). No atomics, no
// workgroup reductions: the order of every float addition is fixed by the indices alone, so the
// same block gives the same bits on every run.
//
// Holds no state: every block brings each partial's start phase, increment and amplitude ramps
// (PartialParams), exactly what the CPU renderer gets.

// Mirrors `PartialParams` in plugin/src/synth/block.rs (24 bytes, f32 only).
struct PartialParams {
    phase: f32,
    increment: f32,
    amp_left: f32,
    amp_left_step: f32,
    amp_right: f32,
    amp_right_step: f32,
}

// Mirrors `BlockParams` in plugin/src/synth/gpu/layout.rs (16 bytes: a uniform's minimum).
struct BlockParams {
    frames: u32,
    partials: u32,
    chunks: u32,
    padding: u32,
}

// Set by the pipelines from the Rust constants of the same names (WORKGROUP_FRAMES,
// CHUNK_PARTIALS), so the two sides cannot disagree.
override workgroup_frames: u32 = 64u;
override chunk_partials: u32 = 64u;

const TAU: f32 = 6.283185307179586;

@group(0) @binding(0) var<uniform> block: BlockParams;
@group(0) @binding(1) var<storage, read> partials: array<PartialParams>;
@group(0) @binding(2) var<storage, read_write> chunk_sums: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

// The top 8 significant bits of `x` (the rest of the mantissa cleared).
fn top_bits(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) & 0xffff0000u);
}

// sin(2π·x) for x in cycles, |x| < 2^22, absolute error about 1e-7.
//
// Our own polynomial instead of the built-in `sin`: Vulkan only promises 2^-11 absolute error
// for `sin`, and some GPUs' fast sine is that coarse, which would break parity with the CPU.
fn sin_cycles(x: f32) -> f32 {
    // Both reductions are exact in f32 (Sterbenz), so all rounding is in the polynomial.
    var r = x - round(x); // [-0.5, 0.5]
    r = select(r, 0.5 - r, r > 0.25); // sin(π - t) = sin(t)
    r = select(r, -0.5 - r, r < -0.25);
    let t = r * TAU; // [-π/2, π/2]
    let t2 = t * t;
    // Taylor series to t^11: the first omitted term is below 6e-8 at |t| = π/2.
    let p = 1.0 + t2 * (-1.0 / 6.0 + t2 * (1.0 / 120.0 + t2 * (-1.0 / 5040.0
        + t2 * (1.0 / 362880.0 + t2 * (-1.0 / 39916800.0)))));
    return t * p;
}

// A partial as pass 1 uses it, prepared once per workgroup instead of once per frame.
//
// The phase at frame i is `phase + i·increment`. A plain f32 product reaches 4096 cycles at
// frame 8191, where one ulp is 5e-4 cycles (3e-3 rad): far too coarse. So the increment is split
// into three pieces of at most 8 significant bits each; a frame index below 2^16 has at most 16
// bits, so each piece's product with it is exact in f32, and `fract` of an exact value is exact.
// Only the final three additions round (a few 1e-7 cycles).
struct StagedPartial {
    phase: f32,
    increment_hi: f32,
    increment_mid: f32,
    increment_lo: f32,
    amp: vec2<f32>,
    amp_step: vec2<f32>,
}

var<workgroup> staged: array<StagedPartial, chunk_partials>;

fn stage(p: PartialParams) -> StagedPartial {
    let hi = top_bits(p.increment);
    let rest = p.increment - hi;
    let mid = top_bits(rest);
    return StagedPartial(
        p.phase,
        hi,
        mid,
        rest - mid,
        vec2<f32>(p.amp_left, p.amp_right),
        vec2<f32>(p.amp_left_step, p.amp_right_step),
    );
}

// Pass 1: one invocation per (frame, chunk): the sum of the chunk's partials at that frame.
// The workgroup first copies its chunk's partials into workgroup memory, so each is read and
// split once per workgroup rather than once per frame.
@compute @workgroup_size(workgroup_frames)
fn sum_chunks(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let chunk = group.y;
    let first = chunk * chunk_partials;
    let count = min(chunk_partials, block.partials - first);
    for (var k = lane; k < count; k += workgroup_frames) {
        staged[k] = stage(partials[first + k]);
    }
    workgroupBarrier();

    let frame = id.x;
    if frame >= block.frames {
        return;
    }
    let i = f32(frame);
    var sum = vec2<f32>(0.0, 0.0);
    for (var k = 0u; k < count; k++) {
        let p = staged[k];
        let cycles = fract(i * p.increment_lo) + fract(i * p.increment_mid)
            + fract(i * p.increment_hi) + p.phase;
        sum += sin_cycles(cycles) * (p.amp + i * p.amp_step);
    }
    chunk_sums[chunk * block.frames + frame] = sum;
}

// Pass 2: one invocation per frame: the chunk sums in chunk order, left then right planes.
@compute @workgroup_size(workgroup_frames)
fn mix_chunks(@builtin(global_invocation_id) id: vec3<u32>) {
    let frame = id.x;
    if frame >= block.frames {
        return;
    }
    var sum = vec2<f32>(0.0, 0.0);
    for (var c = 0u; c < block.chunks; c++) {
        sum += chunk_sums[c * block.frames + frame];
    }
    output[frame] = sum.x;
    output[block.frames + frame] = sum.y;
}
