//! The page's static files (`api-a/assets/`), compiled into the binary. Each is served at
//! `{BASE_PATH}/assets/<name>` and linked with a version that is a hash of its content, so a
//! browser may keep it for a year and still never uses an old one after an upgrade.

/// A static file of the page.
pub struct Asset {
    pub name: &'static str,
    pub body: &'static str,
    pub content_type: &'static str,
    version: u64,
}

impl Asset {
    const fn new(name: &'static str, body: &'static str, content_type: &'static str) -> Self {
        Self {
            name,
            body,
            content_type,
            version: fnv1a(body.as_bytes()),
        }
    }

    /// Where the page links it from, relative to the routes: `assets/<name>?v=<version>`.
    pub fn url(&self) -> String {
        format!("assets/{}?v={:016x}", self.name, self.version)
    }

    /// Its route, relative to the base path.
    pub fn path(&self) -> String {
        format!("/assets/{}", self.name)
    }
}

pub static ASSETS: &[Asset] = &[
    Asset::new(
        "page.css",
        include_str!("../../assets/page.css"),
        "text/css; charset=utf-8",
    ),
    Asset::new(
        "page.js",
        include_str!("../../assets/page.js"),
        "text/javascript; charset=utf-8",
    ),
    Asset::new(
        "icon.svg",
        include_str!("../../assets/icon.svg"),
        "image/svg+xml",
    ),
];

/// The 64-bit FNV-1a hash: enough to tell versions of a file apart, computed at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_the_content() {
        assert_ne!(fnv1a(b"a{}"), fnv1a(b"a{ }"));
        let css = &ASSETS[0];
        assert_eq!(
            css.url(),
            format!("assets/page.css?v={:016x}", fnv1a(css.body.as_bytes()))
        );
        assert_eq!(css.path(), "/assets/page.css");
    }
}
