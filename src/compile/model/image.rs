//! Image references, parsed by hand with the grammar of oci-spec's reference parser (Docker's
//! `distribution/reference`), without compiling its regular expression: that costs about 40 ms at
//! every start. A property test proves the two parsers agree.

use oci_spec::distribution::{ParseError, Reference};

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

/// Why an image reference was refused.
#[derive(Debug, thiserror::Error)]
#[error("`{value}` is not a valid image reference ({reason})")]
pub struct ImageError {
    pub value: String,
    pub reason: ParseError,
}

impl Image {
    /// Checks an image reference; the only way to make an [`Image`].
    pub fn parse(value: &str) -> Result<Self, ImageError> {
        let reference = parse_reference(value).map_err(|reason| ImageError {
            value: value.to_string(),
            reason,
        })?;
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

/// The longest repository (after `library/` is added) oci-spec accepts.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Parses `value` exactly like oci-spec's `Reference::from_str`, giving the same reference or the
/// same error.
///
/// oci-spec matches `^(NAME)(?::(TAG))?(?:@(DIGEST))?$`. The parts never overlap: `@` appears
/// only before the digest, and a `:` in the name only as a registry port, always followed by
/// `/`, which a tag cannot contain. So the split below is the only way the expression can match.
pub fn parse_reference(value: &str) -> Result<Reference, ParseError> {
    if value.is_empty() {
        return Err(ParseError::NameEmpty);
    }
    let (rest, digest) = match value.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (value, None),
    };
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (rest, None),
    };
    let well_formed = is_name(name) && tag.is_none_or(is_tag) && digest.is_none_or(is_digest);
    if !well_formed {
        return Err(ParseError::ReferenceInvalidFormat);
    }
    let (registry, repository) = split_domain(name);
    if repository.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ParseError::NameTooLong);
    }
    if let Some(digest) = digest {
        let expected = match digest.split_once(':') {
            Some(("sha256", _)) => 64,
            Some(("sha384", _)) => 96,
            Some(("sha512", _)) => 128,
            Some(_) => return Err(ParseError::DigestUnsupported),
            None => return Err(ParseError::DigestInvalidFormat),
        };
        if digest.split_once(':').map_or(0, |(_, hex)| hex.len()) != expected {
            return Err(ParseError::DigestInvalidLength);
        }
    }
    let tag = match (tag, digest) {
        (None, None) => Some("latest"),
        (tag, _) => tag,
    };
    Ok(match (tag, digest) {
        (Some(tag), Some(digest)) => {
            Reference::with_tag_and_digest(registry, repository, tag.into(), digest.into())
        }
        (Some(tag), None) => Reference::with_tag(registry, repository, tag.into()),
        (None, digest) => {
            Reference::with_digest(registry, repository, digest.unwrap_or_default().into())
        }
    })
}

/// `(DOMAIN/)?PATH(/PATH)*`: the registry is what comes before the first `/`, if that is a
/// domain and the rest a path; otherwise the whole name must be a path.
fn is_name(name: &str) -> bool {
    let is_path = |p: &str| p.split('/').all(is_path_component);
    is_path(name)
        || name
            .split_once('/')
            .is_some_and(|(domain, path)| is_domain(domain) && is_path(path))
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-` (including none).
fn is_path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    bytes
        .split(alnum)
        .all(|sep| matches!(sep, b"" | b"." | b"_" | b"__") || sep.iter().all(|b| *b == b'-'))
}

/// `LABEL(.LABEL)*(:PORT)?`, labels of ASCII letters, digits and inner `-`.
fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let is_label = |l: &str| {
        let b = l.as_bytes();
        b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    host.split('.').all(is_label)
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[\w][\w.-]{0,127}`, with the regex crate's Unicode `\w`.
fn is_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars.next().is_some_and(regex_syntax::is_word_character)
        && tag.chars().count() <= 128
        && chars.all(|c| regex_syntax::is_word_character(c) || matches!(c, '.' | '-'))
}

/// `ALGORITHM:HEX` with `ALGORITHM` = `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*` and at
/// least 32 hex digits.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let part_ok = |p: &[u8]| {
        p.first().is_some_and(u8::is_ascii_alphabetic) && p.iter().all(u8::is_ascii_alphanumeric)
    };
    algorithm
        .as_bytes()
        .split(|b| matches!(b, b'-' | b'_' | b'+' | b'.'))
        .all(part_ok)
        && hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// oci-spec's `split_domain` (Docker's `normalize.go`): the registry, and the repository with
/// `library/` for Docker Hub's official images.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((left, right)) if left.contains('.') || left.contains(':') || left == "localhost" => {
            (left.to_string(), right.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if domain == "docker.io" && !remainder.contains('/') {
        remainder = format!("library/{remainder}");
    }
    (domain, remainder)
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

/// The hand-written parser against oci-spec's own (which compiles its regular expression): the
/// same reference or the same error, for realistic references, references with one thing wrong,
/// and strings over the grammar's alphabet.
#[cfg(test)]
mod equivalence {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn oci_spec(value: &str) -> Result<Reference, ParseError> {
        Reference::from_str(value)
    }

    fn same(value: &str) -> Result<(), TestCaseError> {
        let ours = parse_reference(value);
        let theirs = oci_spec(value);
        prop_assert_eq!(&ours, &theirs, "{:?}", value);
        if let Ok(r) = ours {
            prop_assert_eq!(r.whole(), theirs.map(|t| t.whole()).unwrap_or_default());
        }
        Ok(())
    }

    /// Parts of references, good and bad, that a generator can glue together.
    fn domain() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("docker.io/".into()),
            Just("index.docker.io/".into()),
            Just("localhost/".into()),
            Just("localhost:5000/".into()),
            Just("127.0.0.1:5000/".into()),
            Just("ghcr.io/".into()),
            Just("Quay.IO/".into()),
            Just("my-registry.example.com:443/".into()),
            Just("-bad.io/".into()),
            Just("bad-.io/".into()),
            Just("host:/".into()),
            Just("host:12a/".into()),
            Just("a..b/".into()),
            "[a-zA-Z0-9.:-]{0,12}/",
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("nginx".into()),
            Just("library/nginx".into()),
            Just("jlesage/jdownloader-2".into()),
            Just("a__b".into()),
            Just("a___b".into()),
            Just("a--_b".into()),
            Just("a---b/c.d_e".into()),
            Just("a._b".into()),
            Just("Upper".into()),
            Just("trailing-".into()),
            Just("a//b".into()),
            Just("x".repeat(250)),
            Just(format!("{}/{}", "y".repeat(128), "z".repeat(127))),
            "[a-z0-9._/-]{1,20}",
        ]
    }

    fn tag() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(":latest".into()),
            Just(":1.2.3-rc_1".into()),
            Just(":".into()),
            Just(":.bad".into()),
            Just(":-bad".into()),
            Just(":é_ünïcode".into()),
            Just(":٣".into()),
            Just(":\u{200d}x".into()),
            Just(":x\u{0301}".into()),
            Just(":½".into()),
            Just(":a/b".into()),
            Just(format!(":{}", "t".repeat(128))),
            Just(format!(":{}", "t".repeat(129))),
            Just(format!(":{}", "é".repeat(128))),
            ":[\\w.:-]{1,10}",
        ]
    }

    fn digest() -> impl Strategy<Value = String> {
        let hex = |n: usize| "f".repeat(n);
        prop_oneof![
            Just(String::new()),
            Just(format!("@sha256:{}", hex(64))),
            Just(format!("@sha384:{}", hex(96))),
            Just(format!("@sha512:{}", hex(128))),
            Just(format!("@sha256:{}", hex(63))),
            Just(format!("@sha256:{}", hex(32))),
            Just(format!("@md5:{}", hex(32))),
            Just(format!("@sha256+b64.x-y_z:{}", hex(40))),
            Just(format!("@sha256:{}", "g".repeat(64))),
            Just(format!("@sha256:{}", "A".repeat(64))),
            Just(format!("@1sha:{}", hex(64))),
            Just(format!("@sha256{}", hex(64))),
            Just(format!("@sha256:{}@x", hex(64))),
            "@[a-zA-Z0-9+._:-]{0,8}:[0-9a-fA-Fg]{28,70}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn agrees_with_oci_spec_on_built_references(
            d in domain(), p in path(), t in tag(), g in digest()
        ) {
            same(&format!("{d}{p}{t}{g}"))?;
        }

        #[test]
        fn agrees_with_oci_spec_on_arbitrary_strings(
            s in "[a-zA-Z0-9./:@_+ é٣\u{200d}\n-]{0,40}"
        ) {
            same(&s)?;
        }

        #[test]
        fn agrees_with_oci_spec_on_any_unicode(s in any::<String>()) {
            same(&s)?;
        }
    }

    #[test]
    fn agrees_with_oci_spec_on_its_own_cases() {
        let hex64 = "f".repeat(64);
        for case in [
            "busybox".to_string(),
            "test.com:tag".into(),
            "test.com:5000".into(),
            "test.com/repo:tag".into(),
            "test:5000/repo".into(),
            "test:5000/repo:tag".into(),
            format!("test:5000/repo@sha256:{hex64}"),
            format!("test:5000/repo:tag@sha256:{hex64}"),
            "lowercase:Uppercase".into(),
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag".into(),
            "b.gcr.io/test.example.com/my-app:test.example.com".into(),
            "xn--n3h.com/myimage:xn--n3h.com".into(),
            "foo_bar.com:8080".into(),
            "foo/foo_bar.com:8080".into(),
            ":justtag".into(),
            format!("@sha256:{hex64}"),
            "repo@sha256:ffffffffffffffffffffffffffffffffff".into(),
            format!("validname@invaliddigest:{hex64}"),
            "Uppercase:tag".into(),
            "test:5000/Uppercase/lowercase:tag".into(),
            "aa/asdf$$^/aa".into(),
            format!("{}/{}", "a".repeat(128), "a".repeat(127)),
            format!("{}/{}", "a".repeat(128), "a".repeat(128)),
            "docker.io/library/nginx:latest\n".into(),
        ] {
            same(&case).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
