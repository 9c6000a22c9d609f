//! A parameter slider that works as well from the keyboard as with the mouse.
//!
//! nice-plug-egui's own slider takes no keyboard focus. This one is a focusable egui widget:
//! Tab reaches it, the arrow keys move it a step (Shift: a fine step; Page Up/Down: ten steps;
//! Home/End: the ends), Enter opens a field to type a value (Enter sets it, Escape leaves it),
//! and every change goes through the host's [`ParamSetter`] as one gesture, so automation and
//! undo see it as from any other control. GUI thread only.

use egui::{
    Align2, CornerRadius, Event, EventFilter, Id, Key, Modifiers, Response, Sense, Stroke,
    StrokeKind, TextEdit, Ui, Widget, WidgetInfo, pos2, vec2,
};
use nice_plug::prelude::{Param, ParamSetter};

use super::theme::{ACCENT, LINE, SURFACE, TEXT, WARNING};

/// Normalised step of a continuous parameter per arrow press: 100 presses end to end.
const STEP: f32 = 0.01;
/// The fine step, with Shift held.
const FINE_STEP: f32 = 0.001;
/// Steps per Page Up/Down.
const PAGE_STEPS: f32 = 10.0;

/// A slider for `param`, with its value beside it.
pub struct ParamSlider<'a, P: Param> {
    param: &'a P,
    setter: &'a ParamSetter<'a>,
    /// What the parameter does, shown as the tooltip.
    help: &'a str,
    track_width: f32,
    value_width: f32,
}

impl<'a, P: Param> ParamSlider<'a, P> {
    /// A slider for `param` that explains itself with `help`.
    pub fn new(param: &'a P, setter: &'a ParamSetter<'a>, help: &'a str) -> Self {
        Self {
            param,
            setter,
            help,
            track_width: 140.0,
            value_width: 76.0,
        }
    }

    /// Sets the width of the track and of the value beside it.
    pub fn widths(mut self, track: f32, value: f32) -> Self {
        self.track_width = track;
        self.value_width = value;
        self
    }

    fn set_normalized(&self, normalized: f32) {
        let normalized = normalized.clamp(0.0, 1.0);
        if (normalized - self.param.unmodulated_normalized_value()).abs() > f32::EPSILON {
            self.setter.set_parameter_normalized(self.param, normalized);
        }
    }

    /// One change as one gesture: one automation point, one undo step.
    fn gesture(&self, normalized: f32) {
        self.setter.begin_set_parameter(self.param);
        self.set_normalized(normalized);
        self.setter.end_set_parameter(self.param);
    }

    /// The normalised size of one step: one value of a stepped parameter, else [`STEP`].
    fn step(&self, fine: bool) -> f32 {
        match self.param.step_count() {
            Some(steps) if steps > 0 => 1.0 / steps as f32,
            _ if fine => FINE_STEP,
            _ => STEP,
        }
    }

    /// Applies the arrow, page, home and end keys pressed this frame; true if any was.
    fn keyboard(&self, ui: &Ui, id: Id) -> bool {
        // Arrows belong to the slider while it has focus, not to egui's focus movement.
        ui.memory_mut(|memory| {
            memory.set_focus_lock_filter(
                id,
                EventFilter {
                    horizontal_arrows: true,
                    vertical_arrows: true,
                    ..Default::default()
                },
            );
        });
        let mut target = self.param.unmodulated_normalized_value();
        let mut pressed = false;
        ui.input(|input| {
            for event in &input.events {
                let Event::Key {
                    key,
                    pressed: true,
                    modifiers,
                    ..
                } = event
                else {
                    continue;
                };
                let step = self.step(modifiers.shift);
                let delta = match key {
                    Key::ArrowRight | Key::ArrowUp => step,
                    Key::ArrowLeft | Key::ArrowDown => -step,
                    Key::PageUp => step * PAGE_STEPS,
                    Key::PageDown => -step * PAGE_STEPS,
                    Key::Home => -1.0,
                    Key::End => 1.0,
                    _ => continue,
                };
                target = (target + delta).clamp(0.0, 1.0);
                pressed = true;
            }
        });
        if pressed {
            self.gesture(target);
        }
        pressed
    }

    /// The track: a thin bar, the accent up to the value, a handle, a ring when focused.
    fn paint_track(&self, ui: &Ui, response: &Response) {
        let rect = response.rect;
        let painter = ui.painter();
        let normalized = self.param.modulated_normalized_value().clamp(0.0, 1.0);
        let track = egui::Rect::from_center_size(rect.center(), vec2(rect.width() - 12.0, 6.0));
        painter.rect_filled(track, CornerRadius::same(3), SURFACE);
        let x = track.left() + track.width() * normalized;
        if normalized > 0.0 {
            let filled = egui::Rect::from_min_max(track.min, pos2(x, track.bottom()));
            painter.rect_filled(filled, CornerRadius::same(3), ACCENT);
        }
        let radius = if response.hovered() || response.dragged() {
            7.0
        } else {
            6.0
        };
        painter.circle(
            pos2(x, track.center().y),
            radius,
            TEXT,
            Stroke::new(2.0, ACCENT),
        );
        if response.has_focus() {
            painter.rect_stroke(
                rect,
                CornerRadius::same(5),
                Stroke::new(1.5, ACCENT),
                StrokeKind::Inside,
            );
        }
    }
}

impl<P: Param> Widget for ParamSlider<'_, P> {
    fn ui(self, ui: &mut Ui) -> Response {
        let id = ui.make_persistent_id(("param", self.param.name()));
        let entry_id = id.with("entry");
        let height = ui.spacing().interact_size.y;
        ui.horizontal(|ui| {
            let (_, rect) = ui.allocate_space(vec2(self.track_width, height));
            let mut response = ui.interact(rect, id, Sense::click_and_drag());
            let pointer_x = response.interact_pointer_pos().map(|p| p.x);
            let to_normalized = |x: f32| {
                let left = rect.left() + 6.0;
                ((x - left) / (rect.width() - 12.0)).clamp(0.0, 1.0)
            };
            let resetting = response.double_clicked()
                || (response.clicked() && ui.input(|i| i.modifiers.command));
            if resetting {
                self.gesture(self.param.default_normalized_value());
                response.mark_changed();
            } else if response.drag_started() {
                self.setter.begin_set_parameter(self.param);
            }
            if !resetting {
                if let Some(x) = pointer_x.filter(|_| response.dragged()) {
                    self.set_normalized(to_normalized(x));
                    response.mark_changed();
                } else if let Some(x) = pointer_x.filter(|_| response.clicked()) {
                    self.gesture(to_normalized(x));
                    response.mark_changed();
                }
            }
            if response.drag_stopped() {
                self.setter.end_set_parameter(self.param);
            }
            if response.has_focus() {
                if self.keyboard(ui, id) {
                    response.mark_changed();
                }
                // Consumed, so the field opened now does not take the same press as its own
                // Enter and close at once.
                if ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Enter)) {
                    begin_entry(ui, entry_id, self.param);
                }
            }
            self.paint_track(ui, &response);

            let value_size = vec2(self.value_width, height);
            if ui.memory(|m| m.has_focus(entry_id)) {
                self.entry(ui, id, entry_id, value_size);
            } else {
                let (_, value_rect) = ui.allocate_space(value_size);
                let value = ui.interact(value_rect, id.with("value"), Sense::click());
                ui.painter().text(
                    pos2(value_rect.left() + 2.0, value_rect.center().y),
                    Align2::LEFT_CENTER,
                    self.param.to_string(),
                    egui::TextStyle::Body.resolve(ui.style()),
                    TEXT,
                );
                if value.clicked() {
                    begin_entry(ui, entry_id, self.param);
                }
                value
                    .on_hover_cursor(egui::CursorIcon::Text)
                    .on_hover_text("Click or press Enter to type a value");
            }

            let label = self.param.name().to_owned();
            let value = f64::from(self.param.modulated_normalized_value());
            response.widget_info(|| WidgetInfo::slider(true, value, &label));
            response.on_hover_text(self.help)
        })
        .inner
    }
}

impl<P: Param> ParamSlider<'_, P> {
    /// The field for typing a value: Enter sets it (or marks it wrong), Escape leaves it.
    fn entry(&self, ui: &mut Ui, slider_id: Id, entry_id: Id, size: egui::Vec2) {
        let text_id = entry_id.with("text");
        let invalid_id = entry_id.with("invalid");
        let mut text: String = ui.data(|d| d.get_temp(text_id)).unwrap_or_default();
        let invalid: bool = ui.data(|d| d.get_temp(invalid_id)).unwrap_or(false);
        let field = TextEdit::singleline(&mut text)
            .id(entry_id)
            .desired_width(size.x - 8.0)
            .text_color(if invalid { WARNING } else { TEXT });
        let response = ui.add_sized(size, field);
        let response = if invalid {
            response.on_hover_text(format!(
                "“{}” is not a value of {}",
                text.trim(),
                self.param.name()
            ))
        } else {
            response
        };
        ui.data_mut(|d| d.insert_temp(text_id, text.clone()));
        let (enter, escape) = ui.input(|i| (i.key_pressed(Key::Enter), i.key_pressed(Key::Escape)));
        if escape {
            ui.memory_mut(|m| m.request_focus(slider_id));
        } else if enter && response.lost_focus() {
            match self.param.string_to_normalized_value(text.trim()) {
                Some(normalized) => {
                    self.gesture(normalized);
                    ui.memory_mut(|m| m.request_focus(slider_id));
                }
                None => {
                    ui.data_mut(|d| d.insert_temp(invalid_id, true));
                    ui.memory_mut(|m| m.request_focus(entry_id));
                }
            }
        }
        ui.painter().rect_stroke(
            response.rect,
            CornerRadius::same(4),
            Stroke::new(1.0, if invalid { WARNING } else { LINE }),
            StrokeKind::Outside,
        );
    }
}

/// Opens the value field of a slider, filled with the value as it stands (without its unit,
/// ready to retype).
fn begin_entry<P: Param>(ui: &Ui, entry_id: Id, param: &P) {
    let text = param.normalized_value_to_string(param.unmodulated_normalized_value(), false);
    ui.data_mut(|d| {
        d.insert_temp(entry_id.with("text"), text);
        d.insert_temp(entry_id.with("invalid"), false);
    });
    ui.memory_mut(|m| m.request_focus(entry_id));
}
