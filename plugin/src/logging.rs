//! Log messages: how many (`AURALIS_LOG`) and where (`NICE_LOG`, as for every nice-plug plugin:
//! `stderr`, or a file path; by default stderr, or the host's log where it has one).
//!
//! The engine and the monitor log what a user may want to know (the renderer chosen, a GPU that
//! failed, state that could not be loaded); the audio thread never logs.

use tracing_subscriber::filter::LevelFilter;

/// The environment variable that sets the level.
pub const LOG_ENV: &str = "AURALIS_LOG";
/// The levels it accepts, for messages.
pub const LEVELS: &str = "off, error, warn, info, debug, trace";

/// The level `AURALIS_LOG` asks for: `info` when unset.
///
/// # Errors
///
/// A message naming the variable and the valid levels when its value is none of them.
pub fn level_from_env() -> Result<LevelFilter, String> {
    match std::env::var(LOG_ENV) {
        Err(_) => Ok(LevelFilter::INFO),
        Ok(value) => parse_level(&value)
            .ok_or_else(|| format!("{LOG_ENV}={value:?} is not a log level; use one of {LEVELS}")),
    }
}

/// A level by name, case-insensitively.
pub fn parse_level(name: &str) -> Option<LevelFilter> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => LevelFilter::OFF,
        "error" => LevelFilter::ERROR,
        "warn" | "warning" => LevelFilter::WARN,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        _ => return None,
    })
}

/// Installs the process-wide logger at the level `AURALIS_LOG` sets (an invalid value is
/// reported and `info` used). Returns false if a logger was already installed.
pub fn init() -> bool {
    let (level, problem) = match level_from_env() {
        Ok(level) => (level, None),
        Err(problem) => (LevelFilter::INFO, Some(problem)),
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false)
        .with_writer(nice_plug::log::writer_from_env())
        .finish();
    let installed = tracing::subscriber::set_global_default(subscriber).is_ok();
    if let Some(problem) = problem {
        nice_plug::nice_warn!("{problem}");
    }
    installed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_case_insensitively_and_garbage_does_not() {
        assert_eq!(parse_level("WARN"), Some(LevelFilter::WARN));
        assert_eq!(parse_level(" debug "), Some(LevelFilter::DEBUG));
        assert_eq!(parse_level("off"), Some(LevelFilter::OFF));
        assert_eq!(parse_level("loud"), None);
        assert_eq!(parse_level(""), None);
    }
}
