//! The I/O edge of `quadgen import compose`: command-line arguments, reading standard input and
//! the environment, writing the inventory (atomically, never over an existing file without
//! `--force`), printing warnings. Everything else is the pure core in [`super`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::compile::version::PodmanVersion;
use crate::import::{Disk, Input, Options};

/// `quadgen import compose` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ComposeArgs {
    /// Compose files, merged in order like `docker compose -f A -f B` (default: `compose.yaml`,
    /// `compose.yml`, `docker-compose.yaml` or `docker-compose.yml` here). `-` reads Compose's
    /// own normalized model from standard input: `docker compose config --format json | quadgen
    /// import compose -`.
    pub files: Vec<PathBuf>,
    /// A compose file, as with `docker compose -f` (repeatable; these come before FILES).
    #[arg(long = "file", short = 'f', value_name = "FILE")]
    pub file_flags: Vec<PathBuf>,
    /// Env files for interpolation, in order (default: `.env` beside the first compose file).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Profiles to activate (added to `COMPOSE_PROFILES`).
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// The project name (default: `COMPOSE_PROJECT_NAME`, the top-level `name`, or the directory).
    #[arg(long, short = 'p', value_name = "NAME")]
    pub project_name: Option<String>,
    /// Write the inventory here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Runs `quadgen import FORMAT`.
pub fn import_command(from: &super::ImportFrom) -> anyhow::Result<ExitCode> {
    match from {
        super::ImportFrom::Compose(args) => compose_command(args),
        super::ImportFrom::OciContainers(args) => oci_command(args),
    }
}

/// Runs `quadgen import compose`.
pub fn compose_command(args: &ComposeArgs) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let input = compose_input(args, &cwd)?;
    let options = Options {
        env_files: args.env_files.iter().map(|f| cwd.join(f)).collect(),
        profiles: args.profiles.clone(),
        project_name: args.project_name.clone(),
        environment: std::env::vars().collect(),
    };
    finish(
        crate::import::compose(&input, &options, &Disk),
        args.output.as_deref(),
        args.force,
    )
}

/// `quadgen import oci-containers` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct OciArgs {
    /// The JSON of `nix eval --json
    /// .#nixosConfigurations.HOST.config.virtualisation.oci-containers.containers`, or `-` to
    /// read it from standard input.
    pub file: PathBuf,
    /// Write the inventory here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// Runs `quadgen import oci-containers`.
pub fn oci_command(args: &OciArgs) -> anyhow::Result<ExitCode> {
    let (name, text) = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        (PathBuf::from("<stdin>"), text)
    } else {
        let text = std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read `{}`", args.file.display()))?;
        (args.file.clone(), text)
    };
    finish(
        crate::import::oci_containers(&name, &text),
        args.output.as_deref(),
        args.force,
    )
}

/// The end of every import: the refusal, or the warnings, the build check and the output.
fn finish(
    result: Result<crate::import::Imported, crate::import::Refused>,
    output: Option<&Path>,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let imported = match result {
        Ok(i) => i,
        Err(refused) => {
            eprintln!("{refused}");
            eprintln!(
                "error: the import was refused ({} problem{}); nothing was written",
                refused.0.len(),
                if refused.0.len() == 1 { "" } else { "s" }
            );
            return Ok(ExitCode::from(crate::cli::exit::FAILURE));
        }
    };
    for w in &imported.warnings {
        eprintln!("{w}");
    }
    // The result must build: a failure here is a bug in the importer, said as such.
    let name = output.unwrap_or(Path::new("imported.toml"));
    if let Err(rejected) = crate::compile::compile(name, &imported.toml, PodmanVersion::DEFAULT) {
        eprintln!("{}", rejected.render(false));
        bail!(
            "the imported inventory does not build (an importer bug; please report it); nothing was written"
        );
    }
    let missing = missing_bind_sources(name, &imported.toml);
    for (container, path) in &missing {
        eprintln!(
            "warning: container `{container}` bind-mounts `{path}`, which does not exist on this host: podman refuses to start a container whose bind-mount source is missing (Docker creates it as an empty directory); create it before the first start"
        );
    }
    let warnings = imported.warnings.len() + missing.len();
    match output {
        None => std::io::stdout().write_all(imported.toml.as_bytes())?,
        Some(path) => write_output(path, force, &imported.toml, warnings)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Each container's and pod's bind-mount sources that do not exist on this host, as
/// (container or pod, path). Compose creates a missing source directory; podman refuses to start.
fn missing_bind_sources(name: &Path, toml: &str) -> Vec<(String, String)> {
    let Ok((model, _)) = crate::compile::validate_source(name, toml, PodmanVersion::DEFAULT) else {
        return Vec::new();
    };
    let owners = model
        .containers
        .iter()
        .map(|c| (c.name.to_string(), &c.mounts))
        .chain(model.pods.iter().map(|p| (p.name.to_string(), &p.mounts)));
    let mut missing = Vec::new();
    for (owner, mounts) in owners {
        for source in crate::compile::model::bind_sources(mounts) {
            // Followed like podman follows it: a dangling link is missing too; a path this user
            // may not look into is not known to be.
            let gone = std::fs::metadata(&source.raw)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
            if gone {
                missing.push((owner.clone(), source.raw.clone()));
            }
        }
    }
    missing
}

/// What to import: Compose's normalized JSON on stdin (`-`), the files named, or the default
/// compose file of the current directory.
fn compose_input(args: &ComposeArgs, cwd: &Path) -> anyhow::Result<Input> {
    let files: Vec<PathBuf> = args.file_flags.iter().chain(&args.files).cloned().collect();
    if files.iter().any(|f| f.as_os_str() == "-") {
        if files.len() > 1 {
            bail!(
                "`-` (Compose's normalized JSON on standard input) cannot be merged with other files"
            );
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(Input::Normalized {
            name: PathBuf::from("<stdin>"),
            text,
        });
    }
    if !files.is_empty() {
        return Ok(Input::Files(files.iter().map(|f| cwd.join(f)).collect()));
    }
    let found = DEFAULT_FILES
        .iter()
        .map(|f| cwd.join(f))
        .find(|p| p.is_file());
    match found {
        Some(f) => Ok(Input::Files(vec![f])),
        None => bail!(
            "no compose file here (looked for {}); name one: `quadgen import compose FILE`",
            DEFAULT_FILES.join(", ")
        ),
    }
}

/// Writes the inventory to `path` atomically; an existing file only with `--force`.
fn write_output(path: &Path, force: bool, toml: &str, warnings: usize) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!("`{}` exists; pass --force to replace it", path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = path
        .file_name()
        .context("the output names no file")?
        .to_string_lossy()
        .into_owned();
    crate::host::fs::write_atomic(&dir, &file, toml.as_bytes())?;
    eprintln!(
        "wrote `{}` ({warnings} warning{}; check each `not carried` comment)",
        path.display(),
        if warnings == 1 { "" } else { "s" }
    );
    Ok(())
}
