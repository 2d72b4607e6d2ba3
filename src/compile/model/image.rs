//! Image references, parsed with oci-spec's reference grammar.

use std::str::FromStr;

use oci_spec::distribution::Reference;

/// A checked image reference, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub raw: String,
    /// The registry was written out (`docker.io/…`, `ghcr.io/…`, `localhost/…`, `host:5000/…`).
    pub fully_qualified: bool,
    /// Pinned by `@sha256:…`: it can never be updated.
    pub digest_pinned: bool,
    /// The fully qualified form podman would resolve a Docker-style short name to.
    pub qualified: String,
}

impl Image {
    pub fn parse(value: &str) -> Result<Self, String> {
        let reference = Reference::from_str(value)
            .map_err(|e| format!("`{value}` is not a valid image reference ({e})"))?;
        let first = value.split('/').next().unwrap_or_default();
        let has_registry = value.contains('/')
            && (first.contains('.') || first.contains(':') || first == "localhost");
        Ok(Self {
            raw: value.to_string(),
            fully_qualified: has_registry,
            digest_pinned: reference.digest().is_some(),
            qualified: reference.whole(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifies_short_names() {
        let short = Image::parse("nginx").expect("valid");
        assert!(!short.fully_qualified);
        assert_eq!(short.qualified, "docker.io/library/nginx:latest");
        let hub = Image::parse("jlesage/jdownloader-2:latest").expect("valid");
        assert!(!hub.fully_qualified);
        assert_eq!(hub.qualified, "docker.io/jlesage/jdownloader-2:latest");
        let full = Image::parse("ghcr.io/home-assistant/home-assistant:stable").expect("valid");
        assert!(full.fully_qualified);
        assert!(
            Image::parse("127.0.0.1:5000/web:latest")
                .expect("valid")
                .fully_qualified
        );
        assert!(
            Image::parse("localhost/web")
                .expect("valid")
                .fully_qualified
        );
    }

    #[test]
    fn detects_digests_and_rejects_garbage() {
        let pinned = format!("docker.io/library/nginx@sha256:{}", "a".repeat(64));
        assert!(Image::parse(&pinned).expect("valid").digest_pinned);
        for bad in [
            "",
            "docker.io/Library/nginx",
            "nginx latest",
            "nginx:",
            "a\nb",
            "docker.io/x:%n",
        ] {
            assert!(Image::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
