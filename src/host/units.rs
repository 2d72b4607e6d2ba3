//! systemd units shipped for hosts without NixOS (`quadgen host-units print|install`).
//!
//! The files live in `units/` so `systemd-analyze verify` checks them as they are
//! (tests/nixos_module.rs); they are compiled in here so the binary carries them.

/// Every shipped unit as `(path relative to the unit directory, contents)`, in install order:
/// services before the path/timer units that start them. A path may contain one directory
/// (`podman-auto-update.timer.d/quadgen.conf`, a drop-in for podman's own timer).
pub fn host_units() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "quadgen-install.service",
            include_str!("../../units/quadgen-install.service"),
        ),
        (
            "quadgen-install.path",
            include_str!("../../units/quadgen-install.path"),
        ),
        (
            "quadgen-prune.service",
            include_str!("../../units/quadgen-prune.service"),
        ),
        (
            "quadgen-prune.timer",
            include_str!("../../units/quadgen-prune.timer"),
        ),
        (
            "podman-auto-update.timer.d/quadgen.conf",
            include_str!("../../units/podman-auto-update.timer.d/quadgen.conf"),
        ),
    ]
}

/// Where the shipped units expect the quadgen binary.
pub const DEFAULT_QUADGEN: &str = "/usr/local/bin/quadgen";

/// Why the host units could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum HostUnitsError {
    #[error(
        "`{}` cannot be written into a unit: give an absolute path without spaces, quotes, `%`, `$` or `\\` (--quadgen)",
        .0.display()
    )]
    UnwritablePath(std::path::PathBuf),
    #[error(transparent)]
    CreateDir(#[from] std::io::Error),
    #[error(transparent)]
    Write(#[from] crate::host::fs::IoError),
}

/// The shipped units, running the quadgen at `quadgen` instead of [`DEFAULT_QUADGEN`].
pub fn for_binary(
    quadgen: &std::path::Path,
) -> Result<Vec<(&'static str, String)>, HostUnitsError> {
    let path = quadgen.to_str().filter(|p| {
        p.starts_with('/')
            && !p.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '%' | '$' | '\\' | '"' | '\'')
            })
    });
    let Some(path) = path else {
        return Err(HostUnitsError::UnwritablePath(quadgen.to_path_buf()));
    };
    Ok(host_units()
        .into_iter()
        .map(|(name, text)| (name, text.replace(DEFAULT_QUADGEN, path)))
        .collect())
}

/// Writes the units into `dest` (atomically each, creating the drop-in directory) and returns the
/// paths written.
pub fn install(
    dest: &std::path::Path,
    quadgen: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, HostUnitsError> {
    let units = for_binary(quadgen)?;
    let mut written = Vec::new();
    for (name, text) in units {
        let path = dest.join(name);
        let dir = path.parent().unwrap_or(dest);
        fs_err::create_dir_all(dir)?;
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        crate::host::fs::write_atomic(dir, &file, text.as_bytes())?;
        crate::host::fs::sync_dir(dir)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::{for_binary, host_units};

    #[test]
    fn units_run_the_given_binary_or_refuse_an_unwritable_path() {
        let units =
            for_binary(std::path::Path::new("/opt/quadgen/bin/quadgen")).expect("plain path");
        let install = units
            .iter()
            .find(|(n, _)| *n == "quadgen-install.service")
            .expect("unit");
        assert!(
            install.1.contains("/opt/quadgen/bin/quadgen install"),
            "{}",
            install.1
        );
        assert!(!install.1.contains("/usr/local/bin/quadgen"));
        assert!(for_binary(std::path::Path::new("/my bin/quadgen")).is_err());
        assert!(for_binary(std::path::Path::new("relative/quadgen")).is_err());
    }
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Every file under `units/`, relative to it.
    fn files_in_units_dir() -> BTreeSet<String> {
        fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).expect("read units/") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    let rel = path.strip_prefix(base).expect("under units/");
                    out.insert(rel.to_str().expect("utf-8 name").to_owned());
                }
            }
        }
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("units");
        let mut out = BTreeSet::new();
        walk(&base, &base, &mut out);
        out
    }

    #[test]
    fn every_file_in_units_is_shipped_once_and_non_empty() {
        let units = host_units();
        let shipped: BTreeSet<String> = units.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(shipped.len(), units.len(), "a unit is listed twice");
        assert_eq!(shipped, files_in_units_dir());
        for (name, text) in &units {
            assert!(text.trim_start().len() > 20, "{name} is empty");
            let on_disk = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("units")
                    .join(name),
            )
            .expect("read unit");
            assert_eq!(
                *text, on_disk,
                "{name}: compiled-in copy differs from units/"
            );
        }
    }

    #[test]
    fn services_come_before_the_units_that_start_them() {
        let names: Vec<&str> = host_units().iter().map(|(n, _)| *n).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).expect(n);
        assert!(pos("quadgen-install.service") < pos("quadgen-install.path"));
        assert!(pos("quadgen-prune.service") < pos("quadgen-prune.timer"));
    }

    #[test]
    fn prune_never_removes_volumes() {
        let units = host_units();
        let prune = units
            .iter()
            .find(|(n, _)| *n == "quadgen-prune.service")
            .map(|(_, t)| *t)
            .expect("prune unit");
        let exec: Vec<&str> = prune
            .lines()
            .filter(|l| l.starts_with("ExecStart="))
            .collect();
        assert_eq!(
            exec,
            ["ExecStart=/usr/bin/podman image prune --all --filter until=24h --force"]
        );
        for (name, text) in &units {
            let mut live = text.lines().filter(|l| !l.trim_start().starts_with('#'));
            assert!(
                live.all(|l| !l.contains("--volumes")),
                "{name} passes --volumes"
            );
        }
    }
}
