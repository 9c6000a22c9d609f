//! The look, shared with the web monitor: a deep night-blue ground with a soft glow, a violet
//! accent, and one hue per layer of the music. `web-monitor/style.css` mirrors every colour
//! here as a CSS variable of the same name (a test keeps the two in step), so the window and
//! the page are one instrument.
//!
//! Drawing on a software renderer costs per pixel filled, every frame: the ground is the
//! renderer's clear colour (free), panels are separated by hairlines rather than filled, and
//! only small things (notes, text, controls) are painted over it.

use egui::{Color32, CornerRadius, FontFamily, FontId, Margin, Stroke, TextStyle, Visuals};

use crate::compose::{Layer, PercussionKind};

/// The ground of the window and the page (`--bg`).
pub const BACKGROUND: Color32 = Color32::from_rgb(10, 13, 24);
/// The glow the header fades from, on the left (`--glow-cool`): the page's blue aurora.
pub const GLOW_COOL: Color32 = Color32::from_rgb(30, 30, 74);
/// The glow the header fades to, on the right (`--glow-sea`): the page's sea-green aurora.
pub const GLOW_SEA: Color32 = Color32::from_rgb(12, 42, 50);
/// Controls' own ground: slider tracks, buttons, fields (`--surface`).
pub const SURFACE: Color32 = Color32::from_rgb(27, 32, 58);
/// Controls under the pointer (`--surface-hover`).
pub const SURFACE_HOVER: Color32 = Color32::from_rgb(38, 44, 78);
/// Hairlines: panel edges, the roll's grid (`--line`).
pub const LINE: Color32 = Color32::from_rgb(40, 46, 80);
/// Body text and values (`--ink`).
pub const TEXT: Color32 = Color32::from_rgb(232, 236, 255);
/// Labels and secondary text, still well above 4.5:1 on every ground (`--muted`).
pub const MUTED: Color32 = Color32::from_rgb(160, 168, 204);
/// The accent: what is "the music now" — the playhead, the chosen key, a slider's fill
/// (`--accent`).
pub const ACCENT: Color32 = Color32::from_rgb(157, 140, 255);
/// Problems, and only problems (`--warn`).
pub const WARNING: Color32 = Color32::from_rgb(240, 184, 110);

/// The layers of the music as the roll and its legend show them, each in its own hue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// The tune.
    Melody,
    /// Sustained chord tones.
    Pad,
    /// The low pedal.
    Drone,
    /// Sparse high chord tones.
    Texture,
    /// The rare bell on a chord tone.
    Bell,
    /// Pulse, tick and shaker: drawn as marks on a lane of their own.
    Percussion,
}

impl Voice {
    /// Every voice, in the legend's order.
    pub const ALL: [Voice; 6] = [
        Voice::Melody,
        Voice::Pad,
        Voice::Drone,
        Voice::Texture,
        Voice::Bell,
        Voice::Percussion,
    ];

    /// The voice that plays notes of `layer` (notes with no layer count as the pad's).
    pub fn of(layer: Option<Layer>) -> Voice {
        match layer {
            Some(Layer::Melody) => Voice::Melody,
            Some(Layer::Pad) | None => Voice::Pad,
            Some(Layer::Drone) => Voice::Drone,
            Some(Layer::Texture) => Voice::Texture,
            Some(Layer::Percussion(PercussionKind::Bell)) => Voice::Bell,
            Some(Layer::Percussion(_)) => Voice::Percussion,
        }
    }

    /// Its hue. Six hues about 40–75° apart, equally light, so each stands out on the ground
    /// and none shouts (`--layer-<name>` on the page).
    pub const fn colour(self) -> Color32 {
        match self {
            Voice::Melody => Color32::from_rgb(255, 210, 122),
            Voice::Pad => Color32::from_rgb(157, 140, 255),
            Voice::Drone => Color32::from_rgb(80, 168, 255),
            Voice::Texture => Color32::from_rgb(111, 227, 200),
            Voice::Bell => Color32::from_rgb(255, 143, 200),
            Voice::Percussion => Color32::from_rgb(182, 232, 110),
        }
    }

    /// Its name in the legend (and in the page's CSS variable).
    pub const fn name(self) -> &'static str {
        match self {
            Voice::Melody => "melody",
            Voice::Pad => "pad",
            Voice::Drone => "drone",
            Voice::Texture => "texture",
            Voice::Bell => "bell",
            Voice::Percussion => "percussion",
        }
    }
}

/// The renderer's clear colour: the ground, painted for free before anything else.
pub fn clear_colour() -> egui::Rgba {
    // The framebuffer is not sRGB-aware: egui_glow writes gamma-space values, so the clear
    // colour has to be given in gamma space too.
    let [r, g, b, _] = BACKGROUND.to_array();
    egui::Rgba::from_rgb(
        f32::from(r) / 255.0,
        f32::from(g) / 255.0,
        f32::from(b) / 255.0,
    )
}

/// Applies the theme to `ctx`.
pub fn apply(ctx: &egui::Context) {
    let mut visuals = Visuals::dark();
    visuals.panel_fill = Color32::TRANSPARENT;
    visuals.window_fill = SURFACE;
    visuals.window_stroke = Stroke::new(1.0, LINE);
    visuals.extreme_bg_color = SURFACE;
    visuals.faint_bg_color = SURFACE;
    visuals.text_edit_bg_color = Some(SURFACE);
    visuals.override_text_color = Some(TEXT);
    visuals.hyperlink_color = ACCENT;
    visuals.selection.bg_fill = Color32::from_rgb(86, 72, 168);
    visuals.selection.stroke = Stroke::new(1.0, TEXT);
    visuals.widgets.noninteractive.bg_stroke = Stroke::new(1.0, LINE);
    visuals.widgets.noninteractive.fg_stroke = Stroke::new(1.0, TEXT);
    for (widget, fill) in [
        (&mut visuals.widgets.inactive, SURFACE),
        (&mut visuals.widgets.hovered, SURFACE_HOVER),
        (&mut visuals.widgets.active, SURFACE_HOVER),
        (&mut visuals.widgets.open, SURFACE_HOVER),
    ] {
        widget.corner_radius = CornerRadius::same(5);
        widget.bg_fill = fill;
        widget.weak_bg_fill = fill;
        widget.fg_stroke = Stroke::new(1.0, TEXT);
        widget.expansion = 0.0;
    }
    visuals.widgets.inactive.bg_stroke = Stroke::new(1.0, LINE);
    visuals.widgets.hovered.bg_stroke = Stroke::new(1.0, ACCENT);
    visuals.widgets.active.bg_stroke = Stroke::new(1.0, ACCENT);
    // Keyboard focus must be seen: a clear ring in the accent.
    visuals.widgets.open.bg_stroke = Stroke::new(1.0, ACCENT);
    ctx.set_visuals(visuals);
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (
                TextStyle::Small,
                FontId::new(11.5, FontFamily::Proportional),
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
        style.spacing.button_padding = egui::vec2(8.0, 3.0);
        // Animations would make values slide after an automation jump; the music is the motion.
        style.animation_time = 0.0;
        // Tooltips explain parameters: show them soon and keep them readable.
        style.interaction.tooltip_delay = 0.35;
        style.visuals.popup_shadow = egui::Shadow::NONE;
        style.visuals.window_shadow = egui::Shadow::NONE;
    });
}

/// The frame of the header: the page's glow, drawn by [`paint_header_glow`].
pub fn header_frame() -> egui::Frame {
    egui::Frame::new().inner_margin(Margin::symmetric(16, 10))
}

/// The frame of the status bar.
pub fn bar_frame() -> egui::Frame {
    egui::Frame::new().inner_margin(Margin::symmetric(16, 7))
}

/// The frame of the controls column.
pub fn side_frame() -> egui::Frame {
    egui::Frame::new().inner_margin(Margin {
        left: 16,
        right: 12,
        top: 12,
        bottom: 10,
    })
}

/// The frame of the music area.
pub fn main_frame() -> egui::Frame {
    egui::Frame::new().inner_margin(Margin {
        left: 14,
        right: 16,
        top: 10,
        bottom: 10,
    })
}

/// The header's glow: the page's aurora as a horizontal gradient, cool on the left, sea-green
/// on the right, fading into the ground at the bottom edge.
pub fn paint_header_glow(painter: &egui::Painter, rect: egui::Rect) {
    let mut mesh = egui::Mesh::default();
    let middle = rect.center().x;
    let columns = [
        (rect.left(), GLOW_COOL),
        (middle, BACKGROUND),
        (rect.right(), GLOW_SEA),
    ];
    for (x, colour) in columns {
        mesh.colored_vertex(egui::pos2(x, rect.top()), colour);
        mesh.colored_vertex(egui::pos2(x, rect.bottom()), colour);
    }
    for column in 0..2u32 {
        let i = column * 2;
        mesh.add_triangle(i, i + 1, i + 2);
        mesh.add_triangle(i + 1, i + 2, i + 3);
    }
    painter.add(mesh);
    painter.hline(rect.x_range(), rect.bottom() - 0.5, Stroke::new(1.0, LINE));
}

/// A large label font.
pub fn display_font(size: f32) -> FontId {
    FontId::new(size, FontFamily::Proportional)
}

/// Every named colour with the name the page's CSS gives it.
pub fn css_palette() -> Vec<(String, Color32)> {
    let mut palette: Vec<(String, Color32)> = [
        ("bg", BACKGROUND),
        ("glow-cool", GLOW_COOL),
        ("glow-sea", GLOW_SEA),
        ("surface", SURFACE),
        ("surface-hover", SURFACE_HOVER),
        ("line", LINE),
        ("ink", TEXT),
        ("muted", MUTED),
        ("accent", ACCENT),
        ("warn", WARNING),
    ]
    .into_iter()
    .map(|(name, colour)| (name.to_owned(), colour))
    .collect();
    for voice in Voice::ALL {
        palette.push((format!("layer-{}", voice.name()), voice.colour()));
    }
    palette
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG 2 contrast ratio of two opaque colours, 1..=21.
    fn contrast_ratio(a: Color32, b: Color32) -> f32 {
        let (la, lb) = (relative_luminance(a), relative_luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// WCAG 2 relative luminance of an sRGB colour, 0..=1.
    fn relative_luminance(colour: Color32) -> f32 {
        let channel = |c: u8| {
            let c = f32::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b, _] = colour.to_array();
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// The page's stylesheet, embedded in the binary the same way.
    const STYLE_CSS: &str = include_str!("../../../web-monitor/style.css");

    fn css_colour(name: &str) -> Option<Color32> {
        let needle = format!("--{name}:");
        let line = STYLE_CSS
            .lines()
            .find(|l| l.trim_start().starts_with(&needle))?;
        let hex = line.split('#').nth(1)?.get(..6)?;
        let value = u32::from_str_radix(hex, 16).ok()?;
        Some(Color32::from_rgb(
            (value >> 16) as u8,
            (value >> 8) as u8,
            value as u8,
        ))
    }

    #[test]
    fn the_page_mirrors_every_colour_of_the_window() {
        for (name, colour) in css_palette() {
            assert_eq!(
                css_colour(&name),
                Some(colour),
                "--{name} in web-monitor/style.css differs from the editor's theme"
            );
        }
    }

    #[test]
    fn text_colours_read_at_least_four_and_a_half_to_one_on_every_ground() {
        for ground in [BACKGROUND, GLOW_COOL, GLOW_SEA, SURFACE, SURFACE_HOVER] {
            for (name, ink) in [("text", TEXT), ("muted", MUTED), ("accent", ACCENT)] {
                let ratio = contrast_ratio(ink, ground);
                assert!(ratio >= 4.5, "{name} on {ground:?}: {ratio:.2}:1");
            }
        }
        assert!(contrast_ratio(WARNING, BACKGROUND) >= 4.5);
        for voice in Voice::ALL {
            let ratio = contrast_ratio(voice.colour(), BACKGROUND);
            assert!(ratio >= 4.5, "{} on the ground: {ratio:.2}:1", voice.name());
        }
    }

    #[test]
    fn the_layer_hues_are_far_apart() {
        // The hue as the eye and the GUI test see it: of the sRGB values, not linear light.
        let hue = |c: Color32| {
            let [r, g, b, _] = c.to_array().map(f32::from);
            let (max, min) = (r.max(g).max(b), r.min(g).min(b));
            let h = if max == r {
                (g - b) / (max - min)
            } else if max == g {
                2.0 + (b - r) / (max - min)
            } else {
                4.0 + (r - g) / (max - min)
            };
            (h * 60.0).rem_euclid(360.0)
        };
        let hues: Vec<f32> = Voice::ALL.iter().map(|v| hue(v.colour())).collect();
        for (i, a) in hues.iter().enumerate() {
            for b in &hues[i + 1..] {
                let gap = (a - b).abs().min(360.0 - (a - b).abs());
                assert!(gap >= 30.0, "hues {a:.0}° and {b:.0}° are too close");
            }
        }
    }

    #[test]
    fn the_contrast_formula_matches_wcag() {
        assert!((contrast_ratio(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 0.01);
        assert!((contrast_ratio(Color32::from_gray(118), Color32::WHITE) - 4.54).abs() < 0.02);
    }
}
