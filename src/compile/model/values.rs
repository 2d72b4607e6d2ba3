//! Checked value types: each is built only from a string that passed its rules, and carries the
//! text to write into the unit (already escaped), so lowering cannot fail.

use std::fmt;

use crate::unit::escape::{self, Target, Unrepresentable};

/// A name of a container, network or volume: `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 63 characters,
/// no `..`. Safe as a file name, a systemd unit name prefix and a podman object name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error(
        "`{0}` is not a valid name: use letters, digits, `_`, `.` and `-`, starting with a letter or digit"
    )]
    Characters(String),
    #[error("`{0}` is not a valid name: no `..` and no trailing `.`")]
    Dots(String),
    #[error("`{0}` is too long: names have at most 63 characters")]
    TooLong(String),
}

impl Name {
    /// Checks a name; the only way to make one.
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let mut chars = value.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if value.is_empty() {
            return Err(NameError::Empty);
        }
        if !first_ok || !rest_ok {
            return Err(NameError::Characters(value.to_string()));
        }
        if value.contains("..") || value.ends_with('.') {
            return Err(NameError::Dots(value.to_string()));
        }
        if value.len() > 63 {
            return Err(NameError::TooLong(value.to_string()));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One argument for a word-list key: the original and its quoted form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub raw: String,
    pub quoted: String,
}

impl Word {
    pub fn parse(value: &str) -> Result<Self, Unrepresentable> {
        Ok(Self {
            raw: value.to_string(),
            quoted: escape::word(value)?,
        })
    }
}

/// A value for a single-value key: the original and the text written after `Key=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Single {
    pub raw: String,
    pub written: String,
}

impl Single {
    pub fn parse(value: &str, target: Target) -> Result<Self, Unrepresentable> {
        Ok(Self {
            raw: value.to_string(),
            written: escape::single(value, target)?,
        })
    }
}

/// An absolute, normalised host path with nothing quadlet or systemd would misread.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPath {
    pub raw: String,
    pub written: String,
}

/// Why a host path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPathError {
    #[error(
        "`{0}` is not an absolute path: quadlet would resolve it relative to the unit directory"
    )]
    Relative(String),
    #[error("`{0}` contains `.` or `..`: write the path without them")]
    DotComponent(String),
    #[error("`{0}` contains `:`, which separates fields in volume and device specs")]
    Colon(String),
    #[error("path `{value}` {reason}")]
    Unrepresentable {
        value: String,
        reason: Unrepresentable,
    },
}

impl HostPath {
    /// Checks a host path; the only way to make one.
    pub fn parse(value: &str) -> Result<Self, HostPathError> {
        if !value.starts_with('/') {
            return Err(HostPathError::Relative(value.to_string()));
        }
        if value.split('/').any(|c| c == ".." || c == ".") {
            return Err(HostPathError::DotComponent(value.to_string()));
        }
        if value.contains(':') {
            return Err(HostPathError::Colon(value.to_string()));
        }
        let written =
            escape::host_path(value).map_err(|reason| HostPathError::Unrepresentable {
                value: value.to_string(),
                reason,
            })?;
        Ok(Self {
            raw: value.to_string(),
            written,
        })
    }
}

/// A duration in milliseconds, written the way both podman (Go) and systemd read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(u64);

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration: write it like `30s`, `1m30s`, `500ms` or `2h`")]
    Syntax(String),
    #[error("`{0}` is longer than a year; write a shorter duration")]
    TooLong(String),
}

impl Duration {
    /// `s` seconds. A constant's job: a value from the inventory goes through [`Self::parse`].
    pub const fn secs(s: u64) -> Self {
        Self(s * 1000)
    }

    /// The milliseconds.
    pub const fn millis(self) -> u64 {
        self.0
    }

    /// The sum (saturating). Derived timeouts (a stop timeout with its headroom, the pull
    /// allowance with the time to healthy) may exceed [`Self::MAX`], which bounds what the
    /// inventory may write, not what quadgen computes from it.
    pub fn plus(self, other: Duration) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// `n` times this duration (saturating).
    pub fn times(self, n: u64) -> Self {
        Self(self.0.saturating_mul(n))
    }

    /// The longest duration accepted: a year, far beyond any sane timeout.
    pub const MAX: Self = Self::secs(365 * 24 * 3600);

    /// Accepts `30s`, `1m30s`, `500ms`, `2h`, or a plain number of seconds, up to [`Self::MAX`].
    pub fn parse(value: &str) -> Result<Self, DurationError> {
        let d = Self::parse_unbounded(value)?;
        if d > Self::MAX {
            return Err(DurationError::TooLong(value.to_string()));
        }
        Ok(d)
    }

    fn parse_unbounded(value: &str) -> Result<Self, DurationError> {
        let err = || DurationError::Syntax(value.to_string());
        let v = value.trim();
        if v.is_empty() {
            return Err(err());
        }
        if let Ok(secs) = v.parse::<u64>() {
            return secs.checked_mul(1000).map(Self).ok_or_else(err);
        }
        let mut total: u64 = 0;
        let mut rest = v;
        while !rest.is_empty() {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return Err(err());
            }
            let (number, tail) = rest.split_at(digits);
            let n: u64 = number.parse().map_err(|_| err())?;
            let unit_len = tail.len()
                - tail
                    .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                    .len();
            let (unit, tail) = tail.split_at(unit_len);
            let factor = match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => return Err(err()),
            };
            total = n
                .checked_mul(factor)
                .and_then(|x| total.checked_add(x))
                .ok_or_else(err)?;
            rest = tail;
        }
        Ok(Self(total))
    }

    /// `90s`, or `1500ms` when not whole seconds: valid for podman and systemd alike.
    pub fn written(self) -> String {
        if self.0 % 1000 == 0 {
            format!("{}s", self.0 / 1000)
        } else {
            format!("{}ms", self.0)
        }
    }

    pub fn whole_secs_rounded_up(self) -> u64 {
        self.0.div_ceil(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(Name::parse("jdownloader").is_ok());
        assert!(Name::parse("home-assistant_2.x").is_ok());
        for bad in ["", "-x", "a/b", "a b", "a..b", "a.", "é", &"x".repeat(64)] {
            assert!(Name::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn host_paths() {
        assert_eq!(
            HostPath::parse("/var/lib/x").map(|p| p.written),
            Ok("/var/lib/x".into())
        );
        assert_eq!(
            HostPath::parse("/srv/100%").map(|p| p.written),
            Ok("/srv/100%%".into())
        );
        for bad in ["rel/path", "/a/../b", "/a:b", "/my media", "/a\nb"] {
            assert!(HostPath::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("30s"), Ok(Duration(30_000)));
        assert_eq!(Duration::parse("1m30s"), Ok(Duration(90_000)));
        assert_eq!(Duration::parse("500ms"), Ok(Duration(500)));
        assert_eq!(Duration::parse("2h"), Ok(Duration(7_200_000)));
        assert_eq!(Duration::parse("45"), Ok(Duration(45_000)));
        assert_eq!(Duration(90_000).written(), "90s");
        assert_eq!(Duration(1500).written(), "1500ms");
        for bad in ["", "s", "10 s", "1d", "1.5s", "99999999999999999999s"] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
