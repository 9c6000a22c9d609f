//! The editor: an egui window that shows the music and every control.
//!
//! Everything it shows comes from atomics and snapshots the engine and the audio thread publish
//! ([`Telemetry`], [`NowPlayingFeed`], the monitor's [`MonitorSwitch`]): drawing never waits
//! for the audio thread, and the audio thread never waits for drawing. Parameters change through
//! the host's [`ParamSetter`], so automation recording, gestures and undo work as for any other
//! plugin. [`view`] holds the logic of what is shown, tested without a window.

mod preset_menu;
mod probe;
mod slider;
mod theme;
pub mod view;
mod widgets;

use std::sync::Arc;
use std::time::Instant;

use atomic_float::AtomicF32;
use egui::RichText;
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::{
    EguiEditor, EguiEditorState, EguiNiceSettings, GraphicsConfig, NiceEguiApp, RepaintNotifier,
    create_egui_editor,
};

use crate::engine::NowPlayingFeed;
use crate::monitor::MonitorSwitch;
use crate::params::{AuralisParams, KeyName, MusicalSettings, SEED_MAX, display_name};
use crate::realtime::Telemetry;
use preset_menu::{MenuAction, PresetMenu};
use probe::Probe;
use slider::ParamSlider;
use theme::{ACCENT, LINE, MUTED, TEXT, WARNING};
use view::{MeterLevels, PianoRoll, SPECTRUM_BANDS, StatusView};

/// The window's size when first opened, in logical pixels.
pub const DEFAULT_SIZE: (f64, f64) = (980.0, 620.0);
/// The smallest size that still shows every control unclipped (the GUI test checks it at
/// every scale).
pub const MIN_SIZE: (f32, f32) = (760.0, 520.0);
/// How often the spectrum is analysed.
const SPECTRUM_INTERVAL: std::time::Duration = std::time::Duration::from_millis(33);
/// Width of the controls column.
const CONTROLS_WIDTH: f32 = 316.0;

/// What each parameter does, for its tooltip.
mod help {
    pub const KEY: &str = "The key the music is in: its home note";
    pub const SCALE: &str = "The scale or mode: which notes belong, and the mood they make";
    pub const TEMPO: &str = "Beats per minute of the music's own clock";
    pub const SYNC: &str = "While the host's transport plays, follow its tempo and position";
    pub const INTENSITY: &str =
        "How much happens: more layers, denser notes, more movement, and percussion above 10 %";
    pub const BRIGHTNESS: &str = "Timbre, from dark and soft to bright and airy";
    pub const SPACE: &str = "How much reverb and delay surround the sound";
    pub const SEED: &str =
        "Seed of every random choice: the same seed and settings always play the same music";
    pub const NEW_SEED: &str = "A new seed: different music in the same mood";
    pub const GAIN: &str = "Output level in decibels";
    pub const MIDI_OUT: &str = "Which layers are also sent out as MIDI notes to the host";
    pub const FOLLOW: &str = "What the music follows of the notes played into Auralis: Chords \
        plays the chord held, Key moves to the key of what is played";
    pub const PRESET: &str = "A mood: key, scale, tempo, intensity, brightness, space and seed \
                              together. Save your own with Save as…";
    pub const MONITOR: &str = "Stream the output to browsers on this machine (the web monitor)";
    pub const PORT: &str = "The web monitor's TCP port; press Enter to apply";
}

/// What the editor reads and controls, shared with the plugin.
#[derive(Clone)]
pub struct EditorShared {
    /// The parameters (read directly; changed through the host's setter).
    pub params: Arc<AuralisParams>,
    /// Underruns and output levels.
    pub telemetry: Arc<Telemetry>,
    /// What is playing now and next, and the newest output.
    pub feed: NowPlayingFeed,
    /// The web monitor's switch.
    pub monitor: Arc<MonitorSwitch>,
    /// The sample rate of the active instance, Hz.
    pub sample_rate: Arc<AtomicF32>,
}

/// The editor's window size, kept across openings.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(DEFAULT_SIZE.0, DEFAULT_SIZE.1), 1.0)
}

/// The editor for a plugin instance.
pub fn create(
    shared: EditorShared,
    state: Arc<EguiEditorState>,
) -> Option<EguiEditor<AuralisEditor>> {
    // Every pixel filled costs on a software renderer; egui's dithering adds a noise function
    // to each one, and the window needs no depth or stencil buffer to clear.
    let defaults = GraphicsConfig::default();
    let graphics = GraphicsConfig {
        dithering: false,
        gl_config: nice_plug_egui::GlConfig {
            depth_bits: 0,
            stencil_bits: 0,
            ..defaults.gl_config.clone()
        },
        ..defaults
    };
    let settings = EguiNiceSettings::new()
        .with_tile("Auralis")
        .with_graphics_config(graphics)
        .with_resize_hint(
            ResizeHint::resizable().with_min_logical_size(LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1)),
        );
    let port_text = shared.monitor.state().port.to_string();
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        settings,
        AuralisEditor {
            shared,
            gui: None,
            roll: PianoRoll::default(),
            levels: MeterLevels::default(),
            bands: [view::METER_FLOOR_DB; SPECTRUM_BANDS],
            last_frame: None,
            last_spectrum: None,
            port_text,
            port_error: None,
            presets: PresetMenu::new(),
            probe: Probe::from_env(),
        },
    )
}

/// The editor's state between frames.
pub struct AuralisEditor {
    shared: EditorShared,
    /// The host's context while the window is open.
    gui: Option<GuiContext>,
    roll: PianoRoll,
    levels: MeterLevels,
    /// Spectrum bands, smoothed, dBFS.
    bands: [f32; SPECTRUM_BANDS],
    last_frame: Option<Instant>,
    /// When the spectrum was last analysed.
    last_spectrum: Option<Instant>,
    /// The monitor port field's text while being edited.
    port_text: String,
    /// Why the port field's text is not a port.
    port_error: Option<String>,
    /// The Preset menu: factory and user presets, and its dialogs.
    presets: PresetMenu,
    /// The test hook, when `AURALIS_GUI_PROBE` names a file.
    probe: Option<Probe>,
}

impl NiceEguiApp for AuralisEditor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: GuiContext,
        frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        theme::apply(&egui_ctx);
        frame.set_clear_color(theme::clear_colour());
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        // Every frame the window system offers: the roll scrolls smoothly at the display's
        // pace, and a hidden window is offered none.
        ui.ctx().request_repaint();
        let now = self.shared.feed.latest();
        self.update_visuals(now.as_ref());
        let settings = self.shared.params.settings();
        let status = StatusView::new(
            now.as_ref(),
            &settings,
            self.shared.telemetry.underruns(),
            &self.shared.monitor.state(),
        );
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();

        egui::Panel::top("header")
            .frame(theme::header_frame())
            .show(ui, |ui| {
                theme::paint_header_glow(
                    ui.painter(),
                    ui.max_rect().expand2(egui::vec2(16.0, 10.0)),
                );
                self.header(ui, &setter);
            });
        egui::Panel::bottom("status")
            .frame(theme::bar_frame())
            .show(ui, |ui| {
                let top = ui.max_rect().top() - 7.0;
                ui.painter()
                    .hline(ui.max_rect().x_range(), top, egui::Stroke::new(1.0, LINE));
                self.status_bar(ui, &status);
            });
        egui::Panel::left("controls")
            .exact_size(CONTROLS_WIDTH)
            .resizable(false)
            .frame(theme::side_frame())
            .show(ui, |ui| {
                let edge = ui.max_rect().right() + 12.0 - 0.5;
                ui.painter()
                    .vline(edge, ui.max_rect().y_range(), egui::Stroke::new(1.0, LINE));
                self.controls(ui, &setter, &settings);
            });
        egui::CentralPanel::default()
            .frame(theme::main_frame())
            .show(ui, |ui| self.music(ui, &status));
        self.presets.show_dialog(ui.ctx(), &settings);
        if let Some(probe) = &mut self.probe {
            probe.end_frame(ui.ctx());
        }
    }

    fn editor_closed(&mut self) {
        self.gui = None;
        self.last_frame = None;
        self.last_spectrum = None;
    }
}

impl AuralisEditor {
    /// Takes in what the engine and audio thread published since the last frame.
    fn update_visuals(&mut self, now: Option<&crate::engine::NowPlaying>) {
        let frame_time = Instant::now();
        let dt = self
            .last_frame
            .map_or(0.0, |last| (frame_time - last).as_secs_f32());
        self.last_frame = Some(frame_time);
        if let Some(now) = now {
            self.roll.ingest(now);
        }
        let telemetry = &self.shared.telemetry;
        self.levels
            .update(telemetry.take_peaks(), telemetry.rms(), dt);
        let sample_rate = self
            .shared
            .sample_rate
            .load(std::sync::atomic::Ordering::Relaxed);
        // The scope holds 43 ms of sound: analysing it more than 30 times a second would
        // only look at the same sound again.
        let due = self
            .last_spectrum
            .is_none_or(|last| frame_time - last >= SPECTRUM_INTERVAL);
        if sample_rate > 0.0 && due {
            let dt = self
                .last_spectrum
                .map_or(0.0, |last| (frame_time - last).as_secs_f32());
            self.last_spectrum = Some(frame_time);
            let fresh = view::spectrum(&self.shared.feed.scope(), sample_rate);
            // Rise at once, fall over about a third of a second: steady to the eye.
            let fall = (dt / 0.3).clamp(0.0, 1.0);
            for (band, new) in self.bands.iter_mut().zip(fresh) {
                *band = if new > *band {
                    new
                } else {
                    *band + (new - *band) * fall
                };
            }
        }
    }

    /// Notes that the control `name` has keyboard focus, for the test hook.
    fn note_focus(&mut self, response: &egui::Response, name: &str) {
        if let (Some(probe), true) = (&mut self.probe, response.has_focus()) {
            probe.focused(name);
        }
    }

    fn header(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("AURALIS")
                    .font(theme::display_font(15.0))
                    .extra_letter_spacing(4.0)
                    .color(ACCENT),
            );
            ui.label(RichText::new("generative ambient").color(MUTED));
            // The right side holds the preset menu, the user's own presets included.
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let current = self.shared.params.settings();
                let (response, action) = self.presets.show(ui, &current, help::PRESET);
                if let Some(MenuAction::Apply(mood)) = action {
                    apply_preset(&self.shared.params, setter, &mood);
                }
                self.note_focus(&response, "Preset");
                ui.label(RichText::new("Preset").color(MUTED));
            });
        });
    }

    fn controls(&mut self, ui: &mut egui::Ui, setter: &ParamSetter, settings: &MusicalSettings) {
        let params = self.shared.params.clone();
        ui.label(RichText::new("Key").color(MUTED))
            .on_hover_text(help::KEY);
        // Two rows of six, like the naturals and sharps of an octave laid out to read easily.
        for (row, names) in KeyName::variants().chunks(6).enumerate() {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                for (column, name) in names.iter().enumerate() {
                    let key = KeyName::from_index(row * 6 + column);
                    let chosen = settings.key == key;
                    let button =
                        egui::Button::selectable(chosen, *name).min_size(egui::vec2(44.0, 24.0));
                    let response = ui.add(button).on_hover_text(format!("Play in {name}"));
                    if response.clicked() && !chosen {
                        set(setter, &params.key, key);
                    }
                    self.note_focus(&response, name);
                }
            });
        }
        ui.add_space(4.0);
        egui::Grid::new("controls")
            .num_columns(2)
            .spacing([10.0, 8.0])
            .show(ui, |ui| {
                ui.label("Scale").on_hover_text(help::SCALE);
                let response = enum_menu(ui, "scale", &params.scale, settings.scale, setter);
                self.note_focus(&response.on_hover_text(help::SCALE), "Scale");
                ui.end_row();
                self.slider_row(ui, "Tempo", &params.tempo_bpm, setter, help::TEMPO);
                ui.label("Sync").on_hover_text(help::SYNC);
                let mut sync = settings.sync_to_host;
                let response = ui
                    .checkbox(&mut sync, "follow the host's tempo")
                    .on_hover_text(help::SYNC);
                if response.changed() {
                    set(setter, &params.sync_to_host, sync);
                }
                self.note_focus(&response, "Sync");
                ui.end_row();
                self.slider_row(ui, "Intensity", &params.intensity, setter, help::INTENSITY);
                self.slider_row(
                    ui,
                    "Brightness",
                    &params.brightness,
                    setter,
                    help::BRIGHTNESS,
                );
                self.slider_row(ui, "Space", &params.space, setter, help::SPACE);
                ui.label("Seed").on_hover_text(help::SEED);
                ui.horizontal(|ui| {
                    let response = ui
                        .add(ParamSlider::new(&params.seed, setter, help::SEED).widths(86.0, 50.0));
                    self.note_focus(&response, "Seed");
                    let button = ui.button("new").on_hover_text(help::NEW_SEED);
                    if button.clicked() {
                        set(setter, &params.seed, next_seed(settings.seed));
                    }
                    self.note_focus(&button, "New seed");
                });
                ui.end_row();
                self.slider_row(ui, "Gain", &params.gain_db, setter, help::GAIN);
                ui.label("MIDI out").on_hover_text(help::MIDI_OUT);
                let response = enum_menu(ui, "midi", &params.midi_out, settings.midi_out, setter);
                self.note_focus(&response.on_hover_text(help::MIDI_OUT), "MIDI out");
                ui.end_row();
                ui.label("Follow").on_hover_text(help::FOLLOW);
                let response = enum_menu(ui, "follow", &params.follow, settings.follow, setter);
                self.note_focus(&response.on_hover_text(help::FOLLOW), "Follow");
                ui.end_row();
            });
        ui.add_space(8.0);
        ui.label(
            RichText::new(
                "Tab moves between controls, arrows change them, Enter types a value. \
                 Double-click a slider to reset it.",
            )
            .small()
            .color(MUTED),
        );
    }

    /// One labelled parameter slider in the controls grid.
    fn slider_row<P: Param>(
        &mut self,
        ui: &mut egui::Ui,
        label: &str,
        param: &P,
        setter: &ParamSetter,
        help: &str,
    ) {
        ui.label(label).on_hover_text(help);
        let response = ui.add(ParamSlider::new(param, setter, help).widths(128.0, 70.0));
        self.note_focus(&response, label);
        ui.end_row();
    }

    fn music(&mut self, ui: &mut egui::Ui, status: &StatusView) {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(&status.chord)
                    .font(theme::display_font(40.0))
                    .color(TEXT),
            );
            ui.add_space(6.0);
            ui.vertical(|ui| {
                ui.add_space(4.0);
                ui.label(RichText::new(&status.key_scale).font(theme::display_font(17.0)));
                let mut line = status.tempo.clone();
                if let Some(note) = status.chord_note {
                    line.push_str(" · ");
                    line.push_str(note);
                }
                ui.label(RichText::new(line).color(MUTED));
                if let Some(following) = &status.following {
                    ui.label(RichText::new(following).color(ACCENT))
                        .on_hover_text(help::FOLLOW);
                }
            });
        });
        ui.add_space(2.0);
        let bottom_height = 96.0;
        let legend_height = ui.text_style_height(&egui::TextStyle::Small) * 2.0 + 10.0;
        let roll_height = (ui.available_height() - bottom_height - legend_height - 16.0).max(120.0);
        let roll = widgets::piano_roll(ui, &self.roll, roll_height);
        widgets::legend(ui);
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let meter_width = 64.0;
            let spectrum_width = (ui.available_width() - meter_width - 8.0).max(100.0);
            widgets::spectrum(ui, &self.bands, egui::vec2(spectrum_width, bottom_height));
            widgets::meters(ui, &self.levels, egui::vec2(meter_width, bottom_height));
        });
        if let Some(probe) = &mut self.probe {
            probe.area("roll", roll);
            probe.voices(self.roll.voice_counts());
        }
    }

    fn status_bar(&mut self, ui: &mut egui::Ui, status: &StatusView) {
        ui.horizontal(|ui| {
            let renderer = short_renderer(&status.renderer);
            ui.label(RichText::new(renderer).color(MUTED))
                .on_hover_text(&status.renderer);
            ui.separator();
            ui.label(RichText::new(&status.voices).color(MUTED));
            ui.separator();
            let colour = if status.underruns_warn {
                WARNING
            } else {
                MUTED
            };
            ui.label(RichText::new(&status.underruns).color(colour));
            ui.separator();
            self.monitor_controls(ui, status);
        });
    }

    fn monitor_controls(&mut self, ui: &mut egui::Ui, status: &StatusView) {
        let monitor = self.shared.monitor.clone();
        let state = monitor.state();
        let mut wanted = state.wanted;
        let response = ui
            .checkbox(&mut wanted, "Web monitor")
            .on_hover_text(help::MONITOR);
        if response.changed() {
            monitor.set_wanted(wanted);
        }
        self.note_focus(&response, "Web monitor");
        ui.label(RichText::new("port").color(MUTED));
        let field = ui
            .add(egui::TextEdit::singleline(&mut self.port_text).desired_width(56.0))
            .on_hover_text(help::PORT);
        self.note_focus(&field, "Port");
        if field.lost_focus() {
            match self.port_text.trim().parse::<u16>() {
                Ok(port) => {
                    self.port_error = None;
                    monitor.set_port(port);
                }
                Err(_) => self.port_error = Some("a port is a number from 0 to 65535".into()),
            }
        } else if !field.has_focus() {
            self.port_text = state.port.to_string();
        }
        if let Some(error) = &self.port_error {
            ui.label(RichText::new(error).color(WARNING));
        } else if status.monitor_warn {
            ui.label(RichText::new(&status.monitor).color(WARNING));
        } else if let Some(url) = &state.url {
            ui.hyperlink_to(url, url);
            ui.label(RichText::new(format!("{} listening", state.listeners)).color(MUTED));
        } else {
            ui.label(RichText::new(&status.monitor).color(MUTED));
        }
    }
}

/// The renderer's name short enough for the status bar at the smallest size: the adapter's
/// details (in brackets) are left to the tooltip.
fn short_renderer(label: &str) -> String {
    let short = label.split(" (").next().unwrap_or(label);
    if short.chars().count() > 28 {
        let mut cut: String = short.chars().take(27).collect();
        cut.push('…');
        cut
    } else {
        short.to_owned()
    }
}

/// A menu of every value of an enum parameter, `current` ticked.
fn enum_menu<E: Enum + PartialEq + Copy>(
    ui: &mut egui::Ui,
    id: &str,
    param: &EnumParam<E>,
    current: E,
    setter: &ParamSetter,
) -> egui::Response {
    egui::ComboBox::from_id_salt(id)
        .selected_text(display_name(current))
        .width(180.0)
        .show_ui(ui, |ui| {
            for (index, name) in E::variants().iter().enumerate() {
                let value = E::from_index(index);
                if ui.selectable_label(current == value, *name).clicked() {
                    set(setter, param, value);
                }
            }
        })
        .response
}

/// Sets a parameter as one gesture, so hosts record it as one automation step and one undo.
fn set<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

/// Sets every musical parameter of a preset. Gain, MIDI out and host sync stay as they are:
/// they belong to the session, not the mood.
fn apply_preset(params: &AuralisParams, setter: &ParamSetter, preset: &MusicalSettings) {
    set(setter, &params.key, preset.key);
    set(setter, &params.scale, preset.scale);
    set(setter, &params.tempo_bpm, preset.tempo_bpm);
    set(setter, &params.intensity, preset.intensity);
    set(setter, &params.brightness, preset.brightness);
    set(setter, &params.space, preset.space);
    set(setter, &params.seed, preset.seed as i32);
}

/// A different seed, spread over the range, deterministic for the current one.
fn next_seed(seed: u32) -> i32 {
    // A full-period linear congruential step (multiplier ≡ 1 mod 4, odd increment, modulus
    // 2^16): every seed is visited once before any repeats, in a scattered order.
    ((u64::from(seed) * 40_505 + 12_345) % (SEED_MAX as u64 + 1)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::MidiLayers;

    #[test]
    fn presets_are_recognised_and_edits_make_custom() {
        use crate::presets::{PRESETS, same_mood};
        for preset in &PRESETS {
            assert!(same_mood(&preset.settings, &preset.settings));
        }
        let mut edited = PRESETS[0].settings;
        edited.space += 0.1;
        assert!(PRESETS.iter().all(|p| !same_mood(&p.settings, &edited)));
        // Gain and MIDI routing are not part of a mood.
        let mut routed = PRESETS[1].settings;
        routed.midi_out = MidiLayers::Off;
        assert!(same_mood(&PRESETS[1].settings, &routed));
    }

    #[test]
    fn long_renderer_names_are_shortened_for_the_status_bar() {
        assert_eq!(short_renderer("CPU renderer"), "CPU renderer");
        assert_eq!(
            short_renderer("GPU · llvmpipe (LLVM 15.0.7, 256 bits)"),
            "GPU · llvmpipe"
        );
        let long = short_renderer("GPU · A Very Long Adapter Name From Some Vendor Inc");
        assert_eq!(long.chars().count(), 28);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn new_seeds_differ_and_stay_in_range() {
        let mut seed = 7u32;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let next = next_seed(seed);
            assert!((0..=SEED_MAX).contains(&next));
            assert_ne!(next as u32, seed);
            seen.insert(next);
            seed = next as u32;
        }
        assert!(seen.len() > 900, "seeds repeat too soon: {}", seen.len());
    }
}
