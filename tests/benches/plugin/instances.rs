//! `instances_realtime`: how many Auralis instances one host runs in real time.
//!
//! The host is shaped like a DAW's audio engine: one audio thread, woken by the device clock
//! every 128 frames at 48 kHz (2.67 ms), processes one block of every instance in turn, and
//! must be done before the next period is due, or the device plays a gap. All instances play
//! the default patch, each with its own seed (set through `params.flush` before activation, as
//! a host restoring a session does), so no two render the same notes.
//!
//! The host thread runs SCHED_FIFO, as a DAW's audio thread does (JACK, PipeWire, the DAWs'
//! own ALSA back ends): the engines' threads, which have the normal policy, can then never
//! delay its wake-up, so a late wake-up is the machine's (the kernel or, on a virtual machine,
//! the hypervisor not running a top-priority thread), not Auralis's.
//!
//! An underrun, after a trial's warm-up, is any of:
//! - the thread finishing a period's blocks later than one period after the period was due,
//!   unless the machine alone made it late: the device's gap;
//! - an instance counting an underrun of its own (read through Auralis's telemetry extension
//!   after every period): its engine's frames were not there in time, so it faded out for the
//!   rest of the block;
//! - a block from an instance that is exact digital silence.
//!
//! Auralis's own count, not the time its calls took: a virtual machine stalls a CPU for
//! milliseconds now and then without the guest knowing, and the stall is counted as CPU time of
//! whatever thread was on that CPU (a profile shows the host thread "running" a millisecond at
//! one load in the host's own code). An earlier version took a `process()` call that spent
//! most of Auralis's spin budget on the CPU for a late engine, and such stalls failed trials in
//! which no instance had underrun.
//!
//! A late period is the machine's stall, counted apart, when the thread woke late and its
//! blocks took no longer than would have met the deadline had it woken as it usually does (the
//! median wake-up of the warm-up): no plugin could have made that period. The host then starts
//! its clock again from the stall, as a device recovers from an xrun. A period whose blocks
//! took too long is Auralis's, however late the thread woke. How often the machine stalls by
//! itself is measured first, by the same thread with no instance at all for one trial's length
//! (`instances_floor_*`), and the stalls of the deciding trial are reported beside it.
//!
//! A trial stops at its first underrun. The count passes if a whole trial (20 s) has none, in
//! one of up to three attempts (a count that is too high fails every attempt, and early). The
//! search goes up a ladder (1, 2, 4, … 64, 96, 128) with short screening trials until one
//! fails, then bisects between the last pass and that failure with full trials, starting by
//! confirming the last screened pass. Failures end early, so the cost is mostly the passes.
//!
//! Alongside: at the largest count that passed, the CPU time of the engine threads per
//! instance, of the whole process and the host thread's busy share of each period (from
//! `/proc/self/task/*/schedstat`), which show whether the render cost, the threads' wake-ups
//! or the host thread is what runs out first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use auralis_tests::clap_host::{ClapBundle, ClapInstance, on_shared_audio_thread};
use serde_json::{Map, Value};

use super::{
    BLOCK_FRAMES, PLUGIN_ID, Pacer, SAMPLE_RATE, become_realtime, block_duration, is_silent, round,
    start_playing,
};

/// The most instances tried.
const MAX_INSTANCES: usize = 128;
/// The counts the search climbs through before bisecting.
const LADDER: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 96, MAX_INSTANCES];
/// Periods played, unjudged, between reading the threads' CPU times and judging a trial.
const SETTLE_PERIODS: usize = 40;
/// What the engine threads are called (`/proc/self/task/*/comm`).
const ENGINE_THREAD: &str = "auralis-engine";

/// How long the trials run.
pub struct Plan {
    /// Played before a trial's judged part: new instances' engines start, the rings fill.
    warm_up_s: f64,
    /// Judged seconds of a screening trial on the ladder.
    screen_s: f64,
    /// Judged seconds of a trial that can decide the figure.
    trial_s: f64,
    /// Trials of one count before it is called a failure: a passing one is 20 s without an
    /// underrun, but a shared or virtual machine now and then stalls a thread for milliseconds
    /// whatever it runs, and that moment should not decide the figure. Too many instances fail
    /// every attempt, and fail early, so the retries cost little.
    attempts: usize,
    /// The bisection stops when the gap between pass and fail is at most this share of the
    /// pass (and at least 1).
    resolution: f64,
}

impl Plan {
    /// 5 s trials, the ladder and a coarse bisection.
    pub const QUICK: Self = Self {
        warm_up_s: 2.0,
        screen_s: 5.0,
        trial_s: 5.0,
        attempts: 2,
        resolution: 0.25,
    };
    /// 20 s trials, down to the instance.
    pub const FULL: Self = Self {
        warm_up_s: 3.0,
        screen_s: 5.0,
        trial_s: 20.0,
        attempts: 3,
        resolution: 0.0,
    };
}

/// Why a trial failed.
enum Underrun {
    Deadline {
        late: Duration,
        woke_after: Duration,
    },
    Counted {
        instance: usize,
    },
    Silent {
        instance: usize,
    },
}

impl std::fmt::Display for Underrun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Deadline { late, woke_after } => write!(
                f,
                "the period's blocks were done {:.2} ms after its deadline (the thread woke \
                 {:.2} ms after the period began)",
                late.as_secs_f64() * 1e3,
                woke_after.as_secs_f64() * 1e3
            ),
            Self::Counted { instance } => write!(
                f,
                "instance {instance} counted an underrun (its engine's frames came late)"
            ),
            Self::Silent { instance } => write!(f, "instance {instance} gave a silent block"),
        }
    }
}

/// What one trial found.
struct Trial {
    instances: usize,
    /// The first underrun and when, in seconds into the judged part.
    underrun: Option<(Underrun, f64)>,
    /// CPU over the judged part (only if it passed).
    load: Option<Load>,
    /// The machine's stalls in the judged part (see the module's text).
    stalls: Stalls,
}

/// Late periods that no plugin could have made: the thread woke so late that its blocks,
/// done in their usual time, missed the deadline.
#[derive(Default, Clone, Copy)]
struct Stalls {
    count: usize,
    /// The latest wake-up among them, after the period was due.
    worst_wake: Duration,
}

impl Stalls {
    fn add(&mut self, wake: Duration) {
        self.count += 1;
        self.worst_wake = self.worst_wake.max(wake);
    }
}

/// Where the CPU went during a passing trial.
struct Load {
    /// Engine threads' CPU per instance, in % of one core.
    engine_pct_each: f64,
    /// Every thread of the process, in % of one core.
    process_pct: f64,
    /// The host thread's busy time (wake-up to last block done) over the period, mean and
    /// worst, in %.
    host_busy_pct_mean: f64,
    host_busy_pct_max: f64,
}

/// Searches for `instances_realtime` and returns it with the load at that count.
pub fn measure(plan: &Plan, bundle: &ClapBundle) -> Result<Map<String, Value>> {
    let mut pool = Vec::new();
    // The newest underrun of each count: the one of the smallest count that failed is what
    // stopped the search.
    let mut failures: HashMap<usize, String> = HashMap::new();
    let mut note = |trial: &Trial, seconds: f64| {
        let verdict = match &trial.underrun {
            None => "pass".to_string(),
            Some((underrun, at_s)) => {
                let text = format!("{underrun} after {at_s:.1} s");
                failures.insert(trial.instances, text.clone());
                text
            }
        };
        let stalls = match trial.stalls.count {
            0 => String::new(),
            count => format!(
                " ({count} stall{} of the machine, woke up to {:.1} ms late)",
                if count == 1 { "" } else { "s" },
                trial.stalls.worst_wake.as_secs_f64() * 1e3
            ),
        };
        eprintln!(
            "instances: {:>3} for {seconds:>4.0} s: {verdict}{stalls}",
            trial.instances
        );
    };

    let mut figures = Map::new();
    let floor = floor(plan)?;
    eprintln!(
        "instances: the host thread alone for {:.0} s ({}): {} late period{}, woke up to {:.2} ms \
         late (median {:.3} ms)",
        plan.trial_s,
        floor.policy,
        floor.late_periods,
        if floor.late_periods == 1 { "" } else { "s" },
        floor.worst_wake.as_secs_f64() * 1e3,
        floor.median_wake.as_secs_f64() * 1e3,
    );
    figures.insert("instances_host_policy".into(), floor.policy.clone().into());
    figures.insert(
        "instances_floor_late_periods".into(),
        floor.late_periods.into(),
    );
    figures.insert(
        "instances_floor_wake_ms_max".into(),
        round(floor.worst_wake.as_secs_f64() * 1e3, 2),
    );

    // The ladder, with short trials.
    let mut screened = 0;
    let mut bad = None;
    for &count in &LADDER {
        let trial = attempt(plan, bundle, &mut pool, count, plan.screen_s, &mut note)?;
        if trial.underrun.is_some() {
            bad = Some(count);
            break;
        }
        screened = count;
    }

    // Full trials decide: confirm the last screened pass, then bisect.
    let mut good = 0;
    let mut load = None;
    let mut stalls = Stalls::default();
    let mut bad = bad.unwrap_or(MAX_INSTANCES + 1);
    let mut candidate = screened;
    while candidate > good && candidate < bad {
        let trial = attempt(plan, bundle, &mut pool, candidate, plan.trial_s, &mut note)?;
        if trial.underrun.is_none() {
            good = candidate;
            load = trial.load;
            stalls = trial.stalls;
        } else {
            bad = candidate;
        }
        let gap = bad - good;
        if gap <= 1 || (gap as f64) <= plan.resolution * good as f64 {
            break;
        }
        candidate = good + gap / 2;
    }
    drop(pool);

    figures.insert("instances_realtime".into(), good.into());
    figures.insert("instances_trial_s".into(), plan.trial_s.into());
    figures.insert("instances_machine_stalls".into(), stalls.count.into());
    figures.insert(
        "instances_machine_stall_wake_ms_max".into(),
        round(stalls.worst_wake.as_secs_f64() * 1e3, 2),
    );
    if let Some(load) = load {
        figures.insert(
            "instances_engine_cpu_pct_each".into(),
            round(load.engine_pct_each, 2),
        );
        figures.insert(
            "instances_process_cpu_pct".into(),
            round(load.process_pct, 1),
        );
        figures.insert(
            "instances_host_busy_pct_mean".into(),
            round(load.host_busy_pct_mean, 1),
        );
        figures.insert(
            "instances_host_busy_pct_max".into(),
            round(load.host_busy_pct_max, 1),
        );
    }
    if let Some(failure) = failures.get(&bad) {
        figures.insert(
            "instances_limit_underrun".into(),
            format!("{bad} instances: {failure}").into(),
        );
    }
    figures.insert("cpu_model".into(), cpu_model()?.into());
    Ok(figures)
}

/// Runs trials of `count` instances until one passes, at most [`Plan::attempts`]; returns
/// the passing one or the last. `note` hears of each.
fn attempt(
    plan: &Plan,
    bundle: &ClapBundle,
    pool: &mut Vec<ClapInstance>,
    count: usize,
    judged_s: f64,
    note: &mut impl FnMut(&Trial, f64),
) -> Result<Trial> {
    let mut trial = run_trial(plan, bundle, pool, count, judged_s)?;
    note(&trial, judged_s);
    for _ in 1..plan.attempts {
        if trial.underrun.is_none() {
            break;
        }
        trial = run_trial(plan, bundle, pool, count, judged_s)?;
        note(&trial, judged_s);
    }
    Ok(trial)
}

/// Runs `count` instances (from `pool`, grown or shrunk to that) for a warm-up and then
/// `judged_s` seconds, stopping at the first underrun.
fn run_trial(
    plan: &Plan,
    bundle: &ClapBundle,
    pool: &mut Vec<ClapInstance>,
    count: usize,
    judged_s: f64,
) -> Result<Trial> {
    // Dropping deactivates: only the instances of this trial have engine threads.
    pool.truncate(count);
    while pool.len() < count {
        pool.push(seeded_instance(bundle, pool.len())?);
    }
    let period = block_duration();
    let warm_up_periods = periods(plan.warm_up_s);
    let judged_periods = periods(judged_s);
    let mut instances: Vec<&mut ClapInstance> = pool.iter_mut().collect();
    on_shared_audio_thread(&mut instances, |audio| {
        // Refused (no privilege), the trial still runs, with the policy named in the figures.
        become_realtime();
        let mut wakes = Vec::with_capacity(warm_up_periods);
        let mut pacer = Pacer::new(period);
        let mut restarted = true;
        for _ in 0..warm_up_periods {
            let due = pacer.wait_for_next();
            // The first period after a (re)start is due at once: no wake-up to speak of.
            if !std::mem::take(&mut restarted) {
                wakes.push(due.elapsed());
            }
            for which in 0..count {
                audio.process(which, |block| block.frames = BLOCK_FRAMES)?;
            }
            // While the engines start, blocks wait for them: a late period restarts the clock,
            // so the usual wake-up is the thread's own and not how far behind the start left it.
            if due.elapsed() > period {
                pacer.restart();
                restarted = true;
            }
        }
        wakes.sort();
        let usual_wake = wakes.get(wakes.len() / 2).copied().unwrap_or_default();
        let mut stalls = Stalls::default();
        // Reading /proc takes longer than a period and leaves the caches cold: the device
        // clock starts again after it, and a few periods pass before the judging starts.
        let cpu_before = thread_cpu()?;
        let measured_from = Instant::now();
        let mut pacer = Pacer::new(period);
        for _ in 0..SETTLE_PERIODS {
            pacer.wait_for_next();
            for which in 0..count {
                audio.process(which, |block| block.frames = BLOCK_FRAMES)?;
            }
        }
        let mut busy_total = Duration::ZERO;
        let mut busy_max = Duration::ZERO;
        let mut underruns = (0..count)
            .map(|which| audio.underruns(which))
            .collect::<Result<Vec<_>>>()?;
        // The settling clock goes on: the first judged period is due one period after the last
        // settling one.
        for index in 0..judged_periods {
            let due = pacer.wait_for_next();
            let woke = Instant::now();
            for which in 0..count {
                let block = audio.process(which, |block| block.frames = BLOCK_FRAMES)?;
                if is_silent(block.left, block.right) {
                    let underrun = Underrun::Silent { instance: which };
                    return Ok(failed(count, underrun, index, stalls));
                }
            }
            let done = Instant::now();
            // Read after the deadline is judged: the reads are the host's, not the device's.
            for (which, seen) in underruns.iter_mut().enumerate() {
                let now = audio.underruns(which)?;
                if now > *seen {
                    let underrun = Underrun::Counted { instance: which };
                    return Ok(failed(count, underrun, index, stalls));
                }
                *seen = now;
            }
            if done > due + period {
                if usual_wake + (done - woke) <= period {
                    stalls.add(woke - due);
                    pacer.restart();
                    continue;
                }
                let underrun = Underrun::Deadline {
                    late: done - (due + period),
                    woke_after: woke - due,
                };
                return Ok(failed(count, underrun, index, stalls));
            }
            busy_total += done - woke;
            busy_max = busy_max.max(done - woke);
        }
        let elapsed = measured_from.elapsed();
        let cpu_after = thread_cpu()?;
        let cpu = |engine_only: bool| -> Duration {
            cpu_after
                .iter()
                .filter(|(_, (name, _))| !engine_only || name == ENGINE_THREAD)
                .map(|(tid, (_, after))| {
                    let before = cpu_before.get(tid).map_or(Duration::ZERO, |(_, b)| *b);
                    after.saturating_sub(before)
                })
                .sum()
        };
        let share = |cpu: Duration| 100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64();
        let judged = period * judged_periods as u32;
        Ok(Trial {
            instances: count,
            underrun: None,
            stalls,
            load: Some(Load {
                engine_pct_each: share(cpu(true)) / count as f64,
                process_pct: share(cpu(false)),
                host_busy_pct_mean: 100.0 * busy_total.as_secs_f64() / judged.as_secs_f64(),
                host_busy_pct_max: 100.0 * busy_max.as_secs_f64() / period.as_secs_f64(),
            }),
        })
    })
}

fn failed(instances: usize, underrun: Underrun, period_index: usize, stalls: Stalls) -> Trial {
    Trial {
        instances,
        underrun: Some((
            underrun,
            period_index as f64 * f64::from(BLOCK_FRAMES) / SAMPLE_RATE,
        )),
        load: None,
        stalls,
    }
}

/// How the host thread alone, with no instance, keeps its periods on this machine.
struct Floor {
    /// The scheduling the host thread got (see [`become_realtime`]).
    policy: String,
    /// Periods it woke up for more than a period late, so that even no work missed them.
    late_periods: usize,
    worst_wake: Duration,
    median_wake: Duration,
}

/// The host thread of a trial, paced for one trial's length with nothing to process.
fn floor(plan: &Plan) -> Result<Floor> {
    let period = block_duration();
    on_shared_audio_thread(&mut [], |_| {
        let policy = become_realtime();
        let periods = periods(plan.trial_s);
        let mut wakes = Vec::with_capacity(periods);
        let mut pacer = Pacer::new(period);
        for _ in 0..periods {
            let due = pacer.wait_for_next();
            wakes.push(due.elapsed());
        }
        wakes.sort();
        Ok(Floor {
            policy,
            late_periods: wakes.iter().filter(|&&wake| wake > period).count(),
            worst_wake: wakes.last().copied().unwrap_or_default(),
            median_wake: wakes.get(wakes.len() / 2).copied().unwrap_or_default(),
        })
    })
}

fn periods(seconds: f64) -> usize {
    (seconds * SAMPLE_RATE / f64::from(BLOCK_FRAMES)).ceil() as usize
}

/// Instance number `index`, playing, with a seed of its own.
fn seeded_instance(bundle: &ClapBundle, index: usize) -> Result<ClapInstance> {
    let mut instance = bundle.instantiate(PLUGIN_ID)?;
    let seed = instance.param("Seed")?.clone();
    let span = (seed.max_value - seed.min_value).round().max(0.0) + 1.0;
    // Any two seeds differ in every note; spread over the range all the same.
    let value = seed.min_value + (index as f64 * 1009.0 + 7.0) % span;
    instance.flush(&[(seed.id, value)])?;
    start_playing(&mut instance)?;
    Ok(instance)
}

/// CPU time of every thread of this process so far, by thread id: its name and time on a CPU.
fn thread_cpu() -> Result<HashMap<u32, (String, Duration)>> {
    let mut threads = HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task").context("listing /proc/self/task")? {
        let entry = entry?;
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // A thread may end between the listing and the reads: skip it.
        let (Ok(name), Ok(schedstat)) = (
            std::fs::read_to_string(entry.path().join("comm")),
            std::fs::read_to_string(entry.path().join("schedstat")),
        ) else {
            continue;
        };
        let ns: u64 = schedstat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse().ok())
            .with_context(|| format!("unreadable schedstat of thread {tid}: {schedstat:?}"))?;
        threads.insert(tid, (name.trim().to_string(), Duration::from_nanos(ns)));
    }
    Ok(threads)
}

/// The CPU's name from `/proc/cpuinfo`, with its family and model numbers (a virtual machine
/// may show only a generic name).
fn cpu_model() -> Result<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").context("reading /proc/cpuinfo")?;
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|line| line.split(':').next().map(str::trim) == Some(name))
            .and_then(|line| line.split_once(':'))
            .map(|(_, value)| value.trim().to_string())
    };
    let name = field("model name").unwrap_or_else(|| "unknown CPU".into());
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    Ok(match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => {
            format!("{name} (family {family}, model {model}), {cores} logical CPUs")
        }
        _ => format!("{name}, {cores} logical CPUs"),
    })
}
