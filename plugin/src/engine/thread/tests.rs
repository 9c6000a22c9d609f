//! The engine loop under a test host: determinism however the host is timed, restarts,
//! panics and stalls heard as fades, never clicks.

use super::*;
use crate::engine::config::REALTIME_AHEAD_S;
use crate::params::KeyName;
use crate::realtime::FillOutcome;
use crate::signal::SampleRate;
use crate::synth::RendererChoice;

const SR: f32 = 48_000.0;
const BLOCK: usize = 512;

struct Rig {
    engine: EngineHandle,
    link: EngineLink,
    telemetry: Arc<Telemetry>,
    /// Restarts this host has asked for.
    restarts: u64,
    /// Whether the host gives the engine time to answer each block (see `block_with`).
    patient: bool,
}

fn config(policy: WaitPolicy) -> EngineConfig {
    EngineConfig::for_host(SampleRate::DEFAULT, policy, BLOCK)
}

impl Rig {
    fn start(policy: WaitPolicy) -> Self {
        Self::start_with(policy, Faults::default())
    }

    fn start_with(policy: WaitPolicy, faults: Faults) -> Self {
        Self::start_on(policy, faults, Runner::for_policy(policy))
    }

    fn start_on(policy: WaitPolicy, faults: Faults, runner: Runner) -> Self {
        // The CPU renderer: these tests are about the loop, and probing for a GPU (again for
        // every fresh engine after a panic) can take seconds on a busy machine, longer than a
        // bounce waits for a block.
        let config = EngineConfig {
            renderer: RendererChoice::Cpu,
            ..config(policy)
        };
        Self::launch(config, faults, runner)
    }

    fn launch(config: EngineConfig, faults: Faults, runner: Runner) -> Self {
        let telemetry = Arc::new(Telemetry::default());
        let (engine, link) = start_on(
            EngineSetup {
                config,
                settings: Box::new(MusicalSettings::default()),
                telemetry: telemetry.clone(),
                feed: None,
                midi_out: false,
            },
            faults,
            runner,
        )
        .expect("spawn");
        Self {
            engine,
            link,
            telemetry,
            restarts: 0,
            patient: true,
        }
    }

    /// One host block: request it with `settings`, then play it.
    fn block(&mut self, settings: MusicalSettings, out: &mut [Frame]) -> FillOutcome {
        self.block_with(settings, out, false)
    }

    /// One host block, after the host's `reset()` if `restart`.
    fn block_with(
        &mut self,
        settings: MusicalSettings,
        out: &mut [Frame],
        restart: bool,
    ) -> FillOutcome {
        if restart {
            self.restarts += 1;
        }
        self.link.request(out.len(), settings, None, restart);
        // A realtime host is paced by its sound card, so the engine has a block's time to
        // answer; this test host runs flat out, so it gives the engine that time here, or a
        // loaded test machine would turn scheduling delays into underruns.
        let patience = if self.patient {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        let deadline = std::time::Instant::now() + patience;
        let ready = || {
            let (restarts, restart_frame) = self.telemetry.restarts();
            if restart {
                // The ring still holds stale frames: count only those after the restart.
                restarts >= self.restarts
                    && self.telemetry.frames_rendered() >= restart_frame + out.len() as u64
            } else {
                self.link.queued_frames() >= out.len()
            }
        };
        while !ready() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        let mut left = [0.0; BLOCK];
        let mut right = [0.0; BLOCK];
        let outcome = self
            .link
            .fill(&mut left[..out.len()], &mut right[..out.len()]);
        for (i, frame) in out.iter_mut().enumerate() {
            *frame = [left[i], right[i]];
        }
        outcome
    }
}

#[test]
fn offline_engine_delivers_every_block_without_underrun() {
    let mut rig = Rig::start(WaitPolicy::Offline);
    let mut out = [[0.0; 2]; BLOCK];
    let mut energy = 0.0f64;
    for _ in 0..200 {
        let outcome = rig.block(MusicalSettings::default(), &mut out);
        assert_eq!(outcome, FillOutcome::Complete);
        energy += out.iter().map(|f| (f[0] as f64).powi(2)).sum::<f64>();
    }
    assert!(energy > 1.0, "audible: {energy}");
    assert_eq!(rig.telemetry.underruns(), 0);
    rig.engine.stop();
    assert!(!rig.telemetry.engine_running());
}

#[test]
fn realtime_engine_renders_exactly_its_lead_ahead_and_stops_when_asked() {
    let mut rig = Rig::start(WaitPolicy::Realtime);
    let lead = config(WaitPolicy::Realtime).lead_frames;
    assert!(lead >= BLOCK + (REALTIME_AHEAD_S * SR) as usize);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        rig.link.queued_frames(),
        0,
        "nothing before the first request"
    );
    let mut out = [[0.0; 2]; BLOCK];
    assert_eq!(
        rig.block(MusicalSettings::default(), &mut out),
        FillOutcome::Complete
    );
    // Whole engine blocks up to the block asked for plus the lead, minus the block played:
    // reached however slowly the machine runs (the watchdog only stops a hang), and never
    // exceeded however long the engine is left alone.
    let rendered = (BLOCK + lead).next_multiple_of(ENGINE_BLOCK_FRAMES);
    let watchdog = std::time::Instant::now() + Duration::from_secs(30);
    while rig.link.queued_frames() < rendered - BLOCK && std::time::Instant::now() < watchdog {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(rig.link.queued_frames(), rendered - BLOCK);
    rig.engine.stop();
    assert!(!rig.telemetry.engine_running());
}

/// The same blocks and parameter changes give the same samples whether the host calls
/// `process()` back to back or with pauses: timing never leaks into the music.
fn automated_render(policy: WaitPolicy, pause_every: Option<usize>) -> (Vec<Frame>, u64) {
    let mut rig = Rig::start(policy);
    let mut rendered = Vec::new();
    let mut out = [[0.0; 2]; BLOCK];
    for block in 0..120 {
        let key = if block < 60 { KeyName::D } else { KeyName::G };
        let settings = MusicalSettings {
            key,
            ..MusicalSettings::default()
        };
        if pause_every.is_some_and(|n| block % n == 0) {
            std::thread::sleep(Duration::from_millis(15));
        }
        rig.block(settings, &mut out);
        rendered.extend_from_slice(&out);
    }
    (rendered, rig.telemetry.underruns())
}

#[test]
fn automation_lands_at_the_same_frame_however_the_host_is_timed() {
    for policy in [WaitPolicy::Offline, WaitPolicy::Realtime] {
        let (straight, straight_underruns) = automated_render(policy, None);
        let (paused, paused_underruns) = automated_render(policy, Some(7));
        assert_eq!((straight_underruns, paused_underruns), (0, 0), "{policy:?}");
        assert!(
            straight == paused,
            "{policy:?}: a pause in the host changed the samples"
        );
    }
}

/// Plays `blocks` blocks of the default patch, the first one after a restart.
fn from_the_top(rig: &mut Rig, blocks: usize) -> Vec<Frame> {
    let mut out = [[0.0; 2]; BLOCK];
    let mut rendered = Vec::new();
    for i in 0..blocks {
        rig.block_with(MusicalSettings::default(), &mut out, i == 0);
        rendered.extend_from_slice(&out);
    }
    rendered
}

#[test]
fn a_restart_plays_the_music_from_the_top_without_stale_audio() {
    for policy in [WaitPolicy::Offline, WaitPolicy::Realtime] {
        let mut fresh = Rig::start(policy);
        let expected = from_the_top(&mut fresh, 60);
        let mut used = Rig::start(policy);
        let other = MusicalSettings {
            key: KeyName::G,
            seed: 99,
            ..MusicalSettings::default()
        };
        let mut out = [[0.0; 2]; BLOCK];
        for i in 0..40 {
            used.block_with(other, &mut out, i == 0);
        }
        let restarted = from_the_top(&mut used, 60);
        assert!(
            restarted == expected,
            "{policy:?}: after a restart the music differs from a fresh start"
        );
        assert!(expected.iter().any(|f| f[0] != 0.0), "{policy:?}: audible");
    }
}

/// The largest step between neighbouring samples: a click shows as a step far above what
/// the music's own waveforms make.
fn largest_step(frames: &[Frame]) -> f32 {
    frames
        .windows(2)
        .map(|pair| {
            (pair[1][0] - pair[0][0])
                .abs()
                .max((pair[1][1] - pair[0][1]).abs())
        })
        .fold(0.0, f32::max)
}

fn energy(frames: &[Frame]) -> f64 {
    frames
        .iter()
        .map(|f| (f[0] as f64).powi(2) + (f[1] as f64).powi(2))
        .sum()
}

/// Plays `seconds` of the default patch, returning every frame.
fn play(rig: &mut Rig, seconds: f32) -> Vec<Frame> {
    let mut out = [[0.0; 2]; BLOCK];
    let mut rendered = Vec::new();
    for _ in 0..(seconds * SR) as usize / BLOCK {
        if !rig.patient {
            // Paced like a sound card, so a stalled engine is an underrun, not a wait.
            std::thread::sleep(Duration::from_secs_f32(BLOCK as f32 / SR));
        }
        rig.block(MusicalSettings::default(), &mut out);
        rendered.extend_from_slice(&out);
    }
    rendered
}

/// The natural step of the default patch in its first seconds, which the faults below
/// must not exceed by much.
fn natural_step() -> f32 {
    let mut rig = Rig::start(WaitPolicy::Offline);
    largest_step(&play(&mut rig, 4.0))
}

#[test]
fn a_panicking_engine_fades_out_and_a_fresh_one_plays_on() {
    let natural = natural_step();
    for policy in [WaitPolicy::Offline, WaitPolicy::Realtime] {
        let panic_frame = 2 * SR as u64;
        let faults = Faults {
            panic_at: vec![panic_frame],
            ..Faults::default()
        };
        let mut rig = Rig::start_with(policy, faults);
        let played = play(&mut rig, 5.0);
        assert_eq!(rig.telemetry.engine_panics(), 1, "{policy:?}");
        assert!(
            rig.telemetry.engine_running(),
            "{policy:?}: the engine goes on"
        );
        let step = largest_step(&played);
        assert!(
            step <= natural * 1.5,
            "{policy:?}: a click of {step} at the panic (the music's own steps reach {natural})"
        );
        let panic_at = panic_frame as usize;
        let before = energy(&played[panic_at - SR as usize..panic_at]);
        let after = energy(&played[panic_at + SR as usize..panic_at + 2 * SR as usize]);
        assert!(
            before > 1.0 && after > 1.0,
            "{policy:?}: music before ({before}) and after ({after}) the panic"
        );
        rig.engine.stop();
        assert!(!rig.telemetry.engine_running());
    }
}

#[test]
fn an_engine_that_keeps_panicking_falls_silent_without_a_click() {
    let natural = natural_step();
    let second = SR as u64;
    let faults = Faults {
        panic_at: vec![second / 2, second, 3 * second / 2, 2 * second],
        ..Faults::default()
    };
    let mut rig = Rig::start_with(WaitPolicy::Offline, faults);
    let played = play(&mut rig, 4.0);
    assert_eq!(rig.telemetry.engine_panics(), 4);
    let step = largest_step(&played);
    assert!(
        step <= natural * 1.5,
        "a click of {step} (natural {natural})"
    );
    let silenced_from = 2 * SR as usize + ENGINE_BLOCK_FRAMES;
    assert!(
        played[silenced_from..].iter().all(|f| *f == [0.0; 2]),
        "silence after the fourth panic in a minute"
    );
    assert_eq!(
        rig.telemetry.underruns(),
        0,
        "the silenced engine still answers every block"
    );
    assert!(rig.telemetry.engine_running());
}

#[test]
fn a_panic_during_a_restart_still_plays_the_music_from_the_top() {
    let mut fresh = Rig::start(WaitPolicy::Offline);
    let expected = from_the_top(&mut fresh, 60);
    let faults = Faults {
        panic_on_restart: true,
        ..Faults::default()
    };
    let mut used = Rig::start_with(WaitPolicy::Offline, faults);
    let mut out = [[0.0; 2]; BLOCK];
    for _ in 0..40 {
        used.block(MusicalSettings::default(), &mut out);
    }
    let restarted = from_the_top(&mut used, 60);
    assert_eq!(used.telemetry.engine_panics(), 1);
    assert!(
        restarted == expected,
        "after a panic during a restart the music differs from a fresh start"
    );
}

#[test]
fn a_starved_engine_fades_out_then_the_music_fades_back_in() {
    let natural = natural_step();
    let faults = Faults {
        stall_at: Some((SR as u64, Duration::from_millis(300))),
        ..Faults::default()
    };
    let mut rig = Rig::start_with(WaitPolicy::Realtime, faults);
    rig.patient = false;
    // The first blocks, before the engine has its lead, may come up short on a busy
    // machine: count underruns from when the music is flowing.
    play(&mut rig, 0.5);
    let before = rig.telemetry.underruns();
    let played = play(&mut rig, 3.0);
    let underruns = rig.telemetry.underruns() - before;
    assert!(underruns >= 1, "a 300 ms stall runs the ring dry");
    let step = largest_step(&played);
    assert!(
        step <= natural * 1.5,
        "a click of {step} (natural {natural})"
    );
    let tail = &played[played.len() - SR as usize..];
    assert!(energy(tail) > 1.0, "the music came back");
}

/// The block at which [`many_settings`] change key.
const KEY_CHANGE_BLOCK: usize = 20;

/// What the host sends engine `seed` for `block`: a patch of its own, a brightness that
/// changes with every block and a key change, so that an engine plays the same only if it
/// renders every frame with the settings of the request it answers.
fn many_settings(seed: u32, block: usize) -> MusicalSettings {
    MusicalSettings {
        seed,
        key: if block < KEY_CHANGE_BLOCK {
            KeyName::D
        } else {
            KeyName::G
        },
        brightness: if block.is_multiple_of(2) { 0.2 } else { 0.9 },
        ..MusicalSettings::default()
    }
}

/// Plays `blocks` on each rig in turn, as a host with many instances does, rig `i` with
/// `seeds[i]`; appends what each played to `played[i]`.
fn play_together(
    rigs: &mut [Rig],
    seeds: &[u32],
    blocks: std::ops::Range<usize>,
    played: &mut [Vec<Frame>],
) {
    let mut out = [[0.0; 2]; BLOCK];
    for block in blocks {
        for ((rig, &seed), played) in rigs.iter_mut().zip(seeds).zip(played.iter_mut()) {
            assert_eq!(
                rig.block(many_settings(seed, block), &mut out),
                FillOutcome::Complete,
                "seed {seed}, block {block}"
            );
            played.extend_from_slice(&out);
        }
    }
}

/// What a realtime engine on a thread of its own plays for `seed`'s first `blocks` blocks.
fn alone(seed: u32, blocks: usize) -> Vec<Frame> {
    let mut rig = Rig::start_on(WaitPolicy::Realtime, Faults::default(), Runner::Dedicated);
    assert_eq!(rig.engine.pool_id(), None);
    let mut played = vec![Vec::new()];
    play_together(
        std::slice::from_mut(&mut rig),
        &[seed],
        0..blocks,
        &mut played,
    );
    assert_eq!(rig.telemetry.underruns(), 0, "seed {seed} alone");
    played.remove(0)
}

#[test]
fn many_pooled_engines_each_play_what_an_engine_of_its_own_plays() {
    const ENGINES: u32 = 24;
    const BLOCKS: usize = 2 * KEY_CHANGE_BLOCK;
    let seeds: Vec<u32> = (1..=ENGINES).collect();
    let mut rigs: Vec<Rig> = seeds
        .iter()
        .map(|_| Rig::start(WaitPolicy::Realtime))
        .collect();
    assert!(rigs.iter().all(|rig| rig.engine.pool_id().is_some()));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let workers = pool::workers();
    assert!(
        (1..=cores).contains(&workers),
        "{workers} workers on {cores} cores"
    );
    let mut played = vec![Vec::new(); seeds.len()];
    play_together(&mut rigs, &seeds, 0..BLOCKS, &mut played);
    for (rig, seed) in rigs.iter().zip(&seeds) {
        assert_eq!(rig.telemetry.underruns(), 0, "seed {seed}");
    }
    assert!(played[0] != played[1], "different seeds, different music");
    for (seed, played) in seeds.iter().zip(&played) {
        assert!(energy(played) > 1.0, "seed {seed}: audible");
        assert!(
            *played == alone(*seed, BLOCKS),
            "seed {seed}: the pool changed the samples"
        );
    }
}

#[test]
fn stopping_one_pooled_engine_leaves_the_others_playing() {
    const BLOCKS: usize = 2 * KEY_CHANGE_BLOCK;
    let seeds = [11, 12, 13];
    let mut rigs: Vec<Rig> = seeds
        .iter()
        .map(|_| Rig::start(WaitPolicy::Realtime))
        .collect();
    let mut played = vec![Vec::new(); seeds.len()];
    play_together(&mut rigs, &seeds, 0..BLOCKS / 2, &mut played);

    let Rig {
        engine,
        link,
        telemetry,
        ..
    } = rigs.remove(1);
    played.remove(1);
    let id = engine.pool_id().expect("the pool runs realtime engines");
    assert!(pool::is_registered(id));
    // The engine's own ends of its rings and counters, the audio side's and this test's.
    assert_eq!(Arc::strong_count(&telemetry), 3);
    let playing = [seeds[0], seeds[2]];
    std::thread::scope(|scope| {
        scope.spawn(|| engine.stop());
        play_together(&mut rigs, &playing, BLOCKS / 2..BLOCKS, &mut played);
    });
    assert!(!pool::is_registered(id), "unregistered");
    assert!(!telemetry.engine_running());
    assert_eq!(
        Arc::strong_count(&telemetry),
        2,
        "the engine, core and all, has been dropped"
    );
    drop(link);

    for ((rig, seed), played) in rigs.iter().zip(playing).zip(&played) {
        assert_eq!(rig.telemetry.underruns(), 0, "seed {seed}");
        assert!(
            *played == alone(seed, BLOCKS),
            "seed {seed}: stopping another engine changed the samples"
        );
    }
}

#[test]
fn a_pooled_engine_stopped_before_its_first_block_is_gone() {
    let Rig {
        engine,
        link,
        telemetry,
        ..
    } = Rig::start(WaitPolicy::Realtime);
    let id = engine.pool_id().expect("the pool runs realtime engines");
    engine.stop();
    assert!(!pool::is_registered(id), "unregistered");
    assert!(!telemetry.engine_running());
    assert_eq!(
        Arc::strong_count(&telemetry),
        2,
        "nothing of the engine is left"
    );
    drop(link);
}

/// Plays `blocks` blocks of [`many_settings`], the first one after a restart.
fn changing_from_the_top(rig: &mut Rig, blocks: usize) -> Vec<Frame> {
    let mut out = [[0.0; 2]; BLOCK];
    let mut rendered = Vec::new();
    for block in 0..blocks {
        rig.block_with(many_settings(7, block), &mut out, block == 0);
        rendered.extend_from_slice(&out);
    }
    rendered
}

/// After a restart the ring still holds the stale frames rendered before it, so the engine
/// runs out of room in the middle of answering and must take the answer up again once the
/// audio thread has skipped them, with the settings of the request it was answering.
#[test]
fn a_restart_into_a_full_ring_takes_its_answer_up_again() {
    let mut fresh = Rig::start(WaitPolicy::Realtime);
    let expected = changing_from_the_top(&mut fresh, 30);
    let mut used = Rig::start(WaitPolicy::Realtime);
    let mut out = [[0.0; 2]; BLOCK];
    for _ in 0..20 {
        used.block(MusicalSettings::default(), &mut out);
    }
    let restarted = changing_from_the_top(&mut used, 30);
    assert_eq!(used.telemetry.underruns(), 0);
    assert!(
        restarted == expected,
        "after a restart into a full ring the music differs from a fresh start"
    );
}

/// Waits (bounded) until the engine has answered the previous request in full, as it has on
/// a host paced by its sound card: its whole lead queued, behind the stale frames of a
/// pending splice, and at least `splices` splices published.
fn wait_for_lead(rig: &Rig, lead: usize, splices: u64) {
    let watchdog = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (published, from, to) = rig.telemetry.newest_splice();
        let consumed = rig.link.frames_consumed();
        let skipped = if published > 0 && consumed < to {
            to - from
        } else {
            0
        };
        let answered = rig.telemetry.frames_rendered() >= consumed + lead as u64 + skipped;
        if (answered && published >= splices) || std::time::Instant::now() > watchdog {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_change_revises_the_lead_and_is_heard_a_margin_later_not_a_lead_later() {
    use crate::engine::revision::{MARGIN_S, SAVE_INTERVAL_S};
    let sample_rate = SampleRate::DEFAULT;
    // Like `serve`: a long lead, revised on a change.
    let config = EngineConfig {
        lead_frames: sample_rate.frames(0.5),
        renderer: RendererChoice::Cpu,
        revise_lead: true,
        ..EngineConfig::for_host(sample_rate, WaitPolicy::Realtime, ENGINE_BLOCK_FRAMES)
    };
    let mut rig = Rig::launch(config, Faults::default(), Runner::for_policy(config.policy));
    let before = MusicalSettings::default();
    // Brightness is heard at once (a key from the next notes the composer plans).
    let after = MusicalSettings {
        brightness: if before.brightness > 0.5 { 0.1 } else { 0.9 },
        key: KeyName::A,
        ..before
    };
    let (change_block, blocks) = (400, 800);
    let mut played = Vec::new();
    let mut out = [[0.0; 2]; ENGINE_BLOCK_FRAMES];
    for block in 0..blocks {
        if block > 0 {
            wait_for_lead(&rig, config.lead_frames, u64::from(block > change_block));
        }
        let settings = if block < change_block { before } else { after };
        assert_eq!(rig.block(settings, &mut out), FillOutcome::Complete);
        played.extend_from_slice(&out);
    }
    assert_eq!(rig.telemetry.underruns(), 0);
    let (splices, from, to) = rig.telemetry.newest_splice();
    assert_eq!(splices, 1, "one change, one splice");
    let asked_at = (change_block * ENGINE_BLOCK_FRAMES) as u64;
    let margin = sample_rate.frames(MARGIN_S) as u64;
    // The engine may see the request a block after the host played it.
    let latest =
        margin + sample_rate.frames(SAVE_INTERVAL_S) as u64 + 2 * ENGINE_BLOCK_FRAMES as u64;
    assert!(
        (margin..=latest).contains(&(from - asked_at)),
        "the change is heard {} frames after it was asked for, not within {margin}..={latest}",
        from - asked_at
    );
    assert!(
        to - from > config.lead_frames as u64 / 2,
        "what was revised is most of the lead: {} frames",
        to - from
    );

    // A host without a lead that made the change exactly at the splice hears the same.
    let offline = |change_at: u64| {
        let mut rig = Rig::start(WaitPolicy::Offline);
        let mut rendered = Vec::new();
        let mut out = [[0.0; 2]; ENGINE_BLOCK_FRAMES];
        for block in 0..blocks {
            let at = (block * ENGINE_BLOCK_FRAMES) as u64;
            let settings = if at < change_at { before } else { after };
            rig.block(settings, &mut out);
            rendered.extend_from_slice(&out);
        }
        rendered
    };
    let reference = offline(from);
    let unchanged = offline(u64::MAX);
    let heard = played.iter().zip(&unchanged).position(|(a, b)| a != b);
    assert!(
        heard.is_some_and(
            |frame| (from..from + ENGINE_BLOCK_FRAMES as u64).contains(&(frame as u64))
        ),
        "the change is heard from the splice at {from} on, not at {heard:?}"
    );
    let (from, fade) = (from as usize, sample_rate.frames(f64::from(SPLICE_FADE_S)));
    assert!(
        played[..from] == reference[..from],
        "unchanged before the splice"
    );
    assert!(
        played[from + fade..] == reference[from + fade..],
        "after the crossfade, exactly what the change makes of the music"
    );
    assert!(played[from..].iter().any(|f| f[0] != 0.0), "audible");
    let seam = from - 2048..from + fade + 2048;
    assert!(
        largest_step(&played[seam.clone()]) <= 1.5 * largest_step(&reference[seam.clone()]),
        "no click at the splice: {} against {}",
        largest_step(&played[seam.clone()]),
        largest_step(&reference[seam])
    );
}
