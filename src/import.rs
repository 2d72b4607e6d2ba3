//! `quadgen import compose`: a Compose project → inventory TOML text and warnings.
//!
//! The narrow interface is [`compose`]: compose files (or Compose's own normalized JSON) and
//! [`Options`] in, [`Imported`] out. Inside, a pipeline like Compose's own:
//! [`yaml`] (text → located tree) → [`interpolate`] (`${VAR:-d}`, with `.env`) → [`canon`] (short
//! syntax → Compose's long form) → [`load`] (`include`, `extends`, `-f` merging, profiles) →
//! [`map`] (long form → inventory entries, with a comment and a warning for anything not carried).
//! Files are read through [`Files`], so the whole core runs on plain values in tests.

pub mod canon;
pub mod envfile;
pub mod interpolate;
pub mod load;
pub mod map;
pub mod oci;
mod probe;

pub mod toml_out;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use yaml::Loc;

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--env-file`, in order (default: `.env` beside the first compose file, if it exists).
    pub env_files: Vec<PathBuf>,
    /// `--profile`, added to `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
    /// `--project-name`.
    pub project_name: Option<String>,
    /// The environment interpolation reads before any env file.
    pub environment: BTreeMap<String, String>,
}

/// Where the compose model comes from.
#[derive(Debug, Clone)]
pub enum Input {
    /// Compose files in `-f` order; the first one's directory is the project directory.
    Files(Vec<PathBuf>),
    /// `docker compose config --format json` output (already interpolated, merged, resolved),
    /// with the name to show in messages.
    Normalized { name: PathBuf, text: String },
}

/// Reads files for the loader (the only I/O of the import core).
pub trait Files {
    /// The text of a file, or `None` when it does not exist.
    fn read(&self, path: &Path) -> std::io::Result<Option<String>>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> std::io::Result<Option<String>> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Something not carried into the inventory, or carried differently: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub loc: Loc,
    /// The service it is about, if any.
    pub service: Option<String>,
    /// The Compose key (`cap_add`, `deploy.replicas`, `build`).
    pub key: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.service {
            Some(s) => write!(
                f,
                "{}: warning: service `{s}`: `{}`: {}",
                self.loc, self.key, self.message
            ),
            None => write!(f, "{}: warning: `{}`: {}", self.loc, self.key, self.message),
        }
    }
}

/// An environment variable moved out of the inventory because its value looks secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedSecret {
    pub container: String,
    pub key: String,
    /// The env file the inventory now names for it.
    pub env_file: String,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The inventory, as TOML text with comments.
    pub toml: String,
    pub warnings: Vec<Warning>,
    /// Secret-looking values left out of `toml`, each to be written into its env file by the user.
    pub moved_secrets: Vec<MovedSecret>,
    /// The project name used for network and volume names.
    pub project: String,
}

/// Why an import was refused: where, what, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub loc: Loc,
    pub message: String,
    pub help: Option<String>,
}

impl ImportError {
    pub fn at(loc: &Loc, message: impl Into<String>) -> Self {
        Self {
            loc: loc.clone(),
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.loc, self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

/// Every reason an import was refused (all found in one run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Vec<ImportError>);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ImportError> for Refused {
    fn from(e: ImportError) -> Self {
        Self(vec![e])
    }
}

/// Imports NixOS oci-containers JSON (`nix eval --json …oci-containers.containers`); `name`
/// is shown in messages. See [`oci`].
pub fn oci_containers(name: &Path, text: &str) -> Result<Imported, Refused> {
    oci::oci_containers(name, text)
}

/// Imports a Compose project: loads it like Compose, then maps it onto the inventory.
pub fn compose(input: &Input, options: &Options, files: &dyn Files) -> Result<Imported, Refused> {
    let project = load::load(input, options, files)?;
    map::map(&project, files)
}
