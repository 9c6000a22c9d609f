//! The golden score: the first phrases of one fixed seed, stored as text beside the test. Any
//! change to what the composer plays shows up here as a readable diff. When a change is
//! intended, re-bless the file on purpose: `AURALIS_BLESS=1 cargo test -p auralis golden`.

use std::fmt::Write;

use super::*;

/// Where the score is stored, relative to the crate.
const GOLDEN_PATH: &str = "src/compose/tests/golden_seed7.txt";

/// Every event of the first 24 bars of seed 7 in D Dorian at Intensity 0.6, one per line.
fn score() -> String {
    let events = render(7, settings(Key::D, Scale::Dorian, 0.6), 96.0);
    let mut text = String::from("# start_beat duration_beats layer midi_note velocity borrowed\n");
    for e in &events {
        let _ = writeln!(
            text,
            "{:.4} {:.4} {:?} {} {:.3} {}",
            e.start_beat, e.duration_beats, e.layer, e.midi_note, e.velocity, e.borrowed
        );
    }
    text
}

#[test]
fn the_golden_score_is_unchanged() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN_PATH);
    let score = score();
    if std::env::var_os("AURALIS_BLESS").is_some() {
        std::fs::write(&path, &score).expect("write the golden score");
        return;
    }
    let stored = std::fs::read_to_string(&path).expect("the golden score is stored");
    if stored != score {
        let first = stored
            .lines()
            .zip(score.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(stored.lines().count().min(score.lines().count()));
        panic!(
            "the composer no longer plays the golden score; first difference at line {}:\n  \
             stored: {:?}\n  now:    {:?}\n(if intended: AURALIS_BLESS=1 cargo test -p auralis \
             golden)",
            first + 1,
            stored.lines().nth(first),
            score.lines().nth(first)
        );
    }
    assert!(score.lines().count() > 40, "the score has music in it");
}
