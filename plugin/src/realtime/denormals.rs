//! Flush-to-zero *and* denormals-are-zero for the current thread.
//!
//! Denormal floats make DSP loops tens of times slower as reverb tails and envelopes decay
//! towards zero. FTZ stops producing them and DAZ stops consuming them; frameworks commonly set
//! only FTZ, so every thread that runs DSP (the audio thread, the engine thread, the standalone's
//! threads) sets both through this guard. Setting the flags is a register write, not a syscall,
//! so it is safe on the audio thread.

/// Restores the previous floating point control state when dropped.
pub struct DenormalGuard {
    #[cfg(target_arch = "x86_64")]
    previous_mxcsr: u32,
    #[cfg(target_arch = "aarch64")]
    previous_fpcr: u64,
    // The flags belong to this thread: the guard must be dropped where it was made.
    _not_send: std::marker::PhantomData<*const ()>,
}

#[cfg(target_arch = "x86_64")]
const MXCSR_FTZ: u32 = 1 << 15;
#[cfg(target_arch = "x86_64")]
const MXCSR_DAZ: u32 = 1 << 6;
#[cfg(target_arch = "aarch64")]
const FPCR_FZ: u64 = 1 << 24;

impl DenormalGuard {
    /// Turns on FTZ and DAZ (FZ on AArch64, which covers both) until the guard is dropped.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let previous_mxcsr = read_mxcsr();
            write_mxcsr(previous_mxcsr | MXCSR_FTZ | MXCSR_DAZ);
            Self {
                previous_mxcsr,
                _not_send: std::marker::PhantomData,
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            let previous_fpcr = read_fpcr();
            write_fpcr(previous_fpcr | FPCR_FZ);
            Self {
                previous_fpcr,
                _not_send: std::marker::PhantomData,
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        Self {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Turns FTZ and DAZ on for the rest of this thread's life, for threads Auralis owns.
    pub fn enable_for_thread() {
        std::mem::forget(Self::new());
    }
}

impl Drop for DenormalGuard {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        write_mxcsr(self.previous_mxcsr);
        #[cfg(target_arch = "aarch64")]
        write_fpcr(self.previous_fpcr);
    }
}

#[cfg(target_arch = "x86_64")]
fn read_mxcsr() -> u32 {
    let mut mxcsr: u32 = 0;
    // SAFETY: `stmxcsr` stores the SSE control register into the 32-bit location we pass; SSE is
    // part of the x86_64 baseline.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut mxcsr, options(nostack)) };
    mxcsr
}

#[cfg(target_arch = "x86_64")]
fn write_mxcsr(mxcsr: u32) {
    // SAFETY: `ldmxcsr` loads a value we derived from the current register with only the FTZ and
    // DAZ bits changed (or restored), both valid on every x86_64 CPU.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &mxcsr, options(nostack, readonly)) };
}

#[cfg(target_arch = "aarch64")]
fn read_fpcr() -> u64 {
    let fpcr: u64;
    // SAFETY: reading FPCR has no side effects.
    unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack)) };
    fpcr
}

#[cfg(target_arch = "aarch64")]
fn write_fpcr(fpcr: u64) {
    // SAFETY: writes back the current FPCR with only the FZ bit changed (or restored).
    unsafe { std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denormals_flush_to_zero_inside_the_guard() {
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        assert!((tiny / 4.0) > 0.0, "denormals exist without the guard");
        {
            let _guard = DenormalGuard::new();
            let tiny = std::hint::black_box(f32::MIN_POSITIVE);
            assert_eq!(tiny / 4.0, 0.0, "FTZ flushes results");
            let denormal = std::hint::black_box(f32::from_bits(1));
            assert_eq!(denormal * 1.0, 0.0, "DAZ flushes inputs");
        }
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        assert!((tiny / 4.0) > 0.0, "the guard restores the previous state");
    }
}
