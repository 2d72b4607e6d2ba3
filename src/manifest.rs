//! The manifest: which files in the unit directory quadgen owns, with the hash it wrote, so that
//! a hand edit is told apart from our own output and a file that is not ours is never touched.
//!
//! It lives in the unit directory as [`MANIFEST_FILE`] (quadlet reads files by extension, so it
//! ignores it). An install that changes anything writes it twice: first an *intent* (every file
//! it may write with both hashes, and the systemd work still to do in [`Pending`]), then the final
//! record once the work is done. A crash between the two leaves the intent, from which the next
//! install converges.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::quadlet::UnitKind;

/// The manifest's file name in the unit directory.
pub const MANIFEST_FILE: &str = ".quadgen-manifest.json";
/// The lock file that keeps two installs apart.
pub const LOCK_FILE: &str = ".quadgen.lock";
/// The manifest format; bumped when a reader of an older one would misread it.
pub const FORMAT: u32 = 1;

/// The manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The quadgen version that wrote it.
    pub quadgen_version: String,
    /// The inventory the files came from, as given to install (made absolute when possible).
    pub inventory: String,
    /// Every file quadgen owns, by file name.
    pub files: BTreeMap<String, FileRecord>,
    /// Systemd work an interrupted install still owes; `None` after a complete install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// One owned file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// sha256 of the content quadgen wrote.
    pub sha256: String,
    /// While an install is under way: the content it is about to write. Either hash on disk means
    /// the file is ours, not a hand edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sha256: Option<String>,
    /// `containers.NAME`.
    pub entry: String,
    /// The service quadlet makes from the file.
    pub service: String,
    pub kind: UnitKind,
    /// Whether the unit starts at boot.
    #[serde(default)]
    pub auto_start: bool,
}

impl FileRecord {
    /// Whether `sha256` is content quadgen wrote or was about to write.
    pub fn is_ours(&self, sha256: &str) -> bool {
        self.sha256 == sha256 || self.next_sha256.as_deref() == Some(sha256)
    }
}

/// Systemd work recorded before it is done, so an install killed half-way does it next time even
/// though its files are already on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub reload: bool,
    #[serde(default)]
    pub restart: Vec<String>,
    #[serde(default)]
    pub try_restart: Vec<String>,
    #[serde(default)]
    pub start: Vec<String>,
    /// Podman networks to remove so they are created again.
    #[serde(default)]
    pub network_rm: Vec<String>,
}

impl Pending {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        !self.reload
            && self.restart.is_empty()
            && self.try_restart.is_empty()
            && self.start.is_empty()
            && self.network_rm.is_empty()
    }
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{path}` is not a quadgen manifest ({source}); move it away if it is not needed, and install again"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "`{path}` has manifest format {found}; this quadgen reads format {FORMAT}; use a newer quadgen"
    )]
    Format { path: PathBuf, found: u32 },
}

impl Manifest {
    /// An empty manifest for `inventory`, written by this quadgen.
    pub fn new(inventory: &str) -> Self {
        Manifest {
            format: FORMAT,
            quadgen_version: env!("CARGO_PKG_VERSION").to_string(),
            inventory: inventory.to_string(),
            files: BTreeMap::new(),
            pending: None,
        }
    }

    /// Parses manifest text. `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ManifestError> {
        let m: Manifest = serde_json::from_str(text).map_err(|source| ManifestError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        if m.format != FORMAT {
            return Err(ManifestError::Format {
                path: path.to_path_buf(),
                found: m.format,
            });
        }
        Ok(m)
    }

    /// The manifest in `root`, or `None` when there is none (nothing installed yet).
    pub fn load(root: &Path) -> Result<Option<Self>, ManifestError> {
        let path = root.join(MANIFEST_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ManifestError::Read { path, source }),
        }
    }

    /// The JSON written to disk: pretty, keys sorted, trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_formats() {
        let mut m = Manifest::new("/srv/inventory.toml");
        m.files.insert(
            "a.container".into(),
            FileRecord {
                sha256: "00".into(),
                next_sha256: Some("11".into()),
                entry: "containers.a".into(),
                service: "a.service".into(),
                kind: UnitKind::Container,
                auto_start: true,
            },
        );
        let json = m.to_json();
        assert!(json.contains("\"kind\": \"container\""));
        let back = Manifest::parse(Path::new("m"), &json).expect("parses");
        assert_eq!(back, m);
        assert!(back.files["a.container"].is_ours("11"));
        assert!(!back.files["a.container"].is_ours("22"));

        let other = json.replace("\"format\": 1", "\"format\": 9");
        let err = Manifest::parse(Path::new("/x/m.json"), &other).expect_err("format 9");
        assert!(err.to_string().contains("format 9"), "{err}");
        let err = Manifest::parse(Path::new("/x/m.json"), "{").expect_err("garbage");
        assert!(err.to_string().contains("`/x/m.json`"), "{err}");
    }
}
