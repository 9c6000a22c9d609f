//! A window for tests to look into. With `AURALIS_GUI_PROBE=<file>` set when the editor is
//! created, the editor writes what egui laid out to that file as JSON about twice a second:
//! every text with its rectangle, clip rectangle, colours and the ground painted beneath it,
//! the named areas (the roll), the focused control, the layers on the roll, the frames drawn
//! and the drawing thread. Tests check from it that no text is clipped or overlapping and that
//! every text reads at 4.5:1, and the benchmark finds the drawing thread. Off (and free) when
//! the variable is unset; GUI thread only.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::{Color32, LayerId, Rect, Shape};
use serde_json::{Value, json};

use super::theme::{self, Voice};

/// The environment variable naming the file.
pub const PROBE_ENV: &str = "AURALIS_GUI_PROBE";
/// How often the file is rewritten.
const WRITE_INTERVAL: Duration = Duration::from_millis(500);

/// What the editor reports to the probe's file.
pub struct Probe {
    path: PathBuf,
    started: Instant,
    last_write: Option<Instant>,
    /// Frames drawn since the window opened.
    frames: u64,
    /// Named parts of the window, in points.
    areas: Vec<(&'static str, Rect)>,
    /// The name of the control with keyboard focus this frame.
    focused: Option<String>,
    /// Notes of each voice on the roll this frame, in [`Voice::ALL`] order.
    voices: [usize; Voice::ALL.len()],
}

impl Probe {
    /// The probe, if [`PROBE_ENV`] names a file.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os(PROBE_ENV).filter(|p| !p.is_empty())?;
        Some(Self {
            path: PathBuf::from(path),
            started: Instant::now(),
            last_write: None,
            frames: 0,
            areas: Vec::new(),
            focused: None,
            voices: [0; Voice::ALL.len()],
        })
    }

    /// Notes the rectangle of a named part of the window.
    pub fn area(&mut self, name: &'static str, rect: Rect) {
        self.areas.retain(|(n, _)| *n != name);
        self.areas.push((name, rect));
    }

    /// Notes which control has keyboard focus.
    pub fn focused(&mut self, name: &str) {
        self.focused = Some(name.to_owned());
    }

    /// Notes how many notes of each voice the roll shows.
    pub fn voices(&mut self, counts: [usize; Voice::ALL.len()]) {
        self.voices = counts;
    }

    /// Ends a frame: counts it and, when due, writes the file (a failed write is reported
    /// once per interval to the log and never stops the window).
    pub fn end_frame(&mut self, ctx: &egui::Context) {
        self.frames += 1;
        let now = Instant::now();
        if self
            .last_write
            .is_some_and(|last| now - last < WRITE_INTERVAL)
        {
            self.focused = None;
            return;
        }
        self.last_write = Some(now);
        let report = self.report(ctx);
        let temporary = self.path.with_extension("tmp");
        let written = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&temporary, bytes))
            .and_then(|()| std::fs::rename(&temporary, &self.path));
        if let Err(error) = written {
            nice_plug::nice_warn!("GUI probe {}: {error}", self.path.display());
        }
        self.focused = None;
    }

    fn report(&self, ctx: &egui::Context) -> Value {
        let texts = ctx.graphics(|layers| {
            layers
                .get(LayerId::background())
                .map(|list| texts(list.all_entries().map(|c| (c.clip_rect, &c.shape))))
                .unwrap_or_default()
        });
        let areas: serde_json::Map<String, Value> = self
            .areas
            .iter()
            .map(|(name, rect)| ((*name).to_owned(), rect_json(*rect)))
            .collect();
        let voices: serde_json::Map<String, Value> = Voice::ALL
            .iter()
            .zip(self.voices)
            .map(|(voice, count)| (voice.name().to_owned(), json!(count)))
            .collect();
        let palette: serde_json::Map<String, Value> = theme::css_palette()
            .into_iter()
            .map(|(name, colour)| (name, colour_json(colour)))
            .collect();
        json!({
            "frames": self.frames,
            "seconds": self.started.elapsed().as_secs_f64(),
            "thread": drawing_thread(),
            "pixels_per_point": ctx.pixels_per_point(),
            "screen": rect_json(ctx.content_rect()),
            "areas": areas,
            "focused": self.focused,
            "voices": voices,
            "palette": palette,
            "texts": texts,
        })
    }
}

/// A filled shape that text may sit on: its rectangle and its colours (one for a flat fill,
/// the vertex colours of a gradient).
struct Ground {
    rect: Rect,
    clip: Rect,
    colours: Vec<Color32>,
}

/// Every text among `shapes` (in paint order) with the grounds beneath its centre.
fn texts<'a>(shapes: impl Iterator<Item = (Rect, &'a Shape)>) -> Vec<Value> {
    let mut flat = Vec::new();
    for (clip, shape) in shapes {
        flatten(clip, shape, &mut flat);
    }
    let mut grounds: Vec<Ground> = Vec::new();
    let mut out = Vec::new();
    for (clip, shape) in flat {
        match shape {
            Shape::Rect(rect) if rect.fill.a() > 0 => grounds.push(Ground {
                rect: rect.rect,
                clip,
                colours: vec![rect.fill],
            }),
            Shape::Mesh(mesh) if !mesh.vertices.is_empty() => {
                let bounds =
                    Rect::from_points(&mesh.vertices.iter().map(|v| v.pos).collect::<Vec<_>>());
                let mut colours: Vec<Color32> = mesh.vertices.iter().map(|v| v.color).collect();
                colours.dedup();
                grounds.push(Ground {
                    rect: bounds,
                    clip,
                    colours,
                });
            }
            Shape::Text(text) if !text.galley.is_empty() && text.angle == 0.0 => {
                let rect = text.galley.rect.translate(text.pos.to_vec2());
                let centre = rect.center();
                let mut beneath = vec![theme::BACKGROUND];
                for ground in grounds
                    .iter()
                    .filter(|g| g.rect.contains(centre) && g.clip.contains(centre))
                {
                    beneath = over(&ground.colours, &beneath);
                }
                let mut colours: Vec<Color32> = text
                    .galley
                    .job
                    .sections
                    .iter()
                    .map(|section| {
                        let colour = text.override_text_color.unwrap_or(
                            if section.format.color == Color32::PLACEHOLDER {
                                text.fallback_color
                            } else {
                                section.format.color
                            },
                        );
                        colour.gamma_multiply(text.opacity_factor)
                    })
                    .collect();
                colours.dedup();
                out.push(json!({
                    "text": text.galley.text(),
                    "rect": rect_json(rect),
                    "clip": rect_json(clip),
                    "elided": text.galley.elided,
                    "colours": colours.iter().map(|c| colour_json(*c)).collect::<Vec<_>>(),
                    "grounds": beneath.iter().map(|c| colour_json(*c)).collect::<Vec<_>>(),
                }));
            }
            _ => {}
        }
    }
    out
}

fn flatten<'a>(clip: Rect, shape: &'a Shape, out: &mut Vec<(Rect, &'a Shape)>) {
    if let Shape::Vec(shapes) = shape {
        for shape in shapes {
            flatten(clip, shape, out);
        }
    } else {
        out.push((clip, shape));
    }
}

/// Each of `top` (premultiplied, perhaps translucent) over each of `beneath` (opaque).
fn over(top: &[Color32], beneath: &[Color32]) -> Vec<Color32> {
    let mut out = Vec::new();
    for &t in top {
        if t.a() == 255 {
            out.push(t);
            continue;
        }
        for &b in beneath {
            let keep = 1.0 - f32::from(t.a()) / 255.0;
            let mix = |t: u8, b: u8| (f32::from(t) + f32::from(b) * keep).round().min(255.0) as u8;
            out.push(Color32::from_rgb(
                mix(t.r(), b.r()),
                mix(t.g(), b.g()),
                mix(t.b(), b.b()),
            ));
        }
    }
    out.dedup();
    out
}

fn rect_json(rect: Rect) -> Value {
    json!([rect.min.x, rect.min.y, rect.max.x, rect.max.y])
}

/// An unpremultiplied colour as `[r, g, b, a]`.
fn colour_json(colour: Color32) -> Value {
    let [r, g, b, a] = colour.to_srgba_unmultiplied();
    json!([r, g, b, a])
}

/// The id of the thread drawing the window (Linux), so a benchmark can measure its CPU.
fn drawing_thread() -> Option<u64> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}
