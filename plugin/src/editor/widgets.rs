//! Drawing the music: the piano roll with its legend, the spectrum and the level meters.
//!
//! On a software renderer every filled pixel costs, every frame; so the roll is lines and
//! notes on the window's ground, not a filled card, and shading is kept to the chord that
//! sounds now.

use egui::{Align2, Color32, CornerRadius, Mesh, Pos2, Rect, Stroke, StrokeKind, pos2, vec2};

use super::theme::{ACCENT, BACKGROUND, LINE, MUTED, SURFACE, TEXT, Voice, display_font};
use super::view::{
    METER_FLOOR_DB, MeterLevels, NoteState, PianoRoll, ROLL_FUTURE_BEATS, ROLL_PAST_BEATS,
    SPECTRUM_BANDS, band_hz,
};

/// Width of the roll's left gutter, where the octaves are named.
const GUTTER: f32 = 30.0;
/// Height of the percussion lane at the foot of the roll.
const LANE: f32 = 18.0;
/// Height of the strip at the head of the roll that names the chords.
const CHORD_STRIP: f32 = 18.0;

/// The piano roll: past notes on the left, the playhead, planned notes (outlined) on the
/// right; the chords along the top, the one sounding now shaded; percussion on its own lane.
/// Returns the roll's rectangle.
pub fn piano_roll(ui: &mut egui::Ui, roll: &PianoRoll, height: f32) -> Rect {
    let (response, painter) =
        ui.allocate_painter(vec2(ui.available_width(), height), egui::Sense::hover());
    let rect = response.rect;
    let notes_area = Rect::from_min_max(
        pos2(rect.left() + GUTTER, rect.top() + CHORD_STRIP),
        pos2(rect.right(), rect.bottom() - LANE),
    );
    let lane = Rect::from_min_max(
        pos2(notes_area.left(), notes_area.bottom()),
        pos2(rect.right(), rect.bottom()),
    );
    let span = ROLL_PAST_BEATS + ROLL_FUTURE_BEATS;
    let beat_x = |beat: f64| {
        let t = (beat - (roll.beat() - ROLL_PAST_BEATS)) / span;
        notes_area.left() + notes_area.width() * t.clamp(0.0, 1.0) as f32
    };
    let now_x = beat_x(roll.beat());

    // The chords: the one sounding now shaded from where it began to the playhead, every one
    // named along the top where there is room for its name.
    let font = display_font(11.5);
    let chords: Vec<_> = roll.chords().collect();
    for (index, (chord, end)) in chords.iter().enumerate() {
        let (left, right) = (beat_x(chord.start), beat_x(*end));
        let current = index + 1 == chords.len();
        if current && right - left > 1.0 {
            let shade = Rect::from_min_max(pos2(left, rect.top()), pos2(right, lane.bottom()));
            painter.rect_filled(shade, CornerRadius::ZERO, ACCENT.gamma_multiply(0.07));
        }
        if index > 0 {
            painter.vline(
                left,
                rect.top()..=notes_area.bottom(),
                Stroke::new(1.0, LINE),
            );
        }
        let colour = if current { TEXT } else { MUTED };
        let galley = painter.layout_no_wrap(chord.name.clone(), font.clone(), colour);
        let text_left = left.max(notes_area.left()) + 5.0;
        let limit = if current { now_x } else { right };
        if text_left + galley.size().x + 4.0 <= limit {
            painter.galley(
                pos2(
                    text_left,
                    rect.top() + (CHORD_STRIP - galley.size().y) / 2.0,
                ),
                galley,
                colour,
            );
        }
    }

    let (low, high) = roll.pitch_range();
    let rows = f32::from(high - low + 1);
    let row_height = notes_area.height() / rows;
    let pitch_y =
        |pitch: u8| notes_area.bottom() - f32::from(pitch.saturating_sub(low) + 1) * row_height;

    // A line at every C, named in the gutter where the name fits between the strips.
    for pitch in (low..=high).filter(|p| p % 12 == 0) {
        let y = pitch_y(pitch) + row_height;
        painter.hline(notes_area.x_range(), y, Stroke::new(1.0, LINE));
        if y < notes_area.top() + 7.0 || y > notes_area.bottom() - 7.0 {
            continue;
        }
        painter.text(
            pos2(rect.left() + 2.0, y),
            Align2::LEFT_CENTER,
            format!("C{}", i32::from(pitch) / 12 - 1),
            display_font(10.5),
            MUTED,
        );
    }
    // Bar lines, fixed to the music so they scroll with it; beats as ticks at the foot.
    let first = (roll.beat() - ROLL_PAST_BEATS).ceil() as i64;
    let last = (roll.beat() + ROLL_FUTURE_BEATS).floor() as i64;
    for beat in first..=last {
        let x = beat_x(beat as f64);
        if beat.rem_euclid(4) == 0 {
            painter.vline(x, notes_area.y_range(), Stroke::new(1.0, LINE));
        } else {
            painter.vline(
                x,
                notes_area.bottom() - 4.0..=notes_area.bottom(),
                Stroke::new(1.0, LINE),
            );
        }
    }
    painter.hline(lane.x_range(), lane.top(), Stroke::new(1.0, LINE));
    painter.text(
        pos2(rect.left() + 2.0, lane.center().y),
        Align2::LEFT_CENTER,
        "perc",
        display_font(10.5),
        MUTED,
    );

    for note in roll.visible() {
        let voice = Voice::of(note.layer);
        let colour = voice.colour();
        let state = note.state(roll.beat());
        // Louder notes are more opaque; what has sounded fades.
        let velocity = note.velocity.clamp(0.0, 1.0);
        let alpha = match state {
            NoteState::Sounding => 0.55 + 0.45 * velocity,
            NoteState::Past => 0.25 + 0.35 * velocity,
            NoteState::Planned => 0.9,
        };
        let (x0, x1) = (beat_x(note.start), beat_x(note.end));
        if voice == Voice::Percussion {
            let centre = pos2(x0, lane.center().y);
            let radius = 2.5 + 2.5 * velocity;
            if state == NoteState::Planned {
                painter.circle_stroke(centre, radius, Stroke::new(1.0, colour));
            } else {
                painter.circle_filled(centre, radius, colour.gamma_multiply(alpha));
            }
            continue;
        }
        if note.pitch < low || note.pitch > high {
            continue;
        }
        let y = pitch_y(note.pitch);
        let inset = (row_height * 0.12).min(1.0);
        let note_rect = Rect::from_min_max(
            pos2(x0, y + inset),
            pos2(x1.max(x0 + 3.0), y + row_height - inset),
        );
        let radius = CornerRadius::same(2);
        if state == NoteState::Planned {
            painter.rect_stroke(
                note_rect,
                radius,
                Stroke::new(1.0, colour.gamma_multiply(alpha)),
                StrokeKind::Inside,
            );
        } else {
            painter.rect_filled(note_rect, radius, colour.gamma_multiply(alpha));
        }
    }

    // The playhead: a soft glow trailing it and a calm line, not a hard cursor.
    let glow = Rect::from_min_max(
        pos2(now_x - 18.0, notes_area.top()),
        pos2(now_x, lane.bottom()),
    );
    painter.add(horizontal_gradient(
        glow,
        Color32::TRANSPARENT,
        ACCENT.gamma_multiply(0.16),
    ));
    painter.vline(
        now_x,
        notes_area.top()..=lane.bottom(),
        Stroke::new(1.5, ACCENT.gamma_multiply(0.85)),
    );
    let planned = painter.layout_no_wrap("planned".to_owned(), font, MUTED);
    if now_x + 6.0 + planned.size().x <= rect.right() - 4.0 {
        let y = rect.top() + (CHORD_STRIP - planned.size().y) / 2.0;
        painter.galley(pos2(now_x + 6.0, y), planned, MUTED);
    }
    painter.rect_stroke(
        rect,
        CornerRadius::same(6),
        Stroke::new(1.0, LINE),
        StrokeKind::Inside,
    );
    rect
}

/// A rectangle shaded from `left` to `right`.
fn horizontal_gradient(rect: Rect, left: Color32, right: Color32) -> Mesh {
    let mut mesh = Mesh::default();
    mesh.colored_vertex(rect.left_top(), left);
    mesh.colored_vertex(rect.left_bottom(), left);
    mesh.colored_vertex(rect.right_top(), right);
    mesh.colored_vertex(rect.right_bottom(), right);
    mesh.add_triangle(0, 1, 2);
    mesh.add_triangle(1, 2, 3);
    mesh
}

/// The legend: each layer's hue and name, wrapping onto a second line in a narrow window.
pub fn legend(ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 14.0;
        for voice in Voice::ALL {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 5.0;
                let (rect, _) = ui.allocate_exact_size(vec2(9.0, 9.0), egui::Sense::hover());
                ui.painter()
                    .circle_filled(rect.center(), 4.5, voice.colour());
                ui.label(egui::RichText::new(voice.name()).color(MUTED).small());
            });
        }
    });
}

/// The spectrum as bars, third-octave bands from 40 Hz.
pub fn spectrum(ui: &mut egui::Ui, bands: &[f32; SPECTRUM_BANDS], size: egui::Vec2) {
    let (response, painter) = ui.allocate_painter(size, egui::Sense::hover());
    let rect = response.rect;
    painter.rect_stroke(
        rect,
        CornerRadius::same(6),
        Stroke::new(1.0, LINE),
        StrokeKind::Inside,
    );
    let inner = Rect::from_min_max(
        pos2(rect.left() + 8.0, rect.top() + 8.0),
        pos2(rect.right() - 8.0, rect.bottom() - 18.0),
    );
    let slot = inner.width() / SPECTRUM_BANDS as f32;
    for (index, &db) in bands.iter().enumerate() {
        let fraction = MeterLevels::fraction(db);
        if fraction <= 0.0 {
            continue;
        }
        let x = inner.left() + slot * index as f32;
        let bar = Rect::from_min_max(
            pos2(x + 1.0, inner.bottom() - inner.height() * fraction),
            pos2(x + slot - 1.5, inner.bottom()),
        );
        // Low bands in the drone's blue, high ones in the texture's sea green: the spectrum
        // reads like the layers that fill it.
        let t = index as f32 / (SPECTRUM_BANDS - 1) as f32;
        let colour = lerp(Voice::Drone.colour(), Voice::Texture.colour(), t);
        painter.rect_filled(
            bar,
            CornerRadius::same(1),
            colour.gamma_multiply(0.45 + 0.5 * fraction),
        );
    }
    for index in [3, 12, 21] {
        let x = inner.left() + slot * (index as f32 + 0.5);
        let hz = band_hz(index);
        let label = if hz >= 1000.0 {
            format!("{:.0} kHz", hz / 1000.0)
        } else {
            format!("{hz:.0} Hz")
        };
        painter.text(
            pos2(x, rect.bottom() - 3.0),
            Align2::CENTER_BOTTOM,
            label,
            display_font(10.5),
            MUTED,
        );
    }
}

fn lerp(a: Color32, b: Color32, t: f32) -> Color32 {
    let mix = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

/// Two vertical meters, left and right: RMS as the bar, the falling peak as a line.
pub fn meters(ui: &mut egui::Ui, levels: &MeterLevels, size: egui::Vec2) {
    let (response, painter) = ui.allocate_painter(size, egui::Sense::hover());
    let rect = response.rect;
    painter.rect_stroke(
        rect,
        CornerRadius::same(6),
        Stroke::new(1.0, LINE),
        StrokeKind::Inside,
    );
    let inner = Rect::from_min_max(
        pos2(rect.left() + 8.0, rect.top() + 8.0),
        pos2(rect.right() - 8.0, rect.bottom() - 18.0),
    );
    let width = (inner.width() - 6.0) / 2.0;
    for channel in 0..2 {
        let left = inner.left() + channel as f32 * (width + 6.0);
        let column = Rect::from_min_size(pos2(left, inner.top()), vec2(width, inner.height()));
        painter.rect_filled(column, CornerRadius::same(2), SURFACE);
        let y = |db: f32| column.bottom() - column.height() * MeterLevels::fraction(db);
        let bar = Rect::from_min_max(pos2(column.left(), y(levels.rms_db[channel])), column.max);
        painter.rect_filled(bar, CornerRadius::same(2), ACCENT.gamma_multiply(0.8));
        let peak_y = y(levels.peak_db[channel]);
        if levels.peak_db[channel] > METER_FLOOR_DB {
            painter.line_segment(
                [pos2(column.left(), peak_y), pos2(column.right(), peak_y)],
                Stroke::new(2.0, TEXT),
            );
        }
    }
    // Scale marks every 12 dB.
    for db in [-12.0, -24.0, -36.0, -48.0] {
        let y = inner.bottom() - inner.height() * MeterLevels::fraction(db);
        painter.line_segment(
            [Pos2::new(inner.left(), y), Pos2::new(inner.right(), y)],
            Stroke::new(1.0, BACKGROUND.gamma_multiply(0.8)),
        );
    }
    painter.text(
        pos2(rect.center().x, rect.bottom() - 3.0),
        Align2::CENTER_BOTTOM,
        "L  R",
        display_font(10.5),
        MUTED,
    );
}
