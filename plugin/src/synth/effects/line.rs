//! A delay line stored as one linear run of samples, for block-wise reads.
//!
//! Owns its buffer, sized in `new`. Engine thread; never allocates after `new`.
//!
//! A ring buffer wraps, so a run of consecutive past samples may be split in two and every
//! read needs a mask. Here the samples sit in order in `buffer[..write]`; when the end is
//! near, the last `history` samples are copied back to the start (one copy of `history`
//! samples per `history` frames written: about one sample per frame). So any run of the
//! last `history` frames is one contiguous slice, and loops over it vectorise.

/// A linear delay line.
#[derive(Debug, Clone)]
pub(super) struct Line {
    /// Samples in time order; `buffer[write - 1]` is the newest.
    buffer: Vec<f32>,
    /// Next position to write.
    write: usize,
    /// Frames that stay readable behind `write`.
    history: usize,
}

impl Line {
    /// A silent line that keeps `history` frames readable. Its buffer holds twice that plus
    /// `block` frames, so it shifts at most once per `history` frames.
    pub(super) fn new(history: usize, block: usize) -> Self {
        Self {
            buffer: vec![0.0; 2 * history + block],
            write: history,
            history,
        }
    }

    /// Silences the line.
    pub(super) fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.write = self.history;
    }

    /// Makes room for `frames` more writes (≤ the `block` given to `new`), shifting if needed.
    /// Call at a fixed point (the start of a control block), so that when shifts happen does
    /// not depend on the caller's block sizes (it wouldn't change the output anyway).
    pub(super) fn reserve(&mut self, frames: usize) {
        if self.write + frames > self.buffer.len() {
            self.buffer
                .copy_within(self.write - self.history..self.write, 0);
            self.write = self.history;
        }
    }

    /// Appends one sample (room must have been reserved).
    #[inline]
    pub(super) fn push(&mut self, x: f32) {
        self.buffer[self.write] = x;
        self.write += 1;
    }

    /// Appends a run of `N` samples (room must have been reserved). `N` is fixed so the copy
    /// is a few vector moves, not a call to `memcpy`.
    #[inline]
    pub(super) fn push_run<const N: usize>(&mut self, xs: &[f32; N]) {
        let start = self.write;
        let run: &mut [f32; N] = (&mut self.buffer[start..start + N])
            .try_into()
            .expect("a range of length N converts to [f32; N]");
        *run = *xs;
        self.write += N;
    }

    /// The `N` samples starting `back` frames before the write position (`back` ≤
    /// `history`): `run::<N>(back)[k]` is the sample written `back - k` frames ago.
    #[inline]
    pub(super) fn run<const N: usize>(&self, back: usize) -> &[f32; N] {
        let start = self.write - back;
        (&self.buffer[start..start + N])
            .try_into()
            .expect("a range of length N converts to [f32; N]")
    }

    /// True when any stored value is subnormal (for the denormal tests).
    #[cfg(test)]
    pub(super) fn has_subnormal(&self) -> bool {
        self.buffer.iter().any(|v| v.is_subnormal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_stay_in_order_across_shifts() {
        let mut line = Line::new(10, 4);
        for n in 0..1_000 {
            if n % 4 == 0 {
                line.reserve(4);
            }
            line.push(n as f32);
            if n >= 10 {
                let run = line.run::<10>(10);
                for (k, &v) in run.iter().enumerate() {
                    assert_eq!(v, (n + 1 - 10 + k) as f32);
                }
            }
        }
    }
}
