//! The renderer abstraction and the fallback chain GPU → CPU → silence.

use super::block::PartialBlock;

/// Which implementation is rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RendererKind {
    /// wgpu compute shaders.
    Gpu,
    /// The SIMD-friendly CPU loop.
    Cpu,
    /// Silence: the last resort.
    Silent,
}

impl RendererKind {
    /// A short lowercase name for status reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RendererKind::Gpu => "gpu",
            RendererKind::Cpu => "cpu",
            RendererKind::Silent => "silent",
        }
    }
}

/// Which renderer the user asked for: `auto`, `gpu` or `cpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RendererChoice {
    /// A real (hardware) GPU when there is one, else the CPU.
    #[default]
    Auto,
    /// wgpu on any adapter, a software one included (how the tests run it); the CPU if
    /// there is none at all.
    Gpu,
    /// The CPU only.
    Cpu,
}

impl RendererChoice {
    /// Parses `auto`, `gpu` or `cpu` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "gpu" => Some(Self::Gpu),
            "cpu" => Some(Self::Cpu),
            _ => None,
        }
    }

    /// The choice named by the `AURALIS_RENDERER` environment variable, else `Auto`.
    pub fn from_env() -> Self {
        std::env::var("AURALIS_RENDERER")
            .ok()
            .and_then(|v| Self::parse(&v))
            .unwrap_or_default()
    }

    /// Every choice, in the order help texts list them.
    pub const ALL: [Self; 3] = [Self::Auto, Self::Gpu, Self::Cpu];

    /// The name users type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        }
    }
}

impl std::fmt::Display for RendererChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a renderer could not render a block. Any error makes the chain fall back to the next
/// renderer for this block and every block after it.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The device went away (driver reset, GPU lost).
    #[error("the rendering device was lost: {0}")]
    DeviceLost(String),
    /// The device ran out of memory.
    #[error("the rendering device is out of memory")]
    OutOfMemory,
    /// The device did not answer in time.
    #[error("the rendering device timed out after {0} ms")]
    Timeout(u64),
    /// Anything else the backend reported.
    #[error("rendering failed: {0}")]
    Backend(String),
}

/// Sums a [`PartialBlock`] into stereo.
pub trait Renderer: Send {
    /// Which implementation this is.
    fn kind(&self) -> RendererKind;

    /// A human-readable description, e.g. the GPU adapter's name.
    fn describe(&self) -> String;

    /// Overwrites `left` and `right` (each `block.frames` long) with the sum of the block's
    /// partials.
    ///
    /// # Errors
    /// A [`RenderError`] when the backend failed; the outputs are then unspecified.
    fn render(
        &mut self,
        block: &PartialBlock,
        left: &mut [f32],
        right: &mut [f32],
    ) -> Result<(), RenderError>;
}

/// Renders nothing: used when no other renderer works, so the host still gets valid silence.
#[derive(Debug, Default)]
pub struct SilentRenderer;

impl Renderer for SilentRenderer {
    fn kind(&self) -> RendererKind {
        RendererKind::Silent
    }

    fn describe(&self) -> String {
        "silence".into()
    }

    fn render(
        &mut self,
        _block: &PartialBlock,
        left: &mut [f32],
        right: &mut [f32],
    ) -> Result<(), RenderError> {
        left.fill(0.0);
        right.fill(0.0);
        Ok(())
    }
}

/// The renderers in order of preference. A failure hands the block, and all later ones, to the
/// next renderer, so a lost GPU costs no audio.
pub struct RendererChain {
    /// Remaining renderers, best first; the first one is in use.
    renderers: Vec<Box<dyn Renderer>>,
    /// The most recent failure, for status reports.
    last_error: Option<String>,
}

impl RendererChain {
    /// A chain of `renderers`, best first, always ending in silence.
    pub fn new(mut renderers: Vec<Box<dyn Renderer>>) -> Self {
        if renderers.last().map(|r| r.kind()) != Some(RendererKind::Silent) {
            renderers.push(Box::new(SilentRenderer));
        }
        Self {
            renderers,
            last_error: None,
        }
    }

    /// The renderer in use.
    pub fn current(&self) -> &dyn Renderer {
        self.renderers[0].as_ref()
    }

    /// The most recent failure that caused a fallback, if any.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Renders with the best renderer that works.
    pub fn render(&mut self, block: &PartialBlock, left: &mut [f32], right: &mut [f32]) {
        loop {
            match self.renderers[0].render(block, left, right) {
                Ok(()) => return,
                Err(err) if self.renderers.len() > 1 => {
                    let failed = self.renderers.remove(0);
                    let message = format!(
                        "{} renderer failed ({err}); falling back to {}",
                        failed.describe(),
                        self.renderers[0].describe()
                    );
                    nice_plug::nice_warn!("{message}");
                    self.last_error = Some(message);
                }
                Err(_) => {
                    left.fill(0.0);
                    right.fill(0.0);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{CpuRenderer, PartialParams};

    /// Fails every block, like a GPU that was lost.
    struct BrokenRenderer;

    impl Renderer for BrokenRenderer {
        fn kind(&self) -> RendererKind {
            RendererKind::Gpu
        }
        fn describe(&self) -> String {
            "broken".into()
        }
        fn render(
            &mut self,
            _: &PartialBlock,
            _: &mut [f32],
            _: &mut [f32],
        ) -> Result<(), RenderError> {
            Err(RenderError::DeviceLost("injected".into()))
        }
    }

    #[test]
    fn a_failing_renderer_hands_the_same_block_to_the_next() {
        let mut chain =
            RendererChain::new(vec![Box::new(BrokenRenderer), Box::new(CpuRenderer::new())]);
        let mut block = PartialBlock::with_capacity(1);
        block.clear(64);
        block.partials.push(PartialParams {
            phase: 0.25,
            increment: 0.01,
            amp_left: 0.5,
            amp_right: 0.5,
            ..Default::default()
        });
        let mut left = vec![0.0; 64];
        let mut right = vec![0.0; 64];
        chain.render(&block, &mut left, &mut right);
        assert_eq!(chain.current().kind(), RendererKind::Cpu);
        assert!(chain.last_error().unwrap().contains("injected"));
        assert!(
            (left[0] - 0.5).abs() < 1e-6,
            "the failed block was rendered: {}",
            left[0]
        );
    }
}
