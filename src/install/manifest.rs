//! The manifest: which files in the unit directory quadgen owns, with the hash it wrote, so that
//! a hand edit is told apart from our own output and a file that is not ours is never touched.
//!
//! It lives in the unit directory as [`MANIFEST_FILE`] (quadlet reads files by extension, so it
//! ignores it). An install that changes anything writes it twice: first an *intent* (every file
//! it may write with both hashes, and the systemd work still to do in [`Pending`]), then the final
//! record once the work is done. A crash between the two leaves the intent, from which the next
//! install converges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::unit::UnitKind;

/// The manifest's file name in the unit directory.
pub const MANIFEST_FILE: &str = ".quadgen-manifest.json";
pub use crate::host::fs::LOCK_FILE;
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
    /// Files held by `quadgen edit` or `quadgen hold`: installs leave them as they are on disk
    /// (and their unit running as it is) until `quadgen release`. Each must be in `files`; a
    /// manifest without the key (older quadgen) holds nothing.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub held: BTreeSet<String>,
    /// The podman secrets quadgen created and owns, by name: only these are ever replaced or
    /// removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, SecretRecord>,
}

/// One podman secret quadgen owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    /// HMAC-SHA256 of the content given to podman, keyed with the host-local key beside the
    /// manifest (see `crate::host::secrets`): tells a change, gives nothing away.
    pub hmac_sha256: String,
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
    /// Podman secrets to create or replace from their file (`--no-systemd`, or interrupted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_sync: Vec<String>,
    /// Podman secrets of quadgen's to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_rm: Vec<String>,
}

impl Pending {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        !self.reload
            && self.restart.is_empty()
            && self.try_restart.is_empty()
            && self.start.is_empty()
            && self.network_rm.is_empty()
            && self.secret_sync.is_empty()
            && self.secret_rm.is_empty()
    }

    /// Adds the work of `other` not already here (a plan that carries owed work without doing it:
    /// `quadgen hold`, `quadgen edit`).
    pub fn absorb(&mut self, other: &Pending) {
        fn add(into: &mut Vec<String>, from: &[String]) {
            for item in from {
                if !into.contains(item) {
                    into.push(item.clone());
                }
            }
        }
        self.reload |= other.reload;
        add(&mut self.restart, &other.restart);
        add(&mut self.try_restart, &other.try_restart);
        add(&mut self.start, &other.start);
        add(&mut self.network_rm, &other.network_rm);
        add(&mut self.secret_sync, &other.secret_sync);
        add(&mut self.secret_rm, &other.secret_rm);
    }

    /// Every pending service a generated service name, every pending network a podman network
    /// name, every pending secret a name quadgen accepts.
    fn validate(&self) -> Result<(), InvalidEntry> {
        let p = self;
        let bad = |what: &str, entry: &str, problem: String| InvalidEntry {
            what: what.to_string(),
            entry: entry.escape_debug().to_string(),
            problem,
        };
        for s in p.restart.iter().chain(&p.try_restart).chain(&p.start) {
            if !is_generated_service(s) {
                return Err(bad(
                    "pending service",
                    s,
                    "is not a service name quadgen generates".into(),
                ));
            }
        }
        for n in &p.network_rm {
            if !is_network_name(n) {
                return Err(bad(
                    "pending network",
                    n,
                    "is not a podman network name".into(),
                ));
            }
        }
        for n in p.secret_sync.iter().chain(&p.secret_rm) {
            if crate::compile::model::Name::parse(n).is_err() {
                return Err(bad(
                    "pending secret",
                    n,
                    "is not a secret name quadgen accepts".into(),
                ));
            }
        }
        Ok(())
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
        "`{path}` is not a quadgen manifest ({source}); move it away, then `quadgen install --adopt` takes over the unit files that are exactly what quadgen would write"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The manifest could not be turned into JSON (nothing is written then).
    #[error("cannot write the manifest as JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    #[error(
        "`{path}` has manifest format {found}; this quadgen reads format {FORMAT}; use a newer quadgen"
    )]
    Format { path: PathBuf, found: u32 },
    /// An entry quadgen could not have written: a path, an unknown extension, a service name
    /// that does not match its file. Nothing is done with such a manifest.
    #[error(
        "`{path}` is not a manifest quadgen wrote: {what} `{entry}` {problem}; nothing was done. Move the manifest away (then `quadgen install --adopt` takes over the files that are exactly what quadgen would write) or restore it from a backup"
    )]
    Invalid {
        path: PathBuf,
        /// `file`, `service of …`, `pending network`…
        what: String,
        /// The offending value, escaped for the terminal.
        entry: String,
        problem: String,
    },
}

/// What makes a manifest entry invalid (see [`Manifest::validate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEntry {
    pub what: String,
    pub entry: String,
    pub problem: String,
}

/// The service quadlet makes from a file of `kind` named `stem`, as quadgen generates it.
pub fn service_for(kind: UnitKind, stem: &str) -> String {
    match kind {
        UnitKind::Container => format!("{stem}.service"),
        UnitKind::Network => format!("{stem}-network.service"),
        UnitKind::Volume => format!("{stem}-volume.service"),
        UnitKind::Pod => format!("{stem}-pod.service"),
    }
}

/// Whether `name` is a plain unit file name quadgen generates: `NAME.container`,
/// `NAME.network`, `NAME.volume` or `NAME.pod` with a valid inventory name, so no `/`, no `..`,
/// no leading `-` or `.`. Returns its kind and stem.
pub fn parse_file_name(name: &str) -> Result<(UnitKind, &str), String> {
    let (stem, ext) = name.rsplit_once('.').ok_or_else(|| {
        "is not a unit file name quadgen writes (NAME.container, NAME.network, NAME.volume or NAME.pod)"
            .to_string()
    })?;
    let kind = UnitKind::from_extension(ext).ok_or_else(|| {
        format!(
            "has extension `.{}`, not .container, .network, .volume or .pod",
            ext.escape_debug()
        )
    })?;
    crate::compile::model::Name::parse(stem).map_err(|e| {
        format!(
            "is not a plain file name quadgen writes: {}",
            e.to_string().escape_debug()
        )
    })?;
    Ok((kind, stem))
}

/// Whether `service` is a name quadgen gives services: `NAME.service`, `NAME-network.service`
/// or `NAME-volume.service` with a valid inventory name (so never an option like `--kill-whom`).
fn is_generated_service(service: &str) -> bool {
    service
        .strip_suffix(".service")
        .is_some_and(|stem| crate::compile::model::Name::parse(stem).is_ok())
}

/// Whether `name` can be a podman network quadgen made: letters, digits, `_`, `.`, `-`, starting
/// with a letter or digit (podman's own rule), so never an option.
fn is_network_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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
            held: BTreeSet::new(),
            secrets: BTreeMap::new(),
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
        m.validate().map_err(|e| ManifestError::Invalid {
            path: path.to_path_buf(),
            what: e.what,
            entry: e.entry,
            problem: e.problem,
        })?;
        Ok(m)
    }

    /// Checks every entry is one quadgen could have written: each file a plain `NAME.EXT` of its
    /// kind, with the service and inventory entry quadgen derives from it and sha256 hashes;
    /// every pending service a generated service name and every pending network a podman
    /// network name. A manifest is data, never trusted as paths or command arguments.
    pub fn validate(&self) -> Result<(), InvalidEntry> {
        let bad = |what: &str, entry: &str, problem: String| InvalidEntry {
            what: what.to_string(),
            entry: entry.escape_debug().to_string(),
            problem,
        };
        // Printed by `status`: no terminal control sequences.
        if self.inventory.chars().any(char::is_control) {
            return Err(bad(
                "inventory",
                &self.inventory,
                "contains control characters".into(),
            ));
        }
        for (name, r) in &self.files {
            let (kind, stem) = parse_file_name(name).map_err(|p| bad("file", name, p))?;
            if kind != r.kind {
                return Err(bad(
                    "file",
                    name,
                    format!("is recorded as a {}", r.kind.extension()),
                ));
            }
            let service = service_for(kind, stem);
            if r.service != service {
                return Err(bad(
                    &format!("service of `{name}`"),
                    &r.service,
                    format!("is not `{service}`, the service quadlet makes from it"),
                ));
            }
            let entry = format!("{}.{stem}", kind.table());
            if r.entry != entry {
                return Err(bad(
                    &format!("inventory entry of `{name}`"),
                    &r.entry,
                    format!("is not `{entry}`"),
                ));
            }
            if !is_sha256(&r.sha256) || r.next_sha256.as_deref().is_some_and(|h| !is_sha256(h)) {
                return Err(bad(
                    &format!("hash of `{name}`"),
                    &r.sha256,
                    "is not a sha256 in hex".into(),
                ));
            }
        }
        if let Some(name) = self.held.iter().find(|n| !self.files.contains_key(*n)) {
            return Err(bad(
                "held file",
                name,
                "is not a file the manifest lists".into(),
            ));
        }
        if let Some(p) = &self.pending {
            p.validate()?;
        }
        self.validate_secrets()
    }

    /// Every secret record: a name quadgen accepts (so never an option) and an HMAC in hex.
    fn validate_secrets(&self) -> Result<(), InvalidEntry> {
        for (name, r) in &self.secrets {
            let bad = |what: String, entry: &str, problem: &str| InvalidEntry {
                what,
                entry: entry.escape_debug().to_string(),
                problem: problem.to_string(),
            };
            if crate::compile::model::Name::parse(name).is_err() {
                return Err(bad(
                    "secret".into(),
                    name,
                    "is not a secret name quadgen accepts",
                ));
            }
            if !is_sha256(&r.hmac_sha256) {
                return Err(bad(
                    format!("fingerprint of secret `{name}`"),
                    &r.hmac_sha256,
                    "is not an HMAC-SHA256 in hex",
                ));
            }
        }
        Ok(())
    }

    /// The manifest in `root`, or `None` when there is none (nothing installed yet).
    pub fn load(root: &Path) -> Result<Option<Self>, ManifestError> {
        let path = root.join(MANIFEST_FILE);
        // Like the unit files: a symlink at the manifest's name is refused, never followed.
        match crate::host::fs::read_regular(&path) {
            Ok(bytes) => Self::parse(&path, &String::from_utf8_lossy(&bytes)).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ManifestError::Read { path, source }),
        }
    }

    /// The JSON written to disk: pretty, keys sorted, trailing newline.
    /// A serialization error is returned, never written as an empty manifest.
    pub fn to_json(&self) -> Result<String, ManifestError> {
        let mut s = serde_json::to_string_pretty(self).map_err(ManifestError::Serialize)?;
        s.push('\n');
        Ok(s)
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
                sha256: "0".repeat(64),
                next_sha256: Some("1".repeat(64)),
                entry: "containers.a".into(),
                service: "a.service".into(),
                kind: UnitKind::Container,
                auto_start: true,
            },
        );
        let json = m.to_json().expect("json");
        assert!(json.contains("\"kind\": \"container\""));
        let back = Manifest::parse(Path::new("m"), &json).expect("parses");
        assert_eq!(back, m);
        assert!(back.files["a.container"].is_ours(&"1".repeat(64)));
        assert!(!back.files["a.container"].is_ours(&"2".repeat(64)));

        let other = json.replace("\"format\": 1", "\"format\": 9");
        let err = Manifest::parse(Path::new("/x/m.json"), &other).expect_err("format 9");
        assert!(err.to_string().contains("format 9"), "{err}");
        let err = Manifest::parse(Path::new("/x/m.json"), "{").expect_err("garbage");
        assert!(err.to_string().contains("`/x/m.json`"), "{err}");
    }

    #[test]
    fn a_pod_entry_is_valid_only_with_the_service_and_entry_quadlet_gives_it() {
        let pod = |service: &str, entry: &str| {
            let mut m = Manifest::new("/srv/inventory.toml");
            m.files.insert(
                "shop.pod".into(),
                FileRecord {
                    sha256: "0".repeat(64),
                    next_sha256: None,
                    entry: entry.into(),
                    service: service.into(),
                    kind: UnitKind::Pod,
                    auto_start: true,
                },
            );
            Manifest::parse(Path::new("m"), &m.to_json().expect("json"))
        };
        let back = pod("shop-pod.service", "pods.shop").expect("valid");
        assert_eq!(back.files["shop.pod"].kind, UnitKind::Pod);
        let err = pod("shop.service", "pods.shop").expect_err("not quadlet's service name");
        assert!(
            err.to_string().contains("is not `shop-pod.service`"),
            "{err}"
        );
        let err = pod("shop-pod.service", "containers.shop").expect_err("wrong entry");
        assert!(err.to_string().contains("`containers.shop`"), "{err}");
    }

    /// A valid manifest's JSON with `a.container`, edited by `edit`.
    fn hostile(edit: impl Fn(&mut serde_json::Value)) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::new("/srv/inventory.toml");
        m.files.insert(
            "a.container".into(),
            FileRecord {
                sha256: "0".repeat(64),
                next_sha256: None,
                entry: "containers.a".into(),
                service: "a.service".into(),
                kind: UnitKind::Container,
                auto_start: true,
            },
        );
        m.pending = Some(Pending {
            reload: true,
            restart: vec!["a.service".into()],
            network_rm: vec!["app".into()],
            secret_sync: vec!["db".into()],
            ..Pending::default()
        });
        m.secrets.insert(
            "db".into(),
            SecretRecord {
                hmac_sha256: "2".repeat(64),
            },
        );
        let mut v: serde_json::Value =
            serde_json::from_str(&m.to_json().expect("json")).expect("json");
        edit(&mut v);
        Manifest::parse(Path::new("/r/.quadgen-manifest.json"), &v.to_string())
    }

    fn rename_file(v: &mut serde_json::Value, to: &str) {
        let files = v["files"].as_object_mut().expect("files");
        let rec = files.remove("a.container").expect("a");
        files.insert(to.to_string(), rec);
    }

    type Edit = Box<dyn Fn(&mut serde_json::Value)>;

    #[test]
    fn entries_quadgen_could_not_have_written_make_the_manifest_invalid() {
        assert!(hostile(|_| {}).is_ok(), "the unedited manifest is valid");
        let cases: Vec<(&str, Edit, &str)> = vec![
            (
                "parent dir",
                Box::new(|v| rename_file(v, "../victim.container")),
                "`../victim.container`",
            ),
            (
                "absolute",
                Box::new(|v| rename_file(v, "/etc/passwd")),
                "`/etc/passwd`",
            ),
            (
                "subdir",
                Box::new(|v| rename_file(v, "sub/a.container")),
                "`sub/a.container`",
            ),
            (
                "no extension",
                Box::new(|v| rename_file(v, "victim")),
                "`victim`",
            ),
            (
                "other extension",
                Box::new(|v| rename_file(v, "a.service")),
                "`.service`",
            ),
            (
                "hidden",
                Box::new(|v| rename_file(v, ".a.container")),
                "`.a.container`",
            ),
            (
                "kind mismatch",
                Box::new(|v| rename_file(v, "a.network")),
                "recorded as a container",
            ),
            (
                "service with options",
                Box::new(|v| v["files"]["a.container"]["service"] = "--kill-whom=all".into()),
                "`--kill-whom=all`",
            ),
            (
                "other service",
                Box::new(|v| v["files"]["a.container"]["service"] = "sshd.service".into()),
                "`sshd.service`",
            ),
            (
                "entry",
                Box::new(|v| v["files"]["a.container"]["entry"] = "containers.b".into()),
                "`containers.b`",
            ),
            (
                "hash",
                Box::new(|v| v["files"]["a.container"]["sha256"] = "x".into()),
                "not a sha256",
            ),
            (
                "pending service",
                Box::new(|v| v["pending"]["restart"] = serde_json::json!(["--kill-whom=all"])),
                "pending service `--kill-whom=all`",
            ),
            (
                "pending network",
                Box::new(|v| v["pending"]["network_rm"] = serde_json::json!(["--force"])),
                "pending network `--force`",
            ),
            (
                "secret name",
                Box::new(|v| {
                    let rec = v["secrets"]["db"].clone();
                    v["secrets"]["--all"] = rec;
                }),
                "secret `--all`",
            ),
            (
                "secret fingerprint",
                Box::new(|v| v["secrets"]["db"]["hmac_sha256"] = "hunter2".into()),
                "fingerprint of secret `db`",
            ),
            (
                "pending secret",
                Box::new(|v| v["pending"]["secret_rm"] = serde_json::json!(["--all"])),
                "pending secret `--all`",
            ),
            (
                "inventory with escapes",
                Box::new(|v| v["inventory"] = "/x\u{1b}]0;pwned\u{7}".into()),
                "inventory `/x\\u{1b}]0;pwned\\u{7}` contains control characters",
            ),
            (
                "control characters",
                Box::new(|v| rename_file(v, "a\u{1b}[2J.container")),
                "\\u{1b}",
            ),
        ];
        for (name, edit, needle) in cases {
            let err = hostile(edit).expect_err(name);
            let text = err.to_string();
            assert!(text.contains(needle), "{name}: {text}");
            assert!(
                text.contains("`/r/.quadgen-manifest.json`"),
                "{name}: {text}"
            );
            assert!(text.contains("Move the manifest away"), "{name}: {text}");
            assert!(!text.contains('\u{1b}'), "{name}: escaped for the terminal");
        }
    }
}
