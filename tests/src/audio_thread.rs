//! A host's audio thread as the realtime tests and the plugin benchmark run it: paced by a
//! device's clock, on the scheduling a DAW gives its audio thread.

use std::time::{Duration, Instant};

/// The clock of an audio device: period n is due n periods after the first, and the host sleeps
/// until then. A period that starts late does not move the later ones, as a device's clock does
/// not wait for the host.
pub struct Pacer {
    start: Instant,
    next_period: u32,
    period: Duration,
}

impl Pacer {
    /// A clock whose first period is due now.
    pub fn new(period: Duration) -> Self {
        Self {
            start: Instant::now(),
            next_period: 0,
            period,
        }
    }

    /// Starts the clock again from now, as a device does after an xrun: the periods missed
    /// are not made up.
    pub fn restart(&mut self) {
        self.start = Instant::now();
        self.next_period = 0;
    }

    /// Sleeps until the next period is due and returns when it was due.
    pub fn wait_for_next(&mut self) -> Instant {
        let due = self.start + self.period * self.next_period;
        self.next_period += 1;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        due
    }
}

/// The host audio thread's SCHED_FIFO priority: JACK's default for its clients' threads.
pub const HOST_PRIORITY: i32 = 70;

/// Puts the calling thread on SCHED_FIFO at [`HOST_PRIORITY`], as a DAW runs its audio thread,
/// and names the policy it got: `SCHED_FIFO 70`, or `normal` and why. The plugins' own threads
/// keep the normal policy, so on the host's core they wait for it, as they would in a DAW.
pub fn become_realtime() -> String {
    let param = libc::sched_param {
        sched_priority: HOST_PRIORITY,
    };
    // SAFETY: `param` is a valid sched_param for the call to read; pid 0 is the calling thread.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
        format!("SCHED_FIFO {HOST_PRIORITY}")
    } else {
        format!(
            "normal (SCHED_FIFO refused: {})",
            std::io::Error::last_os_error()
        )
    }
}

/// Whether a block is exact digital silence on both channels.
pub fn is_silent(left: &[f32], right: &[f32]) -> bool {
    left.iter().chain(right).all(|&s| s == 0.0)
}
