//! The key, heard: the music plays in the key set by automation, and moves when it changes.

use auralis_tests::checks::assert_sane;
use auralis_tests::clap_host::{ClapInstance, Rendered};

use crate::measure::{chroma, format_chroma, strongest_class};
use crate::{new_instance, param_event};

/// Renders 3 s at 48 kHz after setting Key through the first block's input events.
fn render_in_key(key: &str) -> (ClapInstance, Rendered) {
    let mut instance = new_instance();
    let key_id = instance.param("Key").expect("Key").id;
    let value = instance.text_to_value(key_id, key).expect("parse key");
    let event = param_event(&instance, "Key", 0, value);
    instance.activate(48_000.0, 512).expect("activate");
    let rendered = instance
        .process_blocks(282, |i, block| {
            if i == 0 {
                block.events.push(event);
            }
        })
        .expect("process");
    assert_sane(&rendered, key);
    assert!((instance.value(key_id).expect("Key") - value).abs() < 1e-4);
    assert_eq!(instance.text_by_name("Key").expect("text"), key);
    (instance, rendered)
}

#[test]
fn key_automation_in_process_transposes_the_music() {
    // Two instances, same seed and time window, one in C and one in F# (Dorian, the default
    // scale): each plays in its own key, so the pitch classes move by a tritone. The weights
    // differ (registers are fixed, so a transposed chord is voiced differently), so the test
    // checks which scale the energy falls on, not that the spectra match.
    let (mut in_c, rendered_c) = render_in_key("C");
    let (_, rendered_f_sharp) = render_in_key("F#");
    let (l, r) = rendered_c.tail(2.0);
    let chroma_c = chroma(l, r, rendered_c.sample_rate);
    let (l, r) = rendered_f_sharp.tail(2.0);
    let chroma_f_sharp = chroma(l, r, rendered_f_sharp.sample_rate);
    let shares = |chroma: &[f64; 12]| (dorian_share(chroma, 0), dorian_share(chroma, 6));
    eprintln!(
        "chroma in C:  {}\nchroma in F#: {}\nC Dorian / F# Dorian shares: {:?} and {:?}",
        format_chroma(&chroma_c),
        format_chroma(&chroma_f_sharp),
        shares(&chroma_c),
        shares(&chroma_f_sharp),
    );
    assert_ne!(
        strongest_class(&chroma_c),
        strongest_class(&chroma_f_sharp),
        "the strongest pitch class did not move with the key"
    );
    assert!(
        dorian_share(&chroma_c, 0) > 0.8,
        "C: {}",
        format_chroma(&chroma_c)
    );
    assert!(
        dorian_share(&chroma_f_sharp, 6) > 0.8,
        "F#: {}",
        format_chroma(&chroma_f_sharp)
    );
    // Two Dorian scales a tritone apart share two pitch classes, so neither render may fit the
    // other key nearly as well as its own.
    assert!(dorian_share(&chroma_c, 0) > dorian_share(&chroma_c, 6) + 0.25);
    assert!(dorian_share(&chroma_f_sharp, 6) > dorian_share(&chroma_f_sharp, 0) + 0.25);

    // Automating the key mid-stream (an event in the middle of a block) moves the music there,
    // at the next chord change: within 20 s at the default intensity.
    let key_f_sharp = param_event(&in_c, "Key", 100, 6.0);
    let changed = in_c
        .process_blocks(1_875, |i, block| {
            if i == 0 {
                block.events.push(key_f_sharp);
            }
        })
        .expect("process");
    assert_sane(&changed, "after a key change");
    assert_eq!(in_c.text_by_name("Key").expect("text"), "F#");
    let (l, r) = changed.tail(5.0);
    let chroma_changed = chroma(l, r, changed.sample_rate);
    let (in_c_share, in_f_sharp_share) = shares(&chroma_changed);
    eprintln!(
        "after C → F# mid-stream: {} (C Dorian {in_c_share:.2}, F# Dorian {in_f_sharp_share:.2})",
        format_chroma(&chroma_changed)
    );
    assert!(
        in_f_sharp_share > 0.8 && in_f_sharp_share > in_c_share,
        "after switching to F# the music is not in F# Dorian: {}",
        format_chroma(&chroma_changed)
    );
}

/// Share of the chroma on the Dorian scale starting at pitch class `tonic`.
fn dorian_share(chroma: &[f64; 12], tonic: usize) -> f64 {
    [0, 2, 3, 5, 7, 9, 10]
        .iter()
        .map(|step| chroma[(tonic + step) % 12])
        .sum()
}
