//! [`IcecastTarget`]: where a stream goes and as whom, from
//! `icecast://source:PASSWORD@HOST:PORT/MOUNT` (`http://` means the same).
//!
//! The password never leaves this type by accident: `Display` and `Debug` show the URL without
//! it, parse errors never echo the input, and [`IcecastTarget::redact`] scrubs it from text a
//! server sent back. So a target can go into a log line, `/status` or an error as it is.
//!
//! Parsed by hand rather than with the `url` crate: the form is one authority and a path, and
//! `url` would bring IDNA and ICU tables (some twenty crates) for no case we accept.

use std::fmt;

use percent_encoding::percent_decode_str;

/// Icecast's own default port.
pub const DEFAULT_PORT: u16 = 8000;
/// The user Icecast expects of a source unless its mount is configured otherwise.
pub const DEFAULT_USER: &str = "source";

/// One Icecast server and mount to feed.
#[derive(Clone, PartialEq, Eq)]
pub struct IcecastTarget {
    /// Source user, `source` unless the URL names another.
    user: String,
    /// Source password; may be empty until [`IcecastTarget::with_password`] sets it.
    password: String,
    /// Host name or address, IPv6 without its brackets.
    host: String,
    /// TCP port.
    port: u16,
    /// Mount point, starting with `/`.
    mount: String,
}

/// Why a `--icecast` URL was refused. The messages never contain the URL itself, which may
/// hold a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcecastUrlError {
    /// Another scheme than `icecast://` or `http://`. Icecast sources speak plain HTTP;
    /// for TLS, put a relay or a tunnel in between.
    #[error("the URL must start with icecast:// or http:// (TLS is not supported)")]
    Scheme,
    /// No host between `@` and the port or mount.
    #[error("the URL names no host")]
    Host,
    /// A port that is not a number from 1 to 65535.
    #[error("the port must be a number from 1 to 65535")]
    Port,
    /// No mount, or one with characters that cannot go into a request line.
    #[error(
        "the URL needs a mount such as /auralis.opus (letters, digits and - _ . ~ / only, \
         no query)"
    )]
    Mount,
    /// A user or password with bytes that are not UTF-8 once percent-decoded.
    #[error("the user and password must be UTF-8 (percent-encode @ : / as %40 %3A %2F)")]
    Credentials,
}

impl IcecastTarget {
    /// The target a URL names.
    ///
    /// # Errors
    ///
    /// [`IcecastUrlError`] for a URL that is not of the form above.
    pub fn parse(url: &str) -> Result<Self, IcecastUrlError> {
        let url = url.trim();
        let rest = strip_prefix_ignore_case(url, "icecast://")
            .or_else(|| strip_prefix_ignore_case(url, "http://"))
            .ok_or(IcecastUrlError::Scheme)?;
        let (authority, mount) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (String::new(), String::new()),
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                (decode(user)?, decode(password)?)
            }
        };
        let (host, port) = split_host_port(hostport)?;
        if !is_valid_mount(mount) {
            return Err(IcecastUrlError::Mount);
        }
        Ok(Self {
            user: if user.is_empty() {
                DEFAULT_USER.to_owned()
            } else {
                user
            },
            password,
            host,
            port,
            mount: mount.to_owned(),
        })
    }

    /// The same target with `password` instead of the URL's (`AURALIS_ICECAST_PASSWORD`).
    pub fn with_password(self, password: &str) -> Self {
        Self {
            password: password.to_owned(),
            ..self
        }
    }

    /// Whether a password is set; Icecast refuses every source without one.
    pub fn has_password(&self) -> bool {
        !self.password.is_empty()
    }

    /// Host name or address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Mount point, starting with `/`.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// The source user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `host:port` as the `Host` header wants it.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Authorization` header's value: HTTP Basic with the user and password.
    #[cfg_attr(not(feature = "opus"), allow(dead_code))]
    pub(crate) fn basic_auth(&self) -> String {
        let credentials = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            data_encoding::BASE64.encode(credentials.as_bytes())
        )
    }

    /// `text` with the password replaced by `***`, for anything a server sends back.
    pub fn redact(&self, text: &str) -> String {
        if self.password.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.password, "***")
        }
    }
}

/// The URL without the password: `icecast://source@host:8000/mount`.
impl fmt::Display for IcecastTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "icecast://{}@{}{}",
            self.user,
            self.authority(),
            self.mount
        )
    }
}

/// As `Display`: a `{:?}` of a config must not print the password either.
impl fmt::Debug for IcecastTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IcecastTarget({self})")
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn decode(text: &str) -> Result<String, IcecastUrlError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| IcecastUrlError::Credentials)
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to [`DEFAULT_PORT`].
fn split_host_port(hostport: &str) -> Result<(String, u16), IcecastUrlError> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(IcecastUrlError::Host)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(IcecastUrlError::Port)?),
        };
        (host, port)
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c));
    if !host_ok {
        return Err(IcecastUrlError::Host);
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or(IcecastUrlError::Port)?,
    };
    Ok((host.to_owned(), port))
}

/// A mount goes verbatim into the request line and into Icecast's admin URLs, so only
/// characters that need no escaping in either are taken.
fn is_valid_mount(mount: &str) -> bool {
    mount.len() > 1
        && mount.len() <= 256
        && mount.starts_with('/')
        && mount
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~/".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_parses_and_prints_without_its_password() {
        let target =
            IcecastTarget::parse("icecast://source:hunter2@radio.example:8010/ambient.opus")
                .unwrap();
        assert_eq!(target.host(), "radio.example");
        assert_eq!(target.port(), 8010);
        assert_eq!(target.mount(), "/ambient.opus");
        assert_eq!(target.user(), "source");
        assert!(target.has_password());
        let shown = format!("{target} {target:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(
            target.to_string(),
            "icecast://source@radio.example:8010/ambient.opus"
        );
        assert_eq!(target.basic_auth(), "Basic c291cmNlOmh1bnRlcjI=");
    }

    #[test]
    fn defaults_and_the_other_spellings() {
        let target = IcecastTarget::parse("HTTP://:pw@127.0.0.1/live").unwrap();
        assert_eq!((target.user(), target.port()), ("source", DEFAULT_PORT));
        let v6 = IcecastTarget::parse("icecast://dj:p%40ss%3Aword@[::1]:8001/a").unwrap();
        assert_eq!((v6.host(), v6.port(), v6.user()), ("::1", 8001, "dj"));
        assert_eq!(v6.authority(), "[::1]:8001");
        assert_eq!(v6.redact("rejected p@ss:word!"), "rejected ***!");
        let bare = IcecastTarget::parse("icecast://host/m").unwrap();
        assert!(!bare.has_password());
        assert!(bare.with_password("from-env").has_password());
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        for (url, expected) in [
            ("https://source:pw@host/m", IcecastUrlError::Scheme),
            ("source:pw@host/m", IcecastUrlError::Scheme),
            ("icecast://source:pw@/m", IcecastUrlError::Host),
            ("icecast://source:pw@host:0/m", IcecastUrlError::Port),
            ("icecast://source:pw@host:99999/m", IcecastUrlError::Port),
            ("icecast://source:pw@host:x/m", IcecastUrlError::Port),
            ("icecast://source:pw@host", IcecastUrlError::Mount),
            ("icecast://source:pw@host/", IcecastUrlError::Mount),
            ("icecast://source:pw@host/a b", IcecastUrlError::Mount),
            ("icecast://source:pw@host/a?x=1", IcecastUrlError::Mount),
            ("icecast://source:pw@host/a\r\nX: y", IcecastUrlError::Mount),
            ("icecast://source:pw@ho st/m", IcecastUrlError::Host),
            ("icecast://source:%ff@host/m", IcecastUrlError::Credentials),
            ("icecast://source:pw@[::1/m", IcecastUrlError::Host),
        ] {
            let error = IcecastTarget::parse(url).unwrap_err();
            assert_eq!(error, expected, "{url}");
            assert!(!error.to_string().contains("pw"), "{error}");
        }
    }
}
