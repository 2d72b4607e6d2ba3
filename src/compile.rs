//! Stage 1, compile: inventory text → rendered Quadlet units, pure (reading the inventory file is
//! its only I/O). In pipeline order: [`diagnostic`] (errors with places), [`inventory`] (TOML →
//! serde types with spans), [`version`] (the target Podman's keys), [`model`] (validated, checked
//! types), [`quadlet`] (one unit per container, network, volume), [`render`] (text and sha256).
//! [`compile`] runs them all. A module here imports only [`crate::unit`] and the modules before it.

pub mod diagnostic;
pub mod inventory;
pub mod model;
pub mod parallel;
pub mod quadlet;
pub mod render;
pub mod version;

use std::io::Read;
use std::path::{Path, PathBuf};

use diagnostic::Diagnostic;
use render::RenderedFile;
use version::PodmanVersion;

/// A compiled inventory: its rendered files and any warnings, with the source they point into.
#[derive(Debug)]
pub struct Compiled {
    pub files: Vec<RenderedFile>,
    /// The podman secrets install creates, with the containers that use each.
    pub secrets: Vec<render::WantedSecret>,
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
        crate::compile::diagnostic::render(&self.diagnostics, &self.path, &self.source, color)
    }
}

/// Compiles inventory text. `path` names the file in headers and messages.
pub fn compile(
    path: &Path,
    source: &str,
    target: PodmanVersion,
) -> Result<Compiled, Box<Rejected>> {
    compile_owned(path, source.to_string(), target, false)
}

/// [`compile`] keeping `source` without a copy. Each stage's input is dropped as soon as the next
/// stage has what it needs, so the peak memory is about the largest two stages, not all of them.
fn compile_owned(
    path: &Path,
    source: String,
    target: PodmanVersion,
    for_user: bool,
) -> Result<Compiled, Box<Rejected>> {
    let reject = |source: String, diagnostics: Vec<Diagnostic>| {
        Box::new(Rejected {
            path: path.display().to_string(),
            source,
            diagnostics,
        })
    };
    let (model, warnings) = match parse_and_validate(&source, target) {
        Ok(checked) => checked,
        Err(d) => return Err(reject(source, d)),
    };
    let secrets = render::wanted_secrets(&model);
    let (target, objects) = quadlet::into_objects(model);
    let files = render::sorted(parallel::map_unordered(objects, |object| {
        let unit = object.lower(target);
        render::render(&if for_user {
            quadlet::for_user_manager(unit)
        } else {
            unit
        })
    }));
    Ok(Compiled {
        files,
        secrets,
        warnings: warnings.sorted(),
        source,
    })
}

/// Parses and validates inventory text into the model [`compile_file`] lowers, for the exporters
/// (`quadgen export`) that read the same model; warnings sorted.
pub fn validate_source(
    path: &Path,
    source: &str,
    target: PodmanVersion,
) -> Result<(model::Model, Vec<Diagnostic>), Box<Rejected>> {
    let (model, warnings) = parse_and_validate(source, target).map_err(|diagnostics| {
        Box::new(Rejected {
            path: path.display().to_string(),
            source: source.to_string(),
            diagnostics,
        })
    })?;
    Ok((model, warnings.sorted()))
}

/// The inventory parsed and checked; the problems sorted. A large inventory's containers are
/// checked as each batch of them is parsed, so their inventory tables never all exist at once;
/// whenever that path cannot give the whole-file result, the whole file is parsed.
fn parse_and_validate(
    source: &str,
    target: PodmanVersion,
) -> Result<(model::Model, diagnostic::Diagnostics), Vec<Diagnostic>> {
    if let Some((rest, batches)) = inventory::split_large(source) {
        if let Some(names) = batches.names() {
            let fed = model::validate_with(rest, names, target, |check, each| {
                batches.each_container(check, each)
            });
            if let Some(validated) = fed {
                return validated.map_err(diagnostic::Diagnostics::sorted);
            }
        }
    }
    let inventory =
        inventory::parse_salvaging(source).map_err(|u| with_salvaged_errors(*u, target))?;
    model::validate(inventory, target).map_err(diagnostic::Diagnostics::sorted)
}

/// The problems of an inventory that does not parse, with the errors the model's checks find in
/// what could be salvaged of it (its unknown keys removed), so one run reports both kinds;
/// sorted by place. Warnings wait for an inventory that parses.
fn with_salvaged_errors(unparsed: inventory::Unparsed, target: PodmanVersion) -> Vec<Diagnostic> {
    let mut all = unparsed.problems;
    if let Some(salvaged) = unparsed.salvaged {
        if let Err(problems) = model::validate(salvaged, target) {
            all.extend(problems.0.into_iter().filter(Diagnostic::is_error));
        }
    }
    all.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    all
}

/// The largest inventory quadgen reads (64 MiB): far above any real one (100,000 containers
/// take about 50 MiB), and a bound on the memory a wrong path like `/dev/zero` can take.
pub const MAX_INVENTORY_BYTES: u64 = 64 * 1024 * 1024;

/// Why an inventory file could not be read. Every variant names the path.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed (`fs_err` names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(
        "`{}` is larger than {} MiB, the most quadgen reads as an inventory: is it the right file?",
        path.display(),
        MAX_INVENTORY_BYTES / (1024 * 1024)
    )]
    TooLarge { path: PathBuf },
    #[error(
        "`{}` is a directory: name the inventory file in it (e.g. `{}`)",
        path.display(),
        path.join("inventory.toml").display()
    )]
    Directory { path: PathBuf },
    #[error("failed to read from file `{}`", path.display())]
    NotUtf8 {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads and compiles an inventory file.
pub fn compile_file(
    path: &Path,
    target: PodmanVersion,
) -> Result<Result<Compiled, Box<Rejected>>, ReadError> {
    let source = read_inventory(path)?;
    Ok(compile_owned(path, source, target, false))
}

/// [`compile_file`] for a user's systemd (rootless containers): `[Install]` names the user
/// manager's `default.target` ([`quadlet::for_user_manager`]).
pub fn compile_file_for_user(
    path: &Path,
    target: PodmanVersion,
) -> Result<Result<Compiled, Box<Rejected>>, ReadError> {
    let source = read_inventory(path)?;
    Ok(compile_owned(path, source, target, true))
}

/// The inventory's text, refused past [`MAX_INVENTORY_BYTES`] or when it is not UTF-8.
pub fn read_inventory(path: &Path) -> Result<String, ReadError> {
    let file = fs_err::File::open(path)?;
    let metadata = file.metadata().ok();
    if metadata.as_ref().is_some_and(std::fs::Metadata::is_dir) {
        return Err(ReadError::Directory {
            path: path.to_path_buf(),
        });
    }
    let expected = metadata.map_or(0, |m| m.len()).min(MAX_INVENTORY_BYTES);
    let bytes =
        read_at_most(file, expected, MAX_INVENTORY_BYTES)?.ok_or_else(|| ReadError::TooLarge {
            path: path.to_path_buf(),
        })?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ),
    })
}

/// Everything `reader` gives, or `None` past `limit` bytes. A file of `expected` bytes
/// is read into one buffer of its size; anything longer (a pipe, `/dev/zero`) in pieces, joined
/// only when they fit, so the memory taken stays about the limit, never a doubled buffer.
fn read_at_most(reader: impl Read, expected: u64, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    const PIECE: u64 = 1024 * 1024;
    let mut reader = reader.take(limit + 1);
    let mut first = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    (&mut reader).take(expected + 1).read_to_end(&mut first)?;
    if (first.len() as u64) <= expected {
        return Ok(Some(first));
    }
    let mut total = first.len() as u64;
    if total > limit {
        return Ok(None);
    }
    let mut pieces = vec![first];
    loop {
        let mut piece = Vec::with_capacity(PIECE as usize);
        (&mut reader).take(PIECE).read_to_end(&mut piece)?;
        if piece.is_empty() {
            break;
        }
        total += piece.len() as u64;
        if total > limit {
            return Ok(None);
        }
        pieces.push(piece);
    }
    Ok(Some(pieces.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large inventory, containers out of name order, with problems: some in one container,
    /// some from `[defaults]` (the same place, for every container) and warnings.
    fn large_with_problems() -> String {
        let mut s = String::from("[defaults]\nrestart = \"sometimes\"\n\n[networks.net]\n\n");
        for i in (0..3000).rev() {
            let image = if i % 7 == 0 {
                "nginx".to_string()
            } else {
                format!("ghcr.io/e/a{i}:1")
            };
            s.push_str(&format!(
                "[containers.c{i}]\nimage = \"{image}\"\nnetworks = [\"net\"]\n"
            ));
            if i % 11 == 0 {
                s.push_str(&format!("depends_on = [\"c{}\", \"missing{i}\"]\n", i + 1));
            }
            s.push('\n');
        }
        s.push_str("[containers.abc]\nimage = \"ghcr.io/e/hex:1\"\n");
        s
    }

    #[test]
    fn reading_stops_past_the_limit_and_keeps_every_byte_below_it() {
        let limit = 3 * 1024 * 1024 + 17;
        let text = vec![b'x'; limit];
        for expected in [0, 5, limit as u64] {
            let read = read_at_most(&text[..], expected, limit as u64).expect("reads");
            assert!(read.as_deref() == Some(&text[..]), "expected {expected}");
            let smaller = limit as u64 - 1;
            let over = read_at_most(&text[..], expected.min(smaller), smaller).expect("reads");
            assert!(over.is_none(), "expected {expected}");
        }
        let read = read_at_most(&b"short"[..], 0, 10).expect("reads");
        assert_eq!(read.as_deref(), Some(&b"short"[..]));
        let endless = std::io::repeat(0);
        assert!(
            read_at_most(endless, 0, limit as u64)
                .expect("reads")
                .is_none()
        );
    }

    #[test]
    fn a_large_inventory_checked_as_it_is_parsed_gives_the_whole_file_result() {
        let source = large_with_problems();
        let (_, batches) = inventory::split_large(&source).expect("large enough to stream");
        assert!(batches.names().is_some(), "bare names stream");
        let whole = inventory::parse(&source).expect("valid TOML");
        let expected = model::validate(whole, PodmanVersion::DEFAULT).map_err(|d| d.sorted());
        let streamed = parse_and_validate(&source, PodmanVersion::DEFAULT);
        assert!(expected.is_err());
        assert_eq!(format!("{streamed:?}"), format!("{expected:?}"));

        let valid = source
            .replace("sometimes", "always")
            .replace("\"nginx\"", "\"docker.io/library/nginx:1\"");
        let valid = valid.replace(", \"missing", "] # \"missing");
        let whole = inventory::parse(&valid).expect("valid TOML");
        let expected = model::validate(whole, PodmanVersion::DEFAULT);
        let streamed = parse_and_validate(&valid, PodmanVersion::DEFAULT);
        assert!(expected.is_ok(), "{expected:?}");
        assert_eq!(format!("{streamed:?}"), format!("{expected:?}"));
    }

    #[test]
    fn units_rendered_on_two_threads_are_the_units_rendered_one_by_one() {
        let valid = large_with_problems()
            .replace("sometimes", "always")
            .replace("\"nginx\"", "\"docker.io/library/nginx:1\"")
            .replace(", \"missing", "] # \"missing");
        let path = Path::new("inventory.toml");
        for _ in 0..3 {
            let compiled = compile(path, &valid, PodmanVersion::DEFAULT).expect("valid");
            let (model, _) = validate_source(path, &valid, PodmanVersion::DEFAULT).expect("valid");
            let one_by_one = render::render_all(&quadlet::lower(&model));
            assert_eq!(compiled.files.len(), 3002);
            assert!(compiled.files == one_by_one);
        }
    }
}
