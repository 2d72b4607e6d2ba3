//! Whose containers install manages: the system's (root, `systemctl`), the calling user's
//! (rootless, `systemctl --user`), or, run by root, another user's (rootless, `systemctl --user
//! -M NAME@`). A [`Scope`] says which unit directory that is and how `systemctl`, `podman` and
//! `journalctl` are called for it.
//!
//! Quadlet's search paths (podman-systemd.unit(5), checked with the real generators of podman
//! 5.4.2 and 5.8.6, which agree): the system generator reads `/etc/containers/systemd` but skips
//! its `users/` folder; a user's generator reads `$XDG_RUNTIME_DIR/containers/systemd`,
//! `$XDG_CONFIG_HOME/containers/systemd` (default `~/.config/containers/systemd`),
//! `/etc/containers/systemd/users/UID` and all of `/etc/containers/systemd/users/` except other
//! users' numeric folders. A file there without a UID folder applies to every user, so quadgen
//! writes only `users/UID`; a file of the same name in an earlier directory wins.

use std::path::{Path, PathBuf};

use crate::host::process::{SystemdError, run};

/// A user account, as `getent passwd` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// Whose systemd and podman install drives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// Root's containers: the system manager.
    #[default]
    System,
    /// The calling user's rootless containers (`--user`): `systemctl --user`, podman as is.
    User(Account),
    /// Another user's rootless containers, installed by root (`--for-user NAME`): `systemctl
    /// --user -M NAME@`, podman through `systemd-run --user -M NAME@` (in the user's manager, with
    /// its runtime directory and cgroup).
    ForUser(Account),
}

/// The folder under which root installs units for users: `users/UID` of the system directory.
pub const USERS_DIR: &str = "/etc/containers/systemd/users";

/// Why a scope could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("no user `{0}` (`getent passwd {0}` found nothing)")]
    NoSuchUser(String),
    #[error(
        "`--user` is for a user's own containers, and this is root: use `--for-user NAME` to install rootless containers for NAME, or leave out `--user` for root's"
    )]
    UserAsRoot,
    #[error(
        "`--for-user` needs root (it writes `{USERS_DIR}/UID` and drives the user's systemd): run it with sudo, or use `--user` as that user"
    )]
    ForUserNotRoot,
    #[error(
        "`--for-user root` would install root's containers as rootless ones: leave out `--for-user`"
    )]
    ForRoot,
    #[error(transparent)]
    Lookup(#[from] SystemdError),
}

impl Scope {
    /// Whether the containers are rootless (a user's).
    pub fn is_rootless(&self) -> bool {
        !matches!(self, Scope::System)
    }

    /// The user whose containers these are, for rootless scopes.
    pub fn account(&self) -> Option<&Account> {
        match self {
            Scope::System => None,
            Scope::User(a) | Scope::ForUser(a) => Some(a),
        }
    }

    /// The arguments `systemctl` (and `systemd-run`) need before the verb: none, `--user`, or
    /// `--user -M NAME@`.
    pub fn manager_args(&self) -> Vec<String> {
        match self {
            Scope::System => Vec::new(),
            Scope::User(_) => vec!["--user".into()],
            Scope::ForUser(a) => vec!["--user".into(), "-M".into(), format!("{}@", a.name)],
        }
    }

    /// The program and arguments that run `podman ARGS…` as the scope's user.
    pub fn podman_command(&self, podman: &str, args: &[&str]) -> (String, Vec<String>) {
        let args = args.iter().map(|a| a.to_string());
        match self {
            Scope::System | Scope::User(_) => ("podman".into(), args.collect()),
            Scope::ForUser(_) => {
                let mut argv = self.manager_args();
                argv.extend(
                    ["--quiet", "--wait", "--pipe", "--collect", "--"]
                        .iter()
                        .map(|a| a.to_string()),
                );
                argv.push(podman.to_string());
                argv.extend(args);
                ("systemd-run".into(), argv)
            }
        }
    }

    /// The scope's own Quadlet directory (what `--root` defaults to): the user's
    /// ([`user_unit_dir`]) for [`Scope::User`], [`for_user_unit_dir`] for [`Scope::ForUser`], none
    /// for [`Scope::System`].
    pub fn user_quadlet_dir(&self) -> Option<PathBuf> {
        match self {
            Scope::System => None,
            Scope::User(a) => Some(user_unit_dir(
                std::env::var_os("XDG_CONFIG_HOME").as_deref(),
                &a.home,
            )),
            Scope::ForUser(a) => Some(for_user_unit_dir(a.uid)),
        }
    }

    /// The systemd unit directory for the scope's own user units: the user's
    /// (`$XDG_CONFIG_HOME/systemd/user`) for [`Scope::User`], [`SYSTEM_USER_UNIT_DIR`] (read by
    /// every user's manager) for [`Scope::ForUser`], none for [`Scope::System`].
    pub fn user_systemd_dir(&self) -> Option<PathBuf> {
        match self {
            Scope::System => None,
            Scope::User(a) => Some(user_systemd_dir(
                std::env::var_os("XDG_CONFIG_HOME").as_deref(),
                &a.home,
            )),
            Scope::ForUser(_) => Some(PathBuf::from(SYSTEM_USER_UNIT_DIR)),
        }
    }

    /// `journalctl` arguments selecting the scope's `podman-auto-update.service`.
    pub fn auto_update_journal_args(&self) -> Vec<String> {
        match self {
            Scope::System => vec!["--unit=podman-auto-update.service".into()],
            Scope::User(_) => vec!["--user".into(), "--unit=podman-auto-update.service".into()],
            Scope::ForUser(a) => vec![
                "--user-unit=podman-auto-update.service".into(),
                format!("_UID={}", a.uid),
            ],
        }
    }
}

/// The calling user's quadlet directory: `$XDG_CONFIG_HOME/containers/systemd` when that is an
/// absolute path (the XDG base directory rule), else `HOME/.config/containers/systemd`.
pub fn user_unit_dir(xdg_config_home: Option<&std::ffi::OsStr>, home: &Path) -> PathBuf {
    let config = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".config"));
    config.join("containers/systemd")
}

/// The calling user's systemd unit directory: `$XDG_CONFIG_HOME/systemd/user` when that is an
/// absolute path, else `HOME/.config/systemd/user`.
pub fn user_systemd_dir(xdg_config_home: Option<&std::ffi::OsStr>, home: &Path) -> PathBuf {
    let quadlet = user_unit_dir(xdg_config_home, home);
    quadlet
        .parent()
        .and_then(Path::parent)
        .unwrap_or(home)
        .join("systemd/user")
}

/// The systemd unit directory of every user's manager that root may write:
/// `/etc/systemd/user` (there is none for one user alone).
pub const SYSTEM_USER_UNIT_DIR: &str = "/etc/systemd/user";

/// The directory root installs a user's units into: `/etc/containers/systemd/users/UID`.
pub fn for_user_unit_dir(uid: u32) -> PathBuf {
    Path::new(USERS_DIR).join(uid.to_string())
}

/// Reads one `/etc/passwd` line (`name:x:uid:gid:gecos:home:shell`).
pub fn parse_passwd_line(line: &str) -> Option<Account> {
    let f: Vec<&str> = line.trim_end().split(':').collect();
    if f.len() < 7 {
        return None;
    }
    Some(Account {
        name: f[0].to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        home: PathBuf::from(f[5]),
    })
}

/// Looks a user up by name or UID through NSS (`getent passwd`).
pub fn lookup(key: &str) -> Result<Account, ScopeError> {
    let out = match run("getent", &["passwd", key]) {
        Ok(out) => out,
        // getent exits 2 when the key is not found
        Err(SystemdError::Failed { code: Some(2), .. }) => {
            return Err(ScopeError::NoSuchUser(key.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    out.lines()
        .find_map(parse_passwd_line)
        .ok_or_else(|| ScopeError::NoSuchUser(key.to_string()))
}

/// The effective user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The scope of `--user`: the calling user, who must not be root.
pub fn calling_user() -> Result<Scope, ScopeError> {
    let uid = current_uid();
    if uid == 0 {
        return Err(ScopeError::UserAsRoot);
    }
    Ok(Scope::User(lookup(&uid.to_string())?))
}

/// The scope of `--for-user NAME`: needs root, and NAME must not be root.
pub fn for_user(name: &str) -> Result<Scope, ScopeError> {
    if current_uid() != 0 {
        return Err(ScopeError::ForUserNotRoot);
    }
    let account = lookup(name)?;
    if account.uid == 0 {
        return Err(ScopeError::ForRoot);
    }
    Ok(Scope::ForUser(account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Account {
        parse_passwd_line("alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash").expect("valid line")
    }

    #[test]
    fn passwd_lines_give_accounts() {
        let a = alice();
        assert_eq!((a.name.as_str(), a.uid, a.gid), ("alice", 1000, 1000));
        assert_eq!(a.home, Path::new("/home/alice"));
        assert_eq!(parse_passwd_line("broken:x:12"), None);
        assert_eq!(parse_passwd_line("n:x:notanumber:1:g:/h:/s"), None);
    }

    #[test]
    fn unit_directories_follow_quadlet_and_xdg() {
        let home = Path::new("/home/alice");
        assert_eq!(
            user_unit_dir(None, home),
            Path::new("/home/alice/.config/containers/systemd")
        );
        assert_eq!(
            user_unit_dir(Some("/srv/cfg".as_ref()), home),
            Path::new("/srv/cfg/containers/systemd")
        );
        // a relative XDG_CONFIG_HOME is invalid by the spec and ignored
        assert_eq!(
            user_unit_dir(Some("cfg".as_ref()), home),
            Path::new("/home/alice/.config/containers/systemd")
        );
        assert_eq!(
            user_systemd_dir(None, home),
            Path::new("/home/alice/.config/systemd/user")
        );
        assert_eq!(
            user_systemd_dir(Some("/srv/cfg".as_ref()), home),
            Path::new("/srv/cfg/systemd/user")
        );
        assert_eq!(
            for_user_unit_dir(1000),
            Path::new("/etc/containers/systemd/users/1000")
        );
    }

    #[test]
    fn each_scope_drives_its_own_manager() {
        assert!(Scope::System.manager_args().is_empty());
        assert_eq!(Scope::User(alice()).manager_args(), ["--user"]);
        assert_eq!(
            Scope::ForUser(alice()).manager_args(),
            ["--user", "-M", "alice@"]
        );
        assert_eq!(
            Scope::User(alice()).podman_command("/usr/bin/podman", &["network", "rm", "web"]),
            (
                "podman".to_string(),
                vec!["network".into(), "rm".into(), "web".into()]
            )
        );
        let (program, args) =
            Scope::ForUser(alice()).podman_command("/usr/bin/podman", &["network", "rm", "web"]);
        assert_eq!(program, "systemd-run");
        assert_eq!(
            args.join(" "),
            "--user -M alice@ --quiet --wait --pipe --collect -- /usr/bin/podman network rm web"
        );
        assert_eq!(
            Scope::ForUser(alice()).auto_update_journal_args(),
            ["--user-unit=podman-auto-update.service", "_UID=1000"]
        );
    }
}
