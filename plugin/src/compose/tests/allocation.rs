//! Emitting already-planned events must not allocate: the composer runs on the engine thread,
//! whose speed must not depend on the allocator. `assert_no_alloc` aborts the test process on any
//! allocation inside the guard (`realtime::tests::alloc_checker_is_armed` proves it does).

use super::*;

#[test]
fn emitting_planned_events_does_not_allocate() {
    let mut composer = Composer::new(3, settings(Key::F, Scale::Major, 1.0));
    let mut out = Vec::with_capacity(4096);
    // Enter a bar in the middle of a phrase: planning happens here.
    composer.advance_to(41.0, &mut out);
    nice_assert_no_alloc::assert_no_alloc(|| {
        let mut beat = 41.0;
        while beat < 43.9 {
            beat += 0.05;
            composer.advance_to(beat, &mut out);
            let _ = composer.current_chord();
        }
    });
    assert!(out.len() > 5);
}

#[test]
fn a_bar_inside_a_planned_phrase_does_not_allocate_once_buffers_are_warm() {
    let mut composer = Composer::new(3, settings(Key::F, Scale::Major, 1.0));
    let mut out = Vec::with_capacity(4096);
    composer.advance_to(36.0, &mut out); // phrase 1 planned, buffers grown
    // Bars 9..15 of the same phrase.
    nice_assert_no_alloc::assert_no_alloc(|| composer.advance_to(60.0, &mut out));
    assert!(!out.is_empty());
}
