//! Everything the host's audio thread touches, and nothing else.
//!
//! `process()` calls into this module only, through its [`EngineLink`]: it asks the engine for
//! each block's frames, with the block's parameter values and host transport ([`request`],
//! [`transport`]), pops the frames from the audio ring the engine fills ([`ring`]), fades to
//! silence on an underrun and back in on recovery ([`output`]), hands the composed notes to the
//! host as MIDI ([`notes`]); then it applies the output gain ([`buffer`]), measures the levels
//! ([`meter`]), copies the block for the web monitor ([`tap`]) and counts what happened in
//! atomics ([`telemetry`]). Code here never allocates, locks, logs, performs I/O or makes a
//! syscall; the only structures that cross threads are pre-allocated wait-free rtrb rings and
//! atomics. Unit tests run it under `assert_no_alloc`.

pub mod buffer;
pub mod denormals;
pub mod link;
pub mod meter;
pub mod midi_in;
pub mod notes;
pub mod output;
pub mod request;
pub mod ring;
pub mod tap;
pub mod telemetry;
pub mod transport;

pub use link::EngineLink;
pub use meter::LevelMeter;
pub use midi_in::{MidiIn, MidiInConsumer, MidiInKind, MidiInProducer, midi_in_ring};
pub use notes::{NoteOut, NoteOutConsumer, NoteOutKind, NoteOutProducer, note_ring};
pub use output::{AudioOutput, FillOutcome, WaitPolicy};
pub use request::{BlockRequest, RequestConsumer, RequestProducer, request_ring};
pub use ring::{Frame, FrameConsumer, FrameProducer, audio_ring};
pub use tap::{TAP_SECONDS, TapConsumer, TapProducer, tap_ring, tap_ring_for};
pub use telemetry::Telemetry;
pub use transport::{HostTransport, TransportSnapshot};

#[cfg(test)]
mod tests {
    /// Allocates inside `assert_no_alloc`; run only as a child of the test below.
    #[test]
    #[ignore = "aborts by design; run by alloc_checker_is_armed"]
    fn allocation_inside_the_guard() {
        nice_assert_no_alloc::assert_no_alloc(|| {
            std::hint::black_box(vec![1u8; 64]);
        });
    }

    /// The realtime tests' allocation checks are only proof if the checker really aborts: this
    /// runs a test that allocates under the guard in a child process and expects it to die.
    #[test]
    fn alloc_checker_is_armed() {
        let exe = std::env::current_exe().expect("test binary path");
        let output = std::process::Command::new(exe)
            .args([
                "--ignored",
                "--exact",
                "realtime::tests::allocation_inside_the_guard",
                "--test-threads=1",
            ])
            .output()
            .expect("run the child test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("running 1 test"),
            "the child ran the allocating test: {stdout}"
        );
        assert!(
            !output.status.success(),
            "an allocation under assert_no_alloc must abort the process"
        );
    }
}
