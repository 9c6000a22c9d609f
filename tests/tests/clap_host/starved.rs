//! An engine starved of CPU: Auralis counts the gaps it plays as underruns, a host reads the
//! count through Auralis's telemetry extension, and the music comes back when the CPU does.
//!
//! The starvation is real, and confined to this test: in a child process (the pool of engine
//! workers is process-wide, so no other test's engines may share it), the workers are moved to
//! one core on `SCHED_IDLE`, and one busy thread at the normal policy takes that core for
//! [`STARVED`]; the other cores stay free for the rest of the machine. Then the workers get
//! their cores and policy back. The host's audio thread
//! keeps its pace all along (on `SCHED_FIFO` where allowed, as a DAW's), so the ring runs dry
//! after its lead, about 30 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auralis_tests::audio_thread::{Pacer, become_realtime, is_silent};
use auralis_tests::clap_host::{HostTransport, on_shared_audio_thread};

use crate::child::{assert_child_passed, is_child, run_child};
use crate::{engine_workers, new_instance};

const DONE: &str = "AURALIS-STARVED-DONE";
const SAMPLE_RATE: f64 = 48_000.0;
const BLOCK_FRAMES: u32 = 128;
/// Played before the starvation: the engine starts and its ring fills.
const WARM_UP: Duration = Duration::from_secs(1);
/// How long the engine gets no CPU: many times its lead.
const STARVED: Duration = Duration::from_millis(400);
/// Played after it, for the music to come back.
const RECOVERY: Duration = Duration::from_secs(1);

#[test]
fn a_starved_engine_counts_underruns_that_the_host_reads_and_recovers() {
    let run = run_child("starved::starved_child", &[], Duration::from_secs(60));
    eprintln!(
        "starved child: {} in {:.1} s\n{}",
        run.status,
        run.elapsed.as_secs_f64(),
        run.stdout
            .lines()
            .filter(|l| l.starts_with("starved:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_child_passed(&run, DONE);
}

/// What one phase of the run played.
#[derive(Debug, Default)]
struct Phase {
    blocks: usize,
    /// Blocks of exact digital silence: the ring was dry (or, at the start, not filled yet).
    silent_blocks: usize,
    /// Whether the phase's last block was silent.
    ends_silent: bool,
    /// Underruns the instance counted by the phase's end.
    underruns: u64,
}

#[test]
#[ignore = "runs in a child process of a_starved_engine_counts_underruns_that_the_host_reads_and_recovers"]
fn starved_child() {
    if !is_child(
        "starved::starved_child",
        "a_starved_engine_counts_underruns_that_the_host_reads_and_recovers",
    ) {
        return;
    }
    let mut instance = new_instance();
    instance.set_transport(Some(HostTransport {
        playing: true,
        tempo_bpm: 120.0,
        pos_beats: 0.0,
    }));
    instance
        .activate(SAMPLE_RATE, BLOCK_FRAMES)
        .expect("activate");
    assert_eq!(
        instance.underruns().expect("telemetry extension"),
        0,
        "underruns before the first block"
    );

    let period = Duration::from_secs_f64(f64::from(BLOCK_FRAMES) / SAMPLE_RATE);
    let (warm, starved, recovered, policy) =
        on_shared_audio_thread(&mut [&mut instance], |audio| {
            let policy = become_realtime();
            let mut pacer = Pacer::new(period);
            let mut play = |length: Duration| -> anyhow::Result<Phase> {
                let until = Instant::now() + length;
                let mut phase = Phase::default();
                while Instant::now() < until {
                    pacer.wait_for_next();
                    let block = audio.process(0, |block| block.frames = BLOCK_FRAMES)?;
                    phase.blocks += 1;
                    phase.ends_silent = is_silent(block.left, block.right);
                    phase.silent_blocks += usize::from(phase.ends_silent);
                }
                phase.underruns = audio.underruns(0)?;
                Ok(phase)
            };
            let warm = play(WARM_UP)?;
            let hog = Hog::start();
            let starved = play(STARVED);
            hog.stop();
            let recovered = play(RECOVERY)?;
            Ok((warm, starved?, recovered, policy))
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("starved: host thread {policy}");
    println!("starved: warm-up {warm:?}");
    println!("starved: starved {starved:?}");
    println!("starved: recovered {recovered:?}");

    // The first blocks are silent while the engine starts: that is no underrun.
    assert!(
        warm.underruns == 0 && !warm.ends_silent,
        "the engine had the CPU and still fell behind: {warm:?}"
    );
    assert!(
        starved.silent_blocks > 0,
        "the engine had no CPU for {STARVED:?}, many times its lead, yet every block played: \
         the starvation did not take ({starved:?})"
    );
    assert!(
        starved.underruns > warm.underruns,
        "the ring ran dry ({} silent blocks) but the instance counted no underrun: {starved:?}",
        starved.silent_blocks
    );
    assert!(
        recovered.silent_blocks < recovered.blocks / 4 && !recovered.ends_silent,
        "the music did not come back after the CPU did: {recovered:?}"
    );
    instance.deactivate().expect("deactivate");
    println!("{DONE}");
}

/// A busy thread at the normal policy on one core, where the engine workers were moved on
/// `SCHED_IDLE`: they get no CPU while it runs, and the other cores are untouched.
struct Hog {
    running: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    /// The workers and the cores they could run on before.
    workers: Vec<(libc::pid_t, libc::cpu_set_t)>,
}

impl Hog {
    fn start() -> Self {
        let allowed = affinity(0);
        let core = (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `allowed` is initialised and every index is within its size.
            .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &allowed) })
            .expect("no allowed core");
        // SAFETY: an all-zero cpu_set_t is a valid empty set.
        let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `core` is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(core, &mut one) };
        let workers: Vec<_> = engine_workers()
            .into_iter()
            .map(|tid| (tid, affinity(tid)))
            .collect();
        assert!(!workers.is_empty(), "no engine worker thread to starve");
        for &(tid, _) in &workers {
            set_affinity(tid, &one);
            set_policy(tid, libc::SCHED_IDLE).expect("SCHED_IDLE for an engine worker");
        }
        let running = Arc::new(AtomicBool::new(true));
        let thread = std::thread::spawn({
            let running = running.clone();
            move || {
                // Made by the audio thread, it would inherit its SCHED_FIFO and hold the core
                // against every normal task of the machine.
                set_policy(0, libc::SCHED_OTHER).expect("the normal policy for the busy thread");
                set_affinity(0, &one);
                while running.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            }
        });
        Self {
            running,
            thread,
            workers,
        }
    }

    /// Stops the busy thread and gives the workers back their cores and the normal policy.
    fn stop(self) {
        self.running.store(false, Ordering::Relaxed);
        self.thread.join().expect("hog thread");
        for (tid, cores) in &self.workers {
            set_affinity(*tid, cores);
            // Leaving SCHED_IDLE needs a nice limit an unprivileged user may lack; the workers
            // then recover on idle time only, which an otherwise idle machine gives them.
            if let Err(err) = set_policy(*tid, libc::SCHED_OTHER) {
                println!("starved: worker {tid} stays on SCHED_IDLE ({err})");
            }
        }
    }
}

/// The cores thread `tid` (0: the calling thread) may run on.
fn affinity(tid: libc::pid_t) -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is a valid empty set for the call to fill.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes of its own size.
    let got = unsafe { libc::sched_getaffinity(tid, std::mem::size_of_val(&set), &mut set) };
    assert_eq!(
        got,
        0,
        "sched_getaffinity of thread {tid}: {}",
        std::io::Error::last_os_error()
    );
    set
}

/// Restricts thread `tid` (0: the calling thread) to `cores`.
fn set_affinity(tid: libc::pid_t, cores: &libc::cpu_set_t) {
    // SAFETY: `cores` is valid for reads of its own size.
    let set = unsafe { libc::sched_setaffinity(tid, std::mem::size_of_val(cores), cores) };
    assert_eq!(
        set,
        0,
        "sched_setaffinity of thread {tid}: {}",
        std::io::Error::last_os_error()
    );
}

/// Puts thread `tid` (0: the calling thread) on `policy`, one without priorities.
fn set_policy(tid: libc::pid_t, policy: libc::c_int) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a thread id of this process and a valid sched_param.
    match unsafe { libc::sched_setscheduler(tid, policy, &param) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}
