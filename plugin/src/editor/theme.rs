//! The look: a dark, quiet palette with one accent colour, and readable type.

use egui::{Color32, CornerRadius, FontFamily, FontId, Margin, Stroke, TextStyle, Visuals};

/// The accent: a calm sea green, used for everything that is "the music".
pub const ACCENT: Color32 = Color32::from_rgb(94, 196, 182);
/// Window background.
pub const BACKGROUND: Color32 = Color32::from_rgb(14, 17, 22);
/// Panels and cards.
pub const SURFACE: Color32 = Color32::from_rgb(22, 27, 34);
/// Hairlines and grid.
pub const GRID: Color32 = Color32::from_rgb(38, 45, 55);
/// Body text.
pub const TEXT: Color32 = Color32::from_rgb(207, 214, 223);
/// Secondary text.
pub const MUTED: Color32 = Color32::from_rgb(128, 139, 152);
/// Problems: the only colour besides the accent, kept for what needs attention.
pub const WARNING: Color32 = Color32::from_rgb(230, 170, 90);

/// Applies the theme to `ctx`.
pub fn apply(ctx: &egui::Context) {
    let mut visuals = Visuals::dark();
    visuals.panel_fill = BACKGROUND;
    visuals.window_fill = SURFACE;
    visuals.extreme_bg_color = BACKGROUND;
    visuals.faint_bg_color = SURFACE;
    visuals.override_text_color = Some(TEXT);
    visuals.hyperlink_color = ACCENT;
    visuals.selection.bg_fill = ACCENT.gamma_multiply(0.55);
    visuals.selection.stroke = Stroke::new(1.0, ACCENT);
    for widget in [
        &mut visuals.widgets.inactive,
        &mut visuals.widgets.hovered,
        &mut visuals.widgets.active,
        &mut visuals.widgets.open,
    ] {
        widget.corner_radius = CornerRadius::same(4);
    }
    visuals.widgets.inactive.weak_bg_fill = Color32::from_rgb(32, 38, 47);
    visuals.widgets.inactive.bg_fill = Color32::from_rgb(32, 38, 47);
    visuals.widgets.hovered.weak_bg_fill = Color32::from_rgb(42, 50, 61);
    visuals.widgets.hovered.bg_stroke = Stroke::new(1.0, ACCENT.gamma_multiply(0.6));
    visuals.widgets.active.weak_bg_fill = Color32::from_rgb(48, 58, 70);
    visuals.widgets.noninteractive.bg_stroke = Stroke::new(1.0, GRID);
    ctx.set_visuals(visuals);
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (
                TextStyle::Small,
                FontId::new(11.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(13.5, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(13.5, FontFamily::Proportional),
            ),
            (
                TextStyle::Heading,
                FontId::new(20.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(12.5, FontFamily::Monospace),
            ),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(8.0, 7.0);
        style.spacing.interact_size.y = 22.0;
        // Animations would make values slide after an automation jump; the music is the motion.
        style.animation_time = 0.0;
    });
}

/// The frame of the header and status bars.
pub fn bar_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(SURFACE)
        .inner_margin(Margin::symmetric(14, 8))
}

/// The frame of the controls column.
pub fn side_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(SURFACE)
        .inner_margin(Margin::symmetric(14, 12))
        .stroke(Stroke::new(1.0, GRID))
}

/// The frame of the music area.
pub fn main_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(BACKGROUND)
        .inner_margin(Margin::same(14))
}

/// A large label font.
pub fn display_font(size: f32) -> FontId {
    FontId::new(size, FontFamily::Proportional)
}
