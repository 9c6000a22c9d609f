//! The Auralis plugin's shared object: the CLAP entry (`clap_entry`, with preset discovery)
//! and the VST3 factory (`GetPluginFactory`) are defined in the `auralis` library, and a
//! cdylib exports the C symbols of every crate it links. This crate exists so that the
//! library can stay an rlib (see its Cargo.toml).

pub use auralis::Auralis;
