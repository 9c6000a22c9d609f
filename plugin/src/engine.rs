//! The engine: everything between the parameters and the audio ring.
//!
//! [`EngineCore`] turns a settings snapshot into stereo frames, one block at a time; it is plain
//! synchronous code that an offline render drives directly. [`EngineHandle`] runs a core on its
//! own thread, keeping the audio ring a few tens of milliseconds ahead of the audio thread (the
//! whole ring ahead in offline mode). The engine thread may allocate, block and log; it never
//! holds anything the audio thread waits for.

mod core;
mod placeholder;
mod thread;

pub use self::core::{ENGINE_BLOCK_FRAMES, EngineCore};
pub use self::thread::{EngineConfig, EngineHandle, SettingsSource};
