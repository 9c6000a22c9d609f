//! The header's Preset menu: the factory moods, the user's own presets under them, and
//! "Save as…", "Rename…" and "Delete…" for the user's.
//!
//! The folder is read when the menu opens and after each change, never per frame; a file that
//! cannot be read is listed greyed out with its problem as tooltip. Saving, renaming and
//! deleting ask in a small dialog, which shows the store's error (a taken name, a factory name,
//! a full disk) and stays open until it succeeds or is cancelled. Runs on the GUI thread.

use egui::RichText;

use super::theme::{MUTED, WARNING};
use crate::params::MusicalSettings;
use crate::presets::user::{PresetError, UserPreset, UserPresets};
use crate::presets::{PRESETS, factory_match, same_mood};

/// What the menu wants the editor to do.
pub enum MenuAction {
    /// Set the mood's parameters.
    Apply(MusicalSettings),
}

/// A dialog over the window.
enum Dialog {
    /// Name a new preset holding the current mood.
    SaveAs { name: String, error: Option<String> },
    /// Give the current user preset a new name.
    Rename { name: String, error: Option<String> },
    /// Confirm deleting the current user preset.
    Delete { error: Option<String> },
}

/// The menu's state between frames.
pub struct PresetMenu {
    /// The user's preset folder; `None` when the system has no data directory.
    store: Result<UserPresets, String>,
    /// The folder's presets as last read.
    listing: Vec<Result<UserPreset, PresetError>>,
    /// Whether the folder has been read since the editor was created.
    scanned: bool,
    /// The user preset last applied or saved: what Rename and Delete act on while the
    /// parameters still hold its mood.
    current: Option<UserPreset>,
    /// The open dialog.
    dialog: Option<Dialog>,
    /// Whether the menu was open last frame (it is read again when it opens).
    was_open: bool,
}

impl PresetMenu {
    /// The menu for the user's own preset folder.
    pub fn new() -> Self {
        Self::with_store(UserPresets::open().map_err(|e| e.to_string()))
    }

    /// The menu for `store`. Nothing is read yet: the editor is created with the plugin, and
    /// the folder is read only once the window shows the menu.
    fn with_store(store: Result<UserPresets, String>) -> Self {
        Self {
            store,
            listing: Vec::new(),
            scanned: false,
            current: None,
            dialog: None,
            was_open: false,
        }
    }

    fn refresh(&mut self) {
        self.scanned = true;
        self.listing = match &self.store {
            Ok(store) => store.scan(),
            Err(_) => Vec::new(),
        };
    }

    /// The user preset whose mood the parameters hold, if any (the one last used first).
    fn user_match(&self, mood: &MusicalSettings) -> Option<&UserPreset> {
        self.current
            .iter()
            .chain(self.listing.iter().filter_map(|p| p.as_ref().ok()))
            .find(|p| same_mood(&p.settings, mood))
    }

    /// The name the menu shows for the mood the parameters hold: a preset's, or "Custom".
    pub fn selected_name(&self, mood: &MusicalSettings) -> String {
        factory_match(mood)
            .map(|p| p.name.to_owned())
            .or_else(|| self.user_match(mood).map(|p| p.name.clone()))
            .unwrap_or_else(|| "Custom".into())
    }

    /// Draws the menu's button and, while open, its list. Returns its response and what to do.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        mood: &MusicalSettings,
        help: &str,
    ) -> (egui::Response, Option<MenuAction>) {
        if !self.scanned {
            self.refresh();
        }
        let selected = self.selected_name(mood);
        let editable = self.user_match(mood).cloned();
        let mut action = None;
        let inner = egui::ComboBox::from_id_salt("preset")
            .selected_text(selected.as_str())
            .width(150.0)
            .show_ui(ui, |ui| {
                if !self.was_open {
                    self.refresh();
                }
                for preset in &PRESETS {
                    let response = ui
                        .selectable_label(selected == preset.name, preset.name)
                        .on_hover_text(preset.description);
                    if response.clicked() {
                        self.current = None;
                        action = Some(MenuAction::Apply(preset.settings));
                    }
                }
                ui.separator();
                ui.label(RichText::new("Your presets").small().color(MUTED));
                let mut any = false;
                for entry in &self.listing {
                    any = true;
                    match entry {
                        Ok(preset) => {
                            let chosen = editable.as_ref().is_some_and(|e| e.path == preset.path);
                            let response = ui.selectable_label(chosen, &preset.name);
                            if response.clicked() {
                                self.current = Some(preset.clone());
                                action = Some(MenuAction::Apply(preset.settings));
                            }
                        }
                        Err(error) => {
                            let name = match error {
                                PresetError::File { path, .. } => path
                                    .file_name()
                                    .map(|n| n.to_string_lossy().into_owned())
                                    .unwrap_or_default(),
                                _ => "unreadable".into(),
                            };
                            ui.add_enabled(
                                false,
                                egui::Label::new(RichText::new(name).color(WARNING)),
                            )
                            .on_disabled_hover_text(error.to_string());
                        }
                    }
                }
                if !any {
                    ui.label(RichText::new("none yet").small().color(MUTED));
                }
                ui.separator();
                let can_save = self.store.is_ok();
                let save = ui.add_enabled(can_save, egui::Button::new("Save as…"));
                let save = match &self.store {
                    Ok(store) => save.on_hover_text(format!(
                        "Save the current mood as a preset of your own, in {}",
                        store.dir().display()
                    )),
                    Err(why) => save.on_disabled_hover_text(why.as_str()),
                };
                if save.clicked() {
                    self.dialog = Some(Dialog::SaveAs {
                        name: String::new(),
                        error: None,
                    });
                }
                let has_user = editable.is_some();
                let rename = ui
                    .add_enabled(has_user, egui::Button::new("Rename…"))
                    .on_disabled_hover_text("Choose one of your presets first");
                if rename.clicked() {
                    self.current = editable.clone();
                    self.dialog = Some(Dialog::Rename {
                        name: editable
                            .as_ref()
                            .map(|p| p.name.clone())
                            .unwrap_or_default(),
                        error: None,
                    });
                }
                let delete = ui
                    .add_enabled(has_user, egui::Button::new("Delete…"))
                    .on_disabled_hover_text("Choose one of your presets first");
                if delete.clicked() {
                    self.current = editable.clone();
                    self.dialog = Some(Dialog::Delete { error: None });
                }
            });
        self.was_open = inner.inner.is_some();
        (inner.response.on_hover_text(help), action)
    }

    /// Draws the open dialog, if any, over the window, and carries out what it confirms.
    pub fn show_dialog(&mut self, ctx: &egui::Context, mood: &MusicalSettings) {
        let Some(mut dialog) = self.dialog.take() else {
            return;
        };
        let mut outcome = Outcome::Open;
        let current_name = self
            .current
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let modal = egui::Modal::new(egui::Id::unique("preset-dialog")).show(ctx, |ui| {
            ui.set_width(340.0);
            let (title, confirm) = match &dialog {
                Dialog::SaveAs { .. } => ("Save preset as".to_owned(), "Save"),
                Dialog::Rename { .. } => {
                    (format!("Rename \u{201c}{current_name}\u{201d}"), "Rename")
                }
                Dialog::Delete { .. } => {
                    (format!("Delete \u{201c}{current_name}\u{201d}?"), "Delete")
                }
            };
            ui.heading(title);
            ui.add_space(6.0);
            let mut submitted = false;
            let error = match &mut dialog {
                Dialog::SaveAs { name, error } | Dialog::Rename { name, error } => {
                    let field = ui.add(
                        egui::TextEdit::singleline(name)
                            .hint_text("a name for this mood")
                            .desired_width(f32::INFINITY),
                    );
                    if !field.has_focus() && !field.lost_focus() {
                        field.request_focus();
                    }
                    submitted = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    error
                }
                Dialog::Delete { error } => {
                    ui.label("Its file is removed. The sound playing now stays as it is.");
                    error
                }
            };
            if let Some(error) = error {
                ui.add_space(4.0);
                ui.label(RichText::new(error.as_str()).color(WARNING));
            }
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button(confirm).clicked() || submitted {
                    outcome = Outcome::Confirm;
                }
                if ui.button("Cancel").clicked() {
                    outcome = Outcome::Cancel;
                }
            });
        });
        if modal.should_close() && matches!(outcome, Outcome::Open) {
            outcome = Outcome::Cancel;
        }
        match outcome {
            Outcome::Open => self.dialog = Some(dialog),
            Outcome::Cancel => {}
            Outcome::Confirm => {
                if let Err(message) = self.confirm(&dialog, mood) {
                    self.dialog = Some(with_error(dialog, message));
                }
                self.refresh();
            }
        }
    }

    /// Carries out what `dialog` asked for.
    fn confirm(&mut self, dialog: &Dialog, mood: &MusicalSettings) -> Result<(), String> {
        let store = self.store.as_ref().map_err(Clone::clone)?;
        match dialog {
            Dialog::SaveAs { name, .. } => {
                let saved = store.save(name, mood).map_err(|e| e.to_string())?;
                self.current = Some(saved);
            }
            Dialog::Rename { name, .. } => {
                let current = self.current.as_ref().ok_or("no preset chosen")?;
                let renamed = store.rename(current, name).map_err(|e| e.to_string())?;
                self.current = Some(renamed);
            }
            Dialog::Delete { .. } => {
                let current = self.current.as_ref().ok_or("no preset chosen")?;
                store.delete(current).map_err(|e| e.to_string())?;
                self.current = None;
            }
        }
        Ok(())
    }
}

/// What the dialog's buttons decided this frame.
enum Outcome {
    Open,
    Confirm,
    Cancel,
}

fn with_error(dialog: Dialog, message: String) -> Dialog {
    match dialog {
        Dialog::SaveAs { name, .. } => Dialog::SaveAs {
            name,
            error: Some(message),
        },
        Dialog::Rename { name, .. } => Dialog::Rename {
            name,
            error: Some(message),
        },
        Dialog::Delete { .. } => Dialog::Delete {
            error: Some(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::KeyName;

    /// The editor's model end to end: the mood the parameters hold is saved through the menu's
    /// dialog, found again under its name, renamed and deleted, in a private folder.
    #[test]
    fn the_menus_dialogs_save_rename_and_delete_the_current_mood() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = UserPresets::at(dir.path().join("presets"));
        let mut menu = PresetMenu::with_store(Ok(store.clone()));
        let mood = MusicalSettings {
            key: KeyName::G,
            tempo_bpm: 58.3,
            intensity: 0.271,
            seed: 4242,
            ..MusicalSettings::default()
        };
        assert_eq!(menu.selected_name(&mood), "Custom");
        let save = Dialog::SaveAs {
            name: "Evening".into(),
            error: None,
        };
        menu.confirm(&save, &mood).expect("saved");
        menu.refresh();
        assert_eq!(menu.selected_name(&mood), "Evening");
        let reloaded = store.find("evening").expect("on disk");
        assert_eq!(
            reloaded.settings.intensity.to_bits(),
            mood.intensity.to_bits()
        );
        assert_eq!(
            reloaded.settings.tempo_bpm.to_bits(),
            mood.tempo_bpm.to_bits()
        );
        assert_eq!(reloaded.settings, mood);

        let error = menu.confirm(&save, &mood).expect_err("taken");
        assert!(error.contains("exists already"), "{error}");
        let factory = Dialog::SaveAs {
            name: "Dawn".into(),
            error: None,
        };
        assert!(menu.confirm(&factory, &mood).is_err());

        let rename = Dialog::Rename {
            name: "Late Evening".into(),
            error: None,
        };
        menu.confirm(&rename, &mood).expect("renamed");
        menu.refresh();
        assert_eq!(menu.selected_name(&mood), "Late Evening");
        menu.confirm(&Dialog::Delete { error: None }, &mood)
            .expect("deleted");
        menu.refresh();
        assert_eq!(menu.selected_name(&mood), "Custom");
        assert!(store.presets().is_empty());
        // A factory mood is named as such whatever the menu last did.
        assert_eq!(menu.selected_name(&PRESETS[2].settings), "Deep Field");
    }
}
