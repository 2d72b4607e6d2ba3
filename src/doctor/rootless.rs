//! What rootless containers need from the host, checked at `plan`/`install` time so a missing
//! piece is an error with its fix rather than a failed start: linger (else the user's systemd, and
//! every container, stops at logout and does not start at boot), subordinate UID and GID ranges
//! (else podman cannot map an image's users), published ports at or above
//! `net.ipv4.ip_unprivileged_port_start`, and bind-mount sources and environment files the user
//! can read.
//!
//! [`needs`] (pure) reads what the inventory asks for from the model, [`gather`] (I/O) the
//! host's facts about the user, [`check`] (pure) turns both into [`Finding`]s.

use std::path::Path;

use serde::Serialize;

use super::{Finding, Level};
use crate::compile::model::{Model, Mount};
use crate::host::scope::{Account, Scope};

/// A published port of a container or a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortUse {
    /// Who publishes it, for a person: ``container `web` `` or ``pod `shop` ``.
    pub owner: String,
    /// As written in the inventory (`80:8080/tcp`).
    pub mapping: String,
    /// The lowest host port it binds; `None` when podman picks one.
    pub host_port: Option<u16>,
}

/// A host path podman opens as the user: a bind-mount source or an environment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathUse {
    /// Who needs it, for a person: ``container `web` `` or ``pod `shop` ``.
    pub owner: String,
    pub path: String,
    /// `bind mount` or `environment file`.
    pub what: &'static str,
}

/// What the inventory asks of the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Needs {
    pub ports: Vec<PortUse>,
    pub paths: Vec<PathUse>,
}

/// Whether the user can use a host path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Readable,
    Unreadable,
    Missing,
}

/// The host's facts about the user, as [`gather`] finds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootlessFacts {
    pub user: String,
    pub uid: u32,
    /// Root installs for the user (`--for-user`): install drives the user's systemd from outside,
    /// which only runs while the user lingers or is logged in.
    pub for_user: bool,
    pub linger: bool,
    /// `/etc/subuid` and `/etc/subgid` (empty when missing).
    pub subuid: String,
    pub subgid: String,
    /// `net.ipv4.ip_unprivileged_port_start` (1024 when it cannot be read: the kernel default).
    pub unprivileged_port_start: u16,
    /// Each path of [`Needs::paths`], in order.
    pub access: Vec<(String, Access)>,
}

/// The ports and host paths of every container and pod (a pod publishes its members' ports and
/// mounts its volumes into every member).
pub fn needs(model: &Model) -> Needs {
    let mut out = Needs::default();
    for c in &model.containers {
        let owner = format!("container `{}`", c.name);
        add_uses(&mut out, &owner, &c.ports, &c.mounts);
        for f in &c.environment_files {
            out.paths.push(PathUse {
                owner: owner.clone(),
                path: f.raw.clone(),
                what: "environment file",
            });
        }
    }
    for p in &model.pods {
        add_uses(&mut out, &format!("pod `{}`", p.name), &p.ports, &p.mounts);
    }
    out
}

/// The published ports and bind-mount sources of one container or pod.
fn add_uses(out: &mut Needs, owner: &str, ports: &[String], mounts: &[Mount]) {
    for p in ports {
        out.ports.push(PortUse {
            owner: owner.to_string(),
            mapping: p.clone(),
            host_port: lowest_host_port(p),
        });
    }
    for m in mounts {
        if let Mount::Bind { source, .. } = m {
            out.paths.push(PathUse {
                owner: owner.to_string(),
                path: source.raw.clone(),
                what: "bind mount",
            });
        }
    }
}

/// The lowest host port a `[[IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL]` mapping binds.
pub fn lowest_host_port(mapping: &str) -> Option<u16> {
    let spec = mapping.split('/').next().unwrap_or(mapping);
    // drop a bracketed IPv6 address, then count the `:`-separated parts
    let spec = match spec.strip_prefix('[') {
        Some(rest) => rest.split_once("]:").map_or(rest, |(_, r)| r),
        None => spec,
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let host = match parts.as_slice() {
        [_container] => return None,
        [host, _] => *host,
        [_ip, host, _] => *host,
        _ => return None,
    };
    host.split('-').next().and_then(|p| p.parse().ok())
}

/// Whether a `/etc/subuid`-style file gives the user (by name or UID) a range.
pub fn has_subid_range(text: &str, user: &str, uid: u32) -> bool {
    let uid = uid.to_string();
    text.lines().any(|line| {
        let f: Vec<&str> = line.trim().split(':').collect();
        f.len() == 3
            && (f[0] == user || f[0] == uid)
            && f[2].parse::<u64>().is_ok_and(|count| count > 0)
    })
}

/// The first ID after every range of a `/etc/subuid`-style file, at least 100000: where a new
/// 65536-ID range fits.
pub fn free_subid_start(text: &str) -> u64 {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim().split(':').collect();
            let start: u64 = f.get(1)?.parse().ok()?;
            let count: u64 = f.get(2)?.parse().ok()?;
            Some(start + count)
        })
        .fold(100_000, u64::max)
}

fn finding(id: &'static str, level: Level, what: String, why: &str, fix: String) -> Finding {
    Finding {
        id,
        level,
        what,
        why: why.to_string(),
        fix,
    }
}

/// Every problem, each with its fix; empty when the user is ready.
pub fn check(facts: &RootlessFacts, needs: &Needs) -> Vec<Finding> {
    let mut out = Vec::new();
    check_linger(facts, &mut out);
    check_subids(facts, &mut out);
    check_ports(facts, needs, &mut out);
    check_paths(facts, needs, &mut out);
    out
}

fn check_linger(facts: &RootlessFacts, out: &mut Vec<Finding>) {
    if facts.linger {
        return;
    }
    // Root drives the user's systemd from outside: without linger it runs only while the user is
    // logged in, so install may not reach it at all.
    let level = if facts.for_user {
        Level::Error
    } else {
        Level::Warning
    };
    out.push(finding(
        "rootless-linger",
        level,
        format!("user `{}` does not linger", facts.user),
        "the user's systemd, and every container with it, stops at logout and does not start at boot",
        format!(
            "sudo loginctl enable-linger {}   # NixOS: users.users.{}.linger = true;",
            facts.user, facts.user
        ),
    ));
}

fn check_subids(facts: &RootlessFacts, out: &mut Vec<Finding>) {
    let missing: Vec<&str> = [
        ("/etc/subuid", &facts.subuid),
        ("/etc/subgid", &facts.subgid),
    ]
    .into_iter()
    .filter(|(_, text)| !has_subid_range(text, &facts.user, facts.uid))
    .map(|(file, _)| file)
    .collect();
    if missing.is_empty() {
        return;
    }
    let start = free_subid_start(&facts.subuid).max(free_subid_start(&facts.subgid));
    let end = start + 65_535;
    out.push(finding(
        "rootless-subid",
        Level::Error,
        format!(
            "user `{}` has no range in {}",
            facts.user,
            missing.join(" or ")
        ),
        "podman maps the users of an image to the user's subordinate IDs: without a range, images with more than one user fail to start",
        format!(
            "sudo usermod --add-subuids {start}-{end} --add-subgids {start}-{end} {}   # NixOS: users.users.{}.autoSubUidGidRange = true;",
            facts.user, facts.user
        ),
    ));
}

fn check_ports(facts: &RootlessFacts, needs: &Needs, out: &mut Vec<Finding>) {
    let limit = facts.unprivileged_port_start;
    for p in &needs.ports {
        let Some(port) = p.host_port.filter(|port| *port < limit) else {
            continue;
        };
        out.push(finding(
            "rootless-port",
            Level::Error,
            format!(
                "{} publishes `{}`: host port {port} is below net.ipv4.ip_unprivileged_port_start ({limit})",
                p.owner, p.mapping
            ),
            "a rootless container cannot bind a privileged port: its start would fail",
            format!(
                "publish a port at or above {limit} (e.g. `{}`), or let users bind from {port}: sudo sysctl -w net.ipv4.ip_unprivileged_port_start={port}, kept in /etc/sysctl.d/   # NixOS: boot.kernel.sysctl.\"net.ipv4.ip_unprivileged_port_start\" = {port};",
                suggest_port(&p.mapping, port, limit)
            ),
        ));
    }
}

/// The mapping with its host port moved out of the privileged range (`80:80` → `8080:80`).
fn suggest_port(mapping: &str, port: u16, limit: u16) -> String {
    let moved = port
        .checked_add(8000)
        .filter(|m| *m >= limit)
        .unwrap_or(limit);
    mapping.replacen(&format!("{port}:"), &format!("{moved}:"), 1)
}

fn check_paths(facts: &RootlessFacts, needs: &Needs, out: &mut Vec<Finding>) {
    for (p, (_, access)) in needs.paths.iter().zip(&facts.access) {
        let (level, what, why, fix) = match access {
            Access::Readable => continue,
            Access::Missing => (
                Level::Warning,
                "does not exist",
                "podman refuses to start a container whose bind-mount source or environment file is missing",
                format!(
                    "sudo install -d -o {0} -g {0} {1}   # or create it before the container starts",
                    facts.user, p.path
                ),
            ),
            Access::Unreadable => (
                Level::Error,
                "cannot be read by",
                "rootless podman opens it as the user: the container would fail to start, or see nothing",
                format!(
                    "sudo chown -R {0}: {1}   # or keep the owner and grant access: sudo setfacl -R -m u:{0}:rX {1}",
                    facts.user, p.path
                ),
            ),
        };
        let what = match access {
            Access::Missing => format!("{} `{}` of {} {what}", p.what, p.path, p.owner),
            _ => format!(
                "{} `{}` of {} {what} user `{}`",
                p.what, p.path, p.owner, facts.user
            ),
        };
        out.push(finding("rootless-path", level, what, why, fix));
    }
}

/// Reads the host's facts about `account` for what the inventory `needs`. `for_user`: root
/// installs for the user, so readability is checked by running `test` as the user.
pub fn gather(account: &Account, for_user: bool, needs: &Needs) -> RootlessFacts {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let port_start = read("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .trim()
        .parse()
        .unwrap_or(1024);
    RootlessFacts {
        user: account.name.clone(),
        uid: account.uid,
        for_user,
        linger: Path::new("/var/lib/systemd/linger")
            .join(&account.name)
            .exists(),
        subuid: read("/etc/subuid"),
        subgid: read("/etc/subgid"),
        unprivileged_port_start: port_start,
        access: needs
            .paths
            .iter()
            .map(|p| {
                (
                    p.path.clone(),
                    access(account, for_user, Path::new(&p.path)),
                )
            })
            .collect(),
    }
}

/// Whether the user can read `path` (and list it, for a directory): the kernel decides
/// (`access(2)` as the user, or `test` run as the user by `runuser` when root asks).
fn access(account: &Account, for_user: bool, path: &Path) -> Access {
    if std::fs::symlink_metadata(path).is_err() {
        // root sees everything: missing for root is missing; a user may only lack the way there
        return if for_user || path_is_missing_for_sure(path) {
            Access::Missing
        } else {
            Access::Unreadable
        };
    }
    let readable = if for_user {
        std::process::Command::new("runuser")
            .args(["-u", &account.name, "--", "sh", "-c"])
            .arg(r#"test -r "$1" && { test ! -d "$1" || test -x "$1"; }"#)
            .arg("sh")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
    } else {
        access_self(path)
    };
    if readable {
        Access::Readable
    } else {
        Access::Unreadable
    }
}

/// Whether a path is missing (its parent can be listed, and has no such entry).
fn path_is_missing_for_sure(path: &Path) -> bool {
    path.parent()
        .is_some_and(|parent| std::fs::read_dir(parent).is_ok())
}

/// `access(2)` for this process: read, and search for a directory.
fn access_self(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mode = if path.is_dir() {
        libc::R_OK | libc::X_OK
    } else {
        libc::R_OK
    };
    // SAFETY: c_path is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(c_path.as_ptr(), mode) == 0 }
}

/// The checks for a rootless scope; none for the system's.
pub fn check_scope(scope: &Scope, model: &Model) -> Vec<Finding> {
    let Some(account) = scope.account() else {
        return Vec::new();
    };
    let needs = needs(model);
    let facts = gather(account, matches!(scope, Scope::ForUser(_)), &needs);
    check(&facts, &needs)
}

#[cfg(test)]
#[path = "rootless/tests.rs"]
mod tests;
