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
/// `/etc/containers/systemd/users` any more (the file serves them all), decided while no
/// `--for-user` install runs ([`hold_podman_pause_unit`]). Only a file with exactly quadgen's
/// text is removed.
pub fn remove_podman_pause_unit(scope: &Scope, root: &Path) {
    let Some(dir) = pause_unit_dir(scope, root) else {
        return;
    };
    let users = matches!(scope, Scope::ForUser(_)).then(|| Path::new(USERS_DIR));
    if let Err(e) = remove_pause_unit_in(&dir, users) {
        eprintln!("warning: {e}");
    }
}

/// [`remove_podman_pause_unit`] in the unit directory `dir`; with `users` (the directory of the
/// users' Quadlet directories), only when none holds a manifest, under its exclusive lock.
fn remove_pause_unit_in(dir: &Path, users: Option<&Path>) -> Result<(), fs::IoError> {
    let _no_install_runs = match users {
        Some(users) => {
            let lock = match fs::lock_dir(users, fs::LockMode::Exclusive, |path| {
                eprintln!(
                    "waiting for another user's quadgen install or uninstall to finish (lock `{}`)",
                    path.display()
                );
            }) {
                Ok(lock) => Some(lock),
                // No users' directory: no manifest, and no install that could be writing one.
                Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            if any_user_manifest(users) {
                return Ok(());
            }
            lock
        }
        None => None,
    };
    let found = fs::read_regular(&dir.join(PODMAN_PAUSE_SERVICE)).ok();
    if !matches!(
        pause_unit_action(found.as_deref(), PAST_PODMAN_PAUSE_UNITS),
        PauseUnit::Ours | PauseUnit::Outdated
    ) {
        return Ok(());
    }
    fs::remove(dir, PODMAN_PAUSE_SERVICE).and_then(|()| fs::sync_dir(dir))
}

/// For a `--for-user` install: a shared lock on `/etc/containers/systemd/users`, held from before
/// [`ensure_podman_pause_unit`] until the install's manifest is written. [`PODMAN_PAUSE_SERVICE`]
/// serves every user, so without it another user's last uninstall, between this install writing
/// the file and writing its first manifest, would see no manifest and remove the file this
/// install's units want. Installs share the lock (they all write the same text); that uninstall
/// waits for them. `None` for other scopes (one user's own files, under the install lock), and,
/// with a warning, when the lock cannot be taken: like the pause unit itself, it is best effort.
pub fn hold_podman_pause_unit(scope: &Scope, root: &Path) -> Option<fs::Lock> {
    if !matches!(scope, Scope::ForUser(_)) || pause_unit_dir(scope, root).is_none() {
        return None;
    }
    hold_pause_unit_in(Path::new(USERS_DIR))
        .map_err(|e| eprintln!("warning: {e}; another user's uninstall may remove `{PODMAN_PAUSE_SERVICE}` meanwhile"))
        .ok()
}

fn hold_pause_unit_in(users: &Path) -> Result<fs::Lock, fs::IoError> {
    fs::lock_dir(users, fs::LockMode::Shared, |path| {
        eprintln!(
            "waiting for another user's quadgen uninstall to finish (lock `{}`)",
            path.display()
        );
    })
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

/// Whether some user still has units quadgen installed with `--for-user`: a user's Quadlet
/// directory under `users` holds a quadgen manifest. A directory that cannot be read counts as
/// holding one: the unit is then kept, never removed from under a user who may still need it.
fn any_user_manifest(users: &Path) -> bool {
    let mut entries = match std::fs::read_dir(users) {
        Ok(entries) => entries,
        Err(e) => return e.kind() != std::io::ErrorKind::NotFound,
    };
    entries.any(|entry| match entry {
        Ok(entry) => entry.path().join(MANIFEST_FILE).is_file(),
        Err(_) => true,
    })
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

    /// A users' directory and a unit directory holding quadgen's pause unit.
    fn pause_unit_dirs() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let tmp = tempfile::tempdir().expect("tmp");
        let (users, units) = (tmp.path().join("users"), tmp.path().join("user"));
        std::fs::create_dir_all(&users).expect("users");
        std::fs::create_dir_all(&units).expect("units");
        std::fs::write(units.join(PODMAN_PAUSE_SERVICE), PODMAN_PAUSE_UNIT).expect("unit");
        (tmp, users, units)
    }

    /// Runs the last user's uninstall (its removal of the pause unit) while another user's
    /// install holds its lock and has not written its manifest; the install then writes it or
    /// not (`install_finishes`), and lets go. Whether the pause unit is there at the end.
    fn uninstall_during_a_first_install(install_finishes: bool) -> bool {
        let (_tmp, users, units) = pause_unit_dirs();
        let install = hold_pause_unit_in(&users).expect("lock");
        let remover = {
            let (users, units) = (users.clone(), units.clone());
            std::thread::spawn(move || remove_pause_unit_in(&units, Some(&users)))
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            !remover.is_finished(),
            "the uninstall waits for the install"
        );
        assert!(units.join(PODMAN_PAUSE_SERVICE).exists());
        if install_finishes {
            let alice = users.join("1000");
            std::fs::create_dir_all(&alice).expect("alice");
            std::fs::write(alice.join(MANIFEST_FILE), "{}").expect("manifest");
        }
        drop(install);
        remover.join().expect("no panic").expect("removal");
        units.join(PODMAN_PAUSE_SERVICE).exists()
    }

    #[test]
    fn the_last_uninstall_keeps_the_pause_unit_a_running_install_will_need() {
        assert!(
            uninstall_during_a_first_install(true),
            "alice's units want it"
        );
        assert!(
            !uninstall_during_a_first_install(false),
            "nobody has a manifest after all: removed"
        );
    }

    #[test]
    fn installs_share_the_pause_unit_lock_and_wait_for_an_uninstall_deciding() {
        let (_tmp, users, _units) = pause_unit_dirs();
        let alice = hold_pause_unit_in(&users).expect("alice");
        let bob = {
            // On a thread, so that a lock that is not shared fails the test instead of hanging it.
            let (sender, receiver) = std::sync::mpsc::channel();
            let users = users.clone();
            std::thread::spawn(move || sender.send(hold_pause_unit_in(&users)));
            receiver.recv_timeout(std::time::Duration::from_secs(5))
        };
        assert!(
            matches!(bob, Ok(Ok(_))),
            "bob installs while alice does: {bob:?}"
        );
        drop((alice, bob));
        let uninstall = fs::lock_dir(&users, fs::LockMode::Exclusive, |_| {}).expect("lock");
        let install = {
            let users = users.clone();
            std::thread::spawn(move || hold_pause_unit_in(&users).map(drop))
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            !install.is_finished(),
            "the install waits for the uninstall"
        );
        drop(uninstall);
        install.join().expect("no panic").expect("lock");
    }

    #[test]
    fn a_users_directory_that_cannot_be_read_keeps_the_pause_unit() {
        let (_tmp, users, _units) = pause_unit_dirs();
        assert!(!any_user_manifest(&users), "empty");
        std::fs::remove_dir(&users).expect("rmdir");
        assert!(!any_user_manifest(&users), "none at all");
        std::fs::write(&users, "not a directory").expect("file");
        assert!(
            any_user_manifest(&users),
            "unreadable: as if one were there"
        );
    }

    #[test]
    fn without_a_users_directory_the_pause_unit_goes() {
        let (_tmp, users, units) = pause_unit_dirs();
        std::fs::remove_dir(&users).expect("rmdir");
        remove_pause_unit_in(&units, Some(&users)).expect("removal");
        assert!(!units.join(PODMAN_PAUSE_SERVICE).exists());
    }
}
