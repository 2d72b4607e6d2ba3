//! The rootless edge of `plan` and `install` (`--user`, `--for-user`): the host checks of
//! [`crate::doctor::rootless`], printed before the plan; errors stop the command. And the one user
//! unit quadgen writes outside the Quadlet directory, [`PODMAN_PAUSE_SERVICE`].

use std::path::Path;

use crate::cli::InstallArgs;
use crate::compile::Compiled;
use crate::compile::quadlet::{PODMAN_PAUSE_SERVICE, PODMAN_PAUSE_UNIT};
use crate::host::fs;
use crate::host::scope::{Scope, USERS_DIR};
use crate::install::manifest::MANIFEST_FILE;

/// Checks what the rootless containers of `compiled` need from the host and prints each problem
/// with its fix on stderr. `Ok(false)`: an error-level problem, so nothing may be installed.
pub fn preflight(
    inventory: &Path,
    compiled: &Compiled,
    args: &InstallArgs,
) -> anyhow::Result<bool> {
    if !args.scope.is_rootless() {
        return Ok(true);
    }
    let (model, _) =
        crate::compile::validate_source(inventory, &compiled.source, args.target.podman)
            .map_err(|r| anyhow::anyhow!("{}", r.render(false)))?;
    let findings = crate::doctor::rootless::check_scope(&args.scope, &model);
    if findings.is_empty() {
        return Ok(true);
    }
    eprint!("{}", crate::doctor::render_text(&findings));
    let ok = !crate::doctor::has_errors(&findings);
    if !ok {
        eprintln!(
            "error: the host is not ready for these rootless containers (above, each with its fix); nothing was changed"
        );
    }
    Ok(ok)
}

/// Puts quadgen's [`PODMAN_PAUSE_SERVICE`] (which every rootless unit `Wants=` and is `After=`)
/// into the scope's user unit directory when it is not there: `$XDG_CONFIG_HOME/systemd/user`
/// for `--user`, `/etc/systemd/user` for `--for-user` (the same text for every user). A file of
/// that name with any other text is not quadgen's and is left as it is. Best effort: the units
/// only `Wants=` it, so a failure is a warning (at boot the containers then set podman up
/// themselves, all at once, as before). Nothing with a `--root` of its own (an install elsewhere).
pub fn ensure_podman_pause_unit(scope: &Scope, root: &Path) {
    let Some(dir) = pause_unit_dir(scope, root) else {
        return;
    };
    let path = dir.join(PODMAN_PAUSE_SERVICE);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        // NixOS links the unit it declares (`services.quadgen.users`) into /etc/systemd/user.
        return;
    }
    let found = match fs::read_regular(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            eprintln!("warning: cannot read `{}`: {e}", path.display());
            return;
        }
    };
    match pause_unit_action(found.as_deref(), PAST_PODMAN_PAUSE_UNITS) {
        PauseUnit::Ours => return,
        PauseUnit::Foreign => {
            eprintln!(
                "note: `{}` is not quadgen's (its text differs): left as it is; the units still start after it",
                path.display()
            );
            return;
        }
        PauseUnit::Missing | PauseUnit::Outdated => {}
    }
    let written = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))
        .and_then(|()| {
            fs::write_atomic(&dir, PODMAN_PAUSE_SERVICE, PODMAN_PAUSE_UNIT.as_bytes())
                .and_then(|()| fs::sync_dir(&dir))
                .map_err(|e| e.to_string())
        });
    match written {
        Ok(()) => eprintln!(
            "wrote `{}`: sets up the user's podman once before the containers start",
            path.display()
        ),
        Err(e) => eprintln!(
            "warning: {e}; without it, containers that start together at boot may hang in `activating` (see README, Rootless)"
        ),
    }
}

/// Removes quadgen's [`PODMAN_PAUSE_SERVICE`] once nothing of the scope needs it: after an
/// uninstall with `--user`; with `--for-user` only when no user has a quadgen manifest under
/// `/etc/containers/systemd/users` any more (the file serves them all). Only a file with exactly
/// quadgen's text is removed.
pub fn remove_podman_pause_unit(scope: &Scope, root: &Path) {
    let Some(dir) = pause_unit_dir(scope, root) else {
        return;
    };
    if matches!(scope, Scope::ForUser(_)) && any_user_manifest() {
        return;
    }
    let found = fs::read_regular(&dir.join(PODMAN_PAUSE_SERVICE)).ok();
    if !matches!(
        pause_unit_action(found.as_deref(), PAST_PODMAN_PAUSE_UNITS),
        PauseUnit::Ours | PauseUnit::Outdated
    ) {
        return;
    }
    if let Err(e) = fs::remove(&dir, PODMAN_PAUSE_SERVICE).and_then(|()| fs::sync_dir(&dir)) {
        eprintln!("warning: {e}");
    }
}

/// Where [`PODMAN_PAUSE_SERVICE`] goes for a rootless install into the scope's own Quadlet
/// directory `root`; `None` for root's containers, and for a `--root` elsewhere (a test, an image
/// build), whose units the user's manager may never see.
fn pause_unit_dir(scope: &Scope, root: &Path) -> Option<std::path::PathBuf> {
    if scope.user_quadlet_dir().as_deref() != Some(root) {
        return None;
    }
    scope.user_systemd_dir()
}

/// Every text of [`PODMAN_PAUSE_SERVICE`] an earlier release wrote, so that an upgrade still
/// knows those files as its own. When `PODMAN_PAUSE_UNIT` changes, its old text goes here.
const PAST_PODMAN_PAUSE_UNITS: &[&str] = &[];

/// What is at [`PODMAN_PAUSE_SERVICE`]'s path, for quadgen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PauseUnit {
    /// Nothing: install writes it.
    Missing,
    /// Exactly quadgen's text: left as it is, and uninstall may remove it.
    Ours,
    /// The text an earlier quadgen wrote: rewritten by install, removed by uninstall.
    Outdated,
    /// Anything else is someone else's (or a hand edit): never written over nor removed.
    Foreign,
}

/// Decides by the file's bytes (`None`: no file): only quadgen's exact text is quadgen's.
fn pause_unit_action(found: Option<&[u8]>, past: &[&str]) -> PauseUnit {
    match found {
        None => PauseUnit::Missing,
        Some(bytes) if bytes == PODMAN_PAUSE_UNIT.as_bytes() => PauseUnit::Ours,
        Some(bytes) if past.iter().any(|t| t.as_bytes() == bytes) => PauseUnit::Outdated,
        Some(_) => PauseUnit::Foreign,
    }
}

/// Whether some user still has units quadgen installed with `--for-user`.
fn any_user_manifest() -> bool {
    std::fs::read_dir(USERS_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join(MANIFEST_FILE).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quadgens_exact_pause_unit_is_quadgens() {
        assert_eq!(pause_unit_action(None, &[]), PauseUnit::Missing);
        assert_eq!(
            pause_unit_action(Some(PODMAN_PAUSE_UNIT.as_bytes()), &[]),
            PauseUnit::Ours
        );
        let edited = PODMAN_PAUSE_UNIT.replace("90s", "300s");
        assert_eq!(
            pause_unit_action(Some(edited.as_bytes()), &[]),
            PauseUnit::Foreign
        );
        assert_eq!(pause_unit_action(Some(b""), &[]), PauseUnit::Foreign);
        // After a change of the text, the old one is still quadgen's (rewritten, removable).
        assert_eq!(
            pause_unit_action(Some(edited.as_bytes()), &[edited.as_str()]),
            PauseUnit::Outdated
        );
    }
}
