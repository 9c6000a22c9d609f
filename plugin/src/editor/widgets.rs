//! Drawing the music: the piano roll, the spectrum and the level meters.

use egui::{Align2, Color32, CornerRadius, Pos2, Rect, Stroke, pos2, vec2};

use super::theme::{ACCENT, BACKGROUND, GRID, MUTED, SURFACE, display_font};
use super::view::{
    METER_FLOOR_DB, MeterLevels, NoteState, PianoRoll, ROLL_FUTURE_BEATS, ROLL_PAST_BEATS,
    SPECTRUM_BANDS, band_hz,
};
use crate::compose::Layer;

/// The accent in a shade per layer: the melody brightest, the drone darkest, percussion grey.
fn layer_colour(layer: Option<Layer>) -> Color32 {
    match layer {
        Some(Layer::Melody) => ACCENT,
        Some(Layer::Texture) => Color32::from_rgb(170, 226, 218),
        Some(Layer::Pad) => Color32::from_rgb(62, 140, 130),
        Some(Layer::Drone) => Color32::from_rgb(40, 96, 90),
        Some(Layer::Percussion(_)) | None => MUTED,
    }
}

/// The piano roll: past notes on the left, the playhead, planned notes on the right.
pub fn piano_roll(ui: &mut egui::Ui, roll: &PianoRoll, height: f32) {
    let (response, painter) =
        ui.allocate_painter(vec2(ui.available_width(), height), egui::Sense::hover());
    let rect = response.rect;
    painter.rect_filled(rect, CornerRadius::same(6), SURFACE);
    let (low, high) = roll.pitch_range();
    let rows = f32::from(high - low + 1);
    let row_height = rect.height() / rows;
    let span = ROLL_PAST_BEATS + ROLL_FUTURE_BEATS;
    let beat_x = |beat: f64| {
        let t = (beat - (roll.beat() - ROLL_PAST_BEATS)) / span;
        rect.left() + rect.width() * t.clamp(0.0, 1.0) as f32
    };
    let pitch_y = |pitch: u8| rect.bottom() - f32::from(pitch.saturating_sub(low) + 1) * row_height;

    // Black-key rows shaded, as on a keyboard, and a line at every C.
    for pitch in low..=high {
        let y = pitch_y(pitch);
        if matches!(pitch % 12, 1 | 3 | 6 | 8 | 10) {
            let row = Rect::from_min_size(pos2(rect.left(), y), vec2(rect.width(), row_height));
            painter.rect_filled(row, CornerRadius::ZERO, BACKGROUND.gamma_multiply(0.5));
        }
        if pitch % 12 == 0 {
            let y = y + row_height;
            painter.line_segment(
                [pos2(rect.left(), y), pos2(rect.right(), y)],
                Stroke::new(1.0, GRID),
            );
            painter.text(
                pos2(rect.left() + 4.0, y - 2.0),
                Align2::LEFT_BOTTOM,
                format!("C{}", i32::from(pitch) / 12 - 1),
                display_font(10.0),
                MUTED,
            );
        }
    }
    // Beat lines, fixed to the music so they scroll with it.
    let first = (roll.beat() - ROLL_PAST_BEATS).ceil() as i64;
    let last = (roll.beat() + ROLL_FUTURE_BEATS).floor() as i64;
    for beat in first..=last {
        let x = beat_x(beat as f64);
        let strong = beat.rem_euclid(4) == 0;
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(
                1.0,
                if strong {
                    GRID
                } else {
                    GRID.gamma_multiply(0.45)
                },
            ),
        );
    }

    for note in roll.visible() {
        if note.pitch < low || note.pitch > high {
            continue;
        }
        let y = pitch_y(note.pitch);
        let note_rect = Rect::from_min_max(
            pos2(beat_x(note.start), y + 1.0),
            pos2(
                beat_x(note.end).max(beat_x(note.start) + 2.0),
                y + row_height - 1.0,
            ),
        );
        let colour = layer_colour(note.layer);
        let velocity = 0.55 + 0.45 * note.velocity.clamp(0.0, 1.0);
        match note.state(roll.beat()) {
            NoteState::Sounding => {
                painter.rect_filled(
                    note_rect,
                    CornerRadius::same(2),
                    colour.gamma_multiply(velocity),
                );
            }
            NoteState::Past => {
                painter.rect_filled(note_rect, CornerRadius::same(2), colour.gamma_multiply(0.3));
            }
            NoteState::Planned => {
                painter.rect_stroke(
                    note_rect,
                    CornerRadius::same(2),
                    Stroke::new(1.0, colour.gamma_multiply(0.8)),
                    egui::StrokeKind::Inside,
                );
            }
        }
    }

    let now_x = beat_x(roll.beat());
    painter.line_segment(
        [pos2(now_x, rect.top()), pos2(now_x, rect.bottom())],
        Stroke::new(1.5, ACCENT),
    );
    painter.text(
        pos2(now_x + 4.0, rect.top() + 3.0),
        Align2::LEFT_TOP,
        "planned",
        display_font(10.0),
        MUTED,
    );
}

/// The spectrum as bars, third-octave bands from 40 Hz.
pub fn spectrum(ui: &mut egui::Ui, bands: &[f32; SPECTRUM_BANDS], size: egui::Vec2) {
    let (response, painter) = ui.allocate_painter(size, egui::Sense::hover());
    let rect = response.rect;
    painter.rect_filled(rect, CornerRadius::same(6), SURFACE);
    let inner = rect.shrink2(vec2(8.0, 14.0));
    let slot = inner.width() / SPECTRUM_BANDS as f32;
    for (index, &db) in bands.iter().enumerate() {
        let fraction = MeterLevels::fraction(db);
        let x = inner.left() + slot * index as f32;
        let bar = Rect::from_min_max(
            pos2(x + 1.0, inner.bottom() - inner.height() * fraction),
            pos2(x + slot - 1.0, inner.bottom()),
        );
        painter.rect_filled(
            bar,
            CornerRadius::same(1),
            ACCENT.gamma_multiply(0.35 + 0.65 * fraction),
        );
    }
    for index in [3, 12, 21] {
        let x = inner.left() + slot * (index as f32 + 0.5);
        let hz = band_hz(index);
        let label = if hz >= 1000.0 {
            format!("{:.0}k", hz / 1000.0)
        } else {
            format!("{hz:.0}")
        };
        painter.text(
            pos2(x, rect.bottom() - 2.0),
            Align2::CENTER_BOTTOM,
            label,
            display_font(9.5),
            MUTED,
        );
    }
}

/// Two vertical meters, left and right: RMS as the bar, the falling peak as a line.
pub fn meters(ui: &mut egui::Ui, levels: &MeterLevels, size: egui::Vec2) {
    let (response, painter) = ui.allocate_painter(size, egui::Sense::hover());
    let rect = response.rect;
    painter.rect_filled(rect, CornerRadius::same(6), SURFACE);
    let inner = rect.shrink2(vec2(8.0, 14.0));
    let width = (inner.width() - 6.0) / 2.0;
    for channel in 0..2 {
        let left = inner.left() + channel as f32 * (width + 6.0);
        let column = Rect::from_min_size(pos2(left, inner.top()), vec2(width, inner.height()));
        painter.rect_filled(column, CornerRadius::same(2), BACKGROUND);
        let y = |db: f32| column.bottom() - column.height() * MeterLevels::fraction(db);
        let bar = Rect::from_min_max(pos2(column.left(), y(levels.rms_db[channel])), column.max);
        painter.rect_filled(bar, CornerRadius::same(2), ACCENT.gamma_multiply(0.75));
        let peak_y = y(levels.peak_db[channel]);
        if levels.peak_db[channel] > METER_FLOOR_DB {
            painter.line_segment(
                [pos2(column.left(), peak_y), pos2(column.right(), peak_y)],
                Stroke::new(2.0, ACCENT),
            );
        }
    }
    // Scale marks every 12 dB.
    for db in [-12.0, -24.0, -36.0, -48.0] {
        let y = inner.bottom() - inner.height() * MeterLevels::fraction(db);
        painter.line_segment(
            [Pos2::new(inner.left(), y), Pos2::new(inner.right(), y)],
            Stroke::new(1.0, GRID.gamma_multiply(0.6)),
        );
    }
    painter.text(
        pos2(rect.center().x, rect.bottom() - 2.0),
        Align2::CENTER_BOTTOM,
        "L  R",
        display_font(9.5),
        MUTED,
    );
}
