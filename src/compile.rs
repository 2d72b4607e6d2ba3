//! Stage 1, compile: inventory text → rendered Quadlet units, pure (reading the inventory file is
//! its only I/O). In pipeline order: [`diagnostic`] (errors with places), [`inventory`] (TOML →
//! serde types with spans), [`version`] (the target Podman's keys), [`model`] (validated, checked
//! types), [`quadlet`] (one unit per container, network, volume), [`render`] (text and sha256).
//! [`compile`] runs them all. A module here imports only [`crate::unit`] and the modules before it.

pub mod diagnostic;
pub mod inventory;
pub mod model;
pub mod quadlet;
pub mod render;
pub mod version;

use std::path::Path;

use diagnostic::{Diagnostic, Diagnostics};
use render::RenderedFile;
use version::PodmanVersion;

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
        crate::compile::diagnostic::render(&self.diagnostics, &self.path, &self.source, color)
    }
}

/// Compiles inventory text. `path` names the file in headers and messages.
pub fn compile(
    path: &Path,
    source: &str,
    target: PodmanVersion,
) -> Result<Compiled, Box<Rejected>> {
    let reject = |diagnostics: Vec<Diagnostic>| {
        Box::new(Rejected {
            path: path.display().to_string(),
            source: source.to_string(),
            diagnostics,
        })
    };
    let inventory = inventory::parse(source).map_err(|d| reject(vec![d]))?;
    let (model, warnings) =
        model::validate(&inventory, target).map_err(|d: Diagnostics| reject(d.sorted()))?;
    let units = quadlet::lower(&model);
    let files = render::render_all(&units);
    Ok(Compiled {
        files,
        warnings: warnings.sorted(),
        source: source.to_string(),
    })
}

/// Reads and compiles an inventory file. The I/O error names the path.
pub fn compile_file(
    path: &Path,
    target: PodmanVersion,
) -> std::io::Result<Result<Compiled, Box<Rejected>>> {
    let source = fs_err::read_to_string(path)?;
    Ok(compile(path, &source, target))
}
