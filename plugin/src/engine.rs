//! The engine: everything between the parameters and the audio ring, on the engine thread.
//!
//! [`EngineCore`] turns settings into stereo frames, one block at a time: the [`timeline`] says
//! which beats a block covers, the composer plans notes a few beats ahead, the synthesizer's
//! voices, percussion and effects render them. It is plain synchronous code that an offline
//! render drives directly. [`start`] runs a core on an engine thread (a bounce's own, or one of
//! the pool's workers that serve every realtime instance of the process) and returns it with
//! the audio side's [`EngineLink`](crate::realtime::EngineLink), answering the audio thread's
//! block requests a fixed lead ahead. Engine threads may allocate, block and log; they never
//! hold anything the audio thread waits for.

mod adoption;
mod config;
mod core;
pub mod feed;
mod follow;
pub mod midi;
mod pool;
mod revision;
mod settings;
mod thread;
pub mod timeline;

pub use self::config::{EngineConfig, REALTIME_AHEAD_S};
pub use self::core::{CoreState, ENGINE_BLOCK_FRAMES, EngineCore, SoloLayer};
pub use self::feed::{NowPlaying, NowPlayingFeed};
pub use self::thread::{EngineHandle, EngineSetup, SettingsSource, start};
