//! `quadgen build --out DIR`: writing rendered units into an output directory with nothing
//! half-written.

use std::path::{Path, PathBuf};

use crate::compile::render::RenderedFile;
use crate::host::fs::{self, IoError};

/// Why `build --out` could not replace its directory. Nothing is half-written either way.
#[derive(Debug, thiserror::Error)]
pub enum OutDirError {
    #[error(
        "`{}` is a symlink to a directory that does not exist; create the directory or choose another --out",
        .out.display()
    )]
    DanglingLink {
        out: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot resolve `{}`", .out.display())]
    Resolve {
        out: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--out `{}` is (or contains) the current directory: `quadgen build` replaces its output directory whole, so give it a directory of its own, e.g. `--out quadlets`",
        .0.display()
    )]
    ContainsCurrentDir(PathBuf),
    #[error("`{}` exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "`{}` is not empty and was not written by `quadgen build`; choose another --out directory",
        .0.display()
    )]
    NotOurs(PathBuf),
    #[error("cannot create a directory in `{}`", .parent.display())]
    Staging {
        parent: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The swap failed and the previous build could not be put back: it is kept here.
    #[error("the previous build is kept in `{}`", .kept.display())]
    KeptPrevious {
        kept: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An I/O error; `fs_err` names the path.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Write(#[from] IoError),
}

/// From this many files on, two threads write them: creating a file is mostly kernel time, and
/// the two halves go to different cores.
const PARALLEL_FROM: usize = 256;

/// Writes `files` into the private directory of `writer`, in two halves at once when there are many.
fn write_files(writer: &fs::NewFiles, files: &[RenderedFile]) -> Result<(), IoError> {
    let write = |files: &[RenderedFile]| {
        files
            .iter()
            .try_for_each(|file| writer.write(&file.file_name, file.text.as_bytes()))
    };
    if files.len() < PARALLEL_FROM {
        return write(files);
    }
    let (first, second) = files.split_at(files.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| write(second));
        let mine = write(first);
        let theirs = match other.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        mine.and(theirs)
    })
}

/// The marker that says a directory holds quadgen build output, so a rebuild may replace it.
pub const BUILD_MARKER: &str = ".quadgen-build";

/// The directory `build --out OUT` replaces. A symlink is followed: its target is the directory
/// the user chose, and it is replaced while the link stays (a dangling link is an error). `.`,
/// `..`, `/`, and any directory that is or contains the current one are refused: the output is
/// replaced whole by renaming, which cannot be done to the directory one is in.
pub fn resolve_out_dir(out: &Path) -> Result<PathBuf, OutDirError> {
    let is_link = std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink());
    let path = if is_link {
        std::fs::canonicalize(out).map_err(|source| OutDirError::DanglingLink {
            out: out.to_path_buf(),
            source,
        })?
    } else {
        std::path::absolute(out).map_err(|source| OutDirError::Resolve {
            out: out.to_path_buf(),
            source,
        })?
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
        return Err(OutDirError::ContainsCurrentDir(out.to_path_buf()));
    }
    Ok(path)
}

/// The text of [`BUILD_MARKER`].
const MARKER_TEXT: &[u8] =
    b"Written by `quadgen build`; the next build replaces this whole directory.\n";

/// The most an earlier build's files are read to compare them (far above 100,000 units): a
/// directory holding more is replaced without comparing.
const PREVIOUS_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The files of an earlier build in an output directory, read so that a rebuild giving exactly
/// them leaves the directory untouched (same files, same times, nothing written).
#[derive(Debug)]
struct PreviousBuild {
    /// Each file's name and content, the marker included.
    files: std::collections::HashMap<String, Vec<u8>>,
}

impl PreviousBuild {
    /// The earlier build in `out`, or `None` when there is none or it cannot be read whole (the
    /// rebuild then replaces the directory, as always). Only plain files of mode 0644 are
    /// compared: anything else makes the directory differ.
    fn read(dir: &Path) -> Option<Self> {
        let mut files = std::collections::HashMap::new();
        for file in fs::read_plain_files(dir, PREVIOUS_MAX_BYTES)? {
            if file.mode != 0o644 {
                return None;
            }
            files.insert(file.name, file.bytes);
        }
        (files.get(BUILD_MARKER)?.as_slice() == MARKER_TEXT).then_some(Self { files })
    }

    /// Whether the earlier build is exactly `files` and the marker.
    fn is(&self, files: &[RenderedFile]) -> bool {
        self.files.len() == files.len() + 1
            && files.iter().all(|file| {
                self.files.get(&file.file_name).map(Vec::as_slice) == Some(file.text.as_bytes())
            })
    }
}

/// What [`write_out_dir`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The directory now holds the new build.
    Replaced,
    /// The directory already held exactly these files: nothing was written.
    Unchanged,
}

/// Writes `files` as the complete content of `out` (see [`resolve_out_dir`]): built in a
/// temporary sibling directory, then swapped in by rename, so `out` is never half-written and no
/// temporary directory is left behind. An existing `out` is replaced only if it is empty or an
/// earlier build's output; when that build is exactly `files`, nothing is written.
pub fn write_out_dir(out: &Path, files: &[RenderedFile]) -> Result<Written, OutDirError> {
    let resolved = resolve_out_dir(out)?;
    if PreviousBuild::read(&resolved).is_some_and(|previous| previous.is(files)) {
        return Ok(Written::Unchanged);
    }
    replace_out_dir(out, &resolved, files)?;
    Ok(Written::Replaced)
}

/// [`write_out_dir`] without comparing: always replaces `out` (`shown`, as the user wrote it).
fn replace_out_dir(shown: &Path, out: &Path, files: &[RenderedFile]) -> Result<(), OutDirError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if out.exists() {
        if !out.is_dir() {
            return Err(OutDirError::NotADirectory(shown.to_path_buf()));
        }
        let ours = out.join(BUILD_MARKER).exists();
        let empty = fs_err::read_dir(out)?.next().is_none();
        if !ours && !empty {
            return Err(OutDirError::NotOurs(shown.to_path_buf()));
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(".quadgen-build-")
        .tempdir_in(&parent)
        .map_err(|source| OutDirError::Staging {
            parent: parent.clone(),
            source,
        })?;
    // The staging directory is private until renamed whole, so each file is written in place.
    let writer = fs::NewFiles::open(staging.path())?;
    write_files(&writer, files)?;
    writer.write(BUILD_MARKER, MARKER_TEXT)?;
    writer.sync()?;
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
                return Err(OutDirError::KeptPrevious {
                    kept: kept.join("out"),
                    source: e,
                });
            }
            return Err(e.into());
        }
        old.close()?;
    } else {
        fs_err::rename(staging.path(), out)?;
    }
    // The staging directory is now `out`; there is nothing left to remove.
    let _ = staging.keep();
    fs::sync_dir(&parent)?;
    Ok(())
}
