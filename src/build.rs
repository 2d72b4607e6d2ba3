//! `quadgen build`: the whole pipeline from an inventory file to rendered units, and writing them
//! into an output directory with nothing half-written.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::diagnostic::Diagnostic;
use crate::inventory;
use crate::model;
use crate::quadlet;
use crate::render::{self, RenderedFile};
use crate::version::PodmanVersion;

/// A compiled inventory: its rendered files and any warnings, with the source they point into.
#[derive(Debug)]
pub struct Compiled {
    pub files: Vec<RenderedFile>,
    pub warnings: Vec<Diagnostic>,
    /// The inventory text the model and warnings come from.
    pub source: String,
}

/// An inventory that failed to compile: the problems, with the source to point into.
#[derive(Debug)]
pub struct Rejected {
    pub path: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Rejected {
    /// The report a person reads: every problem with its place in the file.
    pub fn render(&self, color: bool) -> String {
        crate::diagnostic::render(&self.diagnostics, &self.path, &self.source, color)
    }
}

/// Compiles inventory text. `path` names the file in headers and messages.
pub fn compile(
    path: &Path,
    source: &str,
    target: PodmanVersion,
) -> Result<Compiled, Box<Rejected>> {
    compile_owned(path, source.to_string(), target)
}

/// [`compile`] keeping `source` without a copy. Each stage's input is dropped as soon as the next
/// stage has what it needs, so the peak memory is about the largest two stages, not all of them.
fn compile_owned(
    path: &Path,
    source: String,
    target: PodmanVersion,
) -> Result<Compiled, Box<Rejected>> {
    let reject = |source: String, diagnostics: Vec<Diagnostic>| {
        Box::new(Rejected {
            path: path.display().to_string(),
            source,
            diagnostics,
        })
    };
    let inventory = match inventory::parse(&source) {
        Ok(inventory) => inventory,
        Err(d) => return Err(reject(source, vec![d])),
    };
    let validated = model::validate(inventory, target);
    let (model, warnings) = match validated {
        Ok(checked) => checked,
        Err(d) => return Err(reject(source, d.sorted())),
    };
    let files = render::render_each(quadlet::lower_each(&model));
    drop(model);
    Ok(Compiled {
        files,
        warnings: warnings.sorted(),
        source,
    })
}

/// Parses and validates inventory text into the model [`compile`] lowers, for the exporters
/// (`quadgen export`) that read the same model; warnings sorted.
pub fn validate_source(
    path: &Path,
    source: &str,
    target: PodmanVersion,
) -> Result<(model::Model, Vec<Diagnostic>), Box<Rejected>> {
    let reject = |diagnostics: Vec<Diagnostic>| {
        Box::new(Rejected {
            path: path.display().to_string(),
            source: source.to_string(),
            diagnostics,
        })
    };
    let inventory = inventory::parse(source).map_err(|d| reject(vec![d]))?;
    let (model, warnings) = model::validate(inventory, target).map_err(|d| reject(d.sorted()))?;
    Ok((model, warnings.sorted()))
}

/// The largest inventory quadgen reads (64 MiB): far above any real one (100,000 containers
/// take about 50 MiB), and a bound on the memory a wrong path like `/dev/zero` can take.
pub const MAX_INVENTORY_BYTES: u64 = 64 * 1024 * 1024;

/// Reads and compiles an inventory file.
pub fn compile_file(
    path: &Path,
    target: PodmanVersion,
) -> anyhow::Result<Result<Compiled, Box<Rejected>>> {
    let source = read_inventory(path).context("cannot read the inventory")?;
    Ok(compile_owned(path, source, target))
}

/// The inventory's text, refused past [`MAX_INVENTORY_BYTES`] or when it is not UTF-8.
pub fn read_inventory(path: &Path) -> anyhow::Result<String> {
    let file = fs_err::File::open(path)?;
    let expected = file
        .metadata()
        .map_or(0, |m| m.len())
        .min(MAX_INVENTORY_BYTES);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    file.take(MAX_INVENTORY_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INVENTORY_BYTES {
        bail!(
            "`{}` is larger than {} MiB, the most quadgen reads as an inventory: is it the right file?",
            path.display(),
            MAX_INVENTORY_BYTES / (1024 * 1024)
        );
    }
    String::from_utf8(bytes).map_err(|_| {
        anyhow::Error::new(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
        .context(format!("failed to read from file `{}`", path.display()))
    })
}

/// The marker that says a directory holds quadgen build output, so a rebuild may replace it.
pub const BUILD_MARKER: &str = ".quadgen-build";

/// The directory `build --out OUT` replaces. A symlink is followed: its target is the directory
/// the user chose, and it is replaced while the link stays (a dangling link is an error). `.`,
/// `..`, `/`, and any directory that is or contains the current one are refused: the output is
/// replaced whole by renaming, which cannot be done to the directory one is in.
pub fn resolve_out_dir(out: &Path) -> anyhow::Result<PathBuf> {
    let is_link = std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink());
    let path = if is_link {
        std::fs::canonicalize(out).with_context(|| {
            format!(
                "`{}` is a symlink to a directory that does not exist; create the directory or choose another --out",
                out.display()
            )
        })?
    } else {
        std::path::absolute(out).with_context(|| format!("cannot resolve `{}`", out.display()))?
    };
    let plain_name = matches!(
        path.components().next_back(),
        Some(std::path::Component::Normal(_))
    ) && !out.ends_with("..");
    let here = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    let canonical = std::fs::canonicalize(&path).ok();
    let contains_cwd = match (&here, &canonical) {
        (Some(here), Some(dir)) => here.starts_with(dir),
        _ => false,
    };
    if !plain_name || contains_cwd {
        bail!(
            "--out `{}` is (or contains) the current directory: `quadgen build` replaces its output directory whole, so give it a directory of its own, e.g. `--out quadlets`",
            out.display()
        );
    }
    Ok(path)
}

/// Writes `files` as the complete content of `out` (see [`resolve_out_dir`]): built in a
/// temporary sibling directory, then swapped in by rename, so `out` is never half-written and no
/// temporary directory is left behind. An existing `out` is replaced only if it is empty or an
/// earlier build's output.
pub fn write_out_dir(out: &Path, files: &[RenderedFile]) -> anyhow::Result<()> {
    let shown = out;
    let out = resolve_out_dir(out)?;
    let out = out.as_path();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if out.exists() {
        if !out.is_dir() {
            bail!("`{}` exists and is not a directory", shown.display());
        }
        let ours = out.join(BUILD_MARKER).exists();
        let empty = fs_err::read_dir(out)?.next().is_none();
        if !ours && !empty {
            bail!(
                "`{}` is not empty and was not written by `quadgen build`; choose another --out directory",
                shown.display()
            );
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(".quadgen-build-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a directory in `{}`", parent.display()))?;
    // The staging directory is private until renamed whole, so each file is written in place.
    for file in files {
        crate::fsio::write_new(staging.path(), &file.file_name, file.text.as_bytes())?;
    }
    crate::fsio::write_new(
        staging.path(),
        BUILD_MARKER,
        b"Written by `quadgen build`; the next build replaces this whole directory.\n",
    )?;
    crate::fsio::sync_dir(staging.path())?;
    if out.exists() {
        // Both temporary directories are removed on every path out (they are `TempDir`s).
        let old = tempfile::Builder::new()
            .prefix(".quadgen-old-")
            .tempdir_in(&parent)?;
        fs_err::rename(out, old.path().join("out"))?;
        if let Err(e) = fs_err::rename(staging.path(), out) {
            // Put the previous build back rather than leave nothing; if even that fails, keep it.
            if fs_err::rename(old.path().join("out"), out).is_err() {
                let kept = old.keep();
                return Err(anyhow::Error::from(e).context(format!(
                    "the previous build is kept in `{}`",
                    kept.join("out").display()
                )));
            }
            return Err(e.into());
        }
        old.close()?;
    } else {
        fs_err::rename(staging.path(), out)?;
    }
    // The staging directory is now `out`; there is nothing left to remove.
    let _ = staging.keep();
    crate::fsio::sync_dir(&parent)?;
    Ok(())
}
