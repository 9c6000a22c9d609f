//! The listener page's files, embedded in the binary so the monitor needs nothing on disk.
//!
//! The sources live in `web-monitor/` at the workspace root, next to the plugin crate.

/// One embedded file.
#[derive(Debug)]
pub(super) struct Asset {
    /// URL path, e.g. `/app.js`.
    pub path: &'static str,
    /// `Content-Type` to serve it with.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
    /// Whether this is the page itself (`/`), which gets the security headers and token cookie.
    pub is_page: bool,
}

/// Embeds `web-monitor/$file` as an asset served at `/$file`.
macro_rules! asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            path: concat!("/", $file),
            content_type: $content_type,
            body: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../web-monitor/",
                $file
            )),
            is_page: false,
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file the page loads. A unit test checks that each module the scripts import is here.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../web-monitor/index.html"
        )),
        is_page: true,
    },
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("connection.js", JS),
    asset!("controls.js", JS),
    asset!("display.js", JS),
    asset!("fallback-player.js", JS),
    asset!("player.js", JS),
    asset!("ring.js", JS),
    asset!("visuals.js", JS),
    asset!("worklet.js", JS),
];

/// The asset served at `path` (`/index.html` is the page too).
pub(super) fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|asset| asset.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `./x.js` a script or the page refers to, and `addModule('x.js')`.
    fn references(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for quote in ['\'', '"'] {
            for piece in text.split(quote).skip(1).step_by(2) {
                let name = piece.trim_start_matches("./");
                let is_local_file = !name.contains('/') && !name.contains(' ');
                if is_local_file && (name.ends_with(".js") || name.ends_with(".css")) {
                    found.push(format!("/{name}"));
                }
            }
        }
        found
    }

    #[test]
    fn every_file_the_page_loads_is_embedded() {
        for asset in ASSETS {
            assert!(!asset.body.is_empty(), "{} is empty", asset.path);
            let text = std::str::from_utf8(asset.body).expect("text assets");
            for reference in references(text) {
                assert!(
                    find(&reference).is_some(),
                    "{} loads {reference}, which is not embedded",
                    asset.path
                );
            }
        }
        assert!(find("/index.html").is_some_and(|asset| asset.is_page));
        assert!(find("/../Cargo.toml").is_none());
    }
}
