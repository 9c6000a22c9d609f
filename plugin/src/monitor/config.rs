//! What the monitor listens on and who may listen: the settings the standalone's CLI fills.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::auth;
use super::error::MonitorError;
use super::icecast::IcecastConfig;

/// `127.0.0.1:8040`: loopback, so nothing is exposed unless the user asks for it.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8040));

/// How to run the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Address and port to listen on. Port 0 picks a free port ([`super::MonitorServer::local_addr`]
    /// tells which). Anything but loopback requires `token`.
    pub bind: SocketAddr,
    /// Access token. When set, every request must present it (`?token=`, or
    /// `Authorization: Bearer`), and the parameter API is enabled. 1 to 256 characters from
    /// `A-Z a-z 0-9 - _ . ~`, so it can sit in a URL unescaped.
    pub token: Option<String>,
    /// Most simultaneous `/stream` listeners; more are refused with HTTP 503. Bounds memory and
    /// the broadcast thread's work.
    pub max_listeners: usize,
    /// Icecast servers to push the stream to, beside the browsers.
    pub icecast: IcecastConfig,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND,
            token: None,
            max_listeners: 64,
            icecast: IcecastConfig::default(),
        }
    }
}

impl MonitorConfig {
    /// Checks the settings before anything is bound.
    ///
    /// # Errors
    ///
    /// [`MonitorError::TokenRequired`] for a non-loopback address without a token,
    /// [`MonitorError::InvalidToken`] for a token that cannot sit in a URL,
    /// [`MonitorError::NoListenersAllowed`] for `max_listeners == 0`, and those of
    /// [`IcecastConfig::validate`].
    pub fn validate(&self) -> Result<(), MonitorError> {
        self.icecast.validate()?;
        if let Some(token) = &self.token {
            if !auth::is_valid_token(token) {
                return Err(MonitorError::InvalidToken);
            }
        } else if !self.bind.ip().is_loopback() {
            return Err(MonitorError::TokenRequired { bind: self.bind });
        }
        if self.max_listeners == 0 {
            return Err(MonitorError::NoListenersAllowed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_loopback_and_valid() {
        let config = MonitorConfig::default();
        assert!(config.bind.ip().is_loopback());
        assert_eq!(config.bind.port(), 8040);
        config.validate().unwrap();
    }

    #[test]
    fn a_public_bind_needs_a_token() {
        let open = MonitorConfig {
            bind: "0.0.0.0:8040".parse().unwrap(),
            ..MonitorConfig::default()
        };
        let err = open.validate().unwrap_err();
        assert!(matches!(err, MonitorError::TokenRequired { .. }));
        assert!(err.to_string().contains("token"), "{err}");
        let guarded = MonitorConfig {
            token: Some("s3cret-token".into()),
            ..open
        };
        guarded.validate().unwrap();
    }

    #[test]
    fn tokens_that_do_not_fit_in_a_url_are_refused() {
        for bad in ["", "a b", "a&b", "ü", &"x".repeat(257)] {
            let config = MonitorConfig {
                token: Some(bad.to_string()),
                ..MonitorConfig::default()
            };
            assert!(
                matches!(config.validate(), Err(MonitorError::InvalidToken)),
                "{bad:?}"
            );
        }
    }
}
