//! `quadgen export kubernetes`: the edge around the pure [`crate::export`] core. Reads the
//! inventory, prints problems and notes, writes the file.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::compile;
use crate::compile::diagnostic;
use crate::compile::version::PodmanVersion;
use crate::export::{HEADER_PREFIX, kubernetes, refusal_diagnostics};

/// `quadgen export kubernetes INVENTORY [-o FILE] [--namespace NS]`: the YAML on stdout or into
/// FILE (atomically), every note on stderr. Exit 1, writing nothing, when the inventory is bad or
/// cannot be exported.
pub fn kubernetes_command(
    inventory: &Path,
    out: Option<&Path>,
    namespace: Option<String>,
    target: PodmanVersion,
    color: bool,
) -> anyhow::Result<ExitCode> {
    let source = compile::read_inventory(inventory).context("cannot read the inventory")?;
    let shown = inventory.display().to_string();
    let mut stderr = std::io::stderr().lock();
    let (model, warnings) = match compile::validate_source(inventory, &source, target) {
        Ok(validated) => validated,
        Err(rejected) => {
            let _ = stderr.write_all(rejected.render(color).as_bytes());
            let _ = writeln!(stderr, "error: `{shown}` has problems; nothing was written");
            return Ok(ExitCode::from(super::exit::FAILURE));
        }
    };
    if !warnings.is_empty() {
        let text = diagnostic::render(&warnings, &shown, &source, color);
        let _ = stderr.write_all(text.as_bytes());
    }
    let options = kubernetes::Options {
        namespace: namespace.clone(),
    };
    let export = match kubernetes::export(&model, &options) {
        Ok(export) => export,
        Err(refusals) => {
            let diagnostics = refusal_diagnostics(&source, &refusals);
            let text = diagnostic::render(&diagnostics, &shown, &source, color);
            let _ = stderr.write_all(text.as_bytes());
            let _ = writeln!(
                stderr,
                "error: `{shown}` cannot be exported to Kubernetes as it is; nothing was written"
            );
            return Ok(ExitCode::from(super::exit::FAILURE));
        }
    };
    let yaml = kubernetes::render(&export, &shown, namespace.as_deref());

    for note in export.notes() {
        let _ = writeln!(stderr, "note: {}: {}", note.subject, note.text);
    }
    for secret in &export.secrets {
        let _ = writeln!(
            stderr,
            "note: create Secret `{}` from `{}` before applying (it is referenced, never written)",
            secret.name,
            secret.file()
        );
    }
    match out {
        None => std::io::stdout().lock().write_all(yaml.as_bytes())?,
        Some(path) => {
            write_owned(path, &yaml)?;
            let _ = writeln!(
                stderr,
                "wrote {} Kubernetes objects for Kubernetes {} to `{}`",
                export.documents.len(),
                kubernetes::KUBERNETES_VERSION,
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to `path` atomically, replacing only a file an earlier export wrote.
fn write_owned(path: &Path, text: &str) -> anyhow::Result<()> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        bail!("`{}` does not name a file", path.display());
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => bail!(
            "`{}` exists and is not a regular file; choose another -o",
            path.display()
        ),
        Ok(_) => {
            let existing = fs_err::read(path)?;
            if !existing.is_empty() && !existing.starts_with(HEADER_PREFIX.as_bytes()) {
                bail!(
                    "`{}` exists and was not written by `quadgen export kubernetes`; choose another -o (quadgen never overwrites a file it did not write)",
                    path.display()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot inspect `{}`", path.display())),
    }
    crate::host::fs::write_atomic(dir, name, text.as_bytes())?;
    Ok(())
}
