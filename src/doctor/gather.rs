//! The I/O edge of `quadgen doctor`: runs podman, systemctl, nft and iptables-save, and reads
//! files, into a [`HostFacts`]. Reads only; a command that is missing or fails becomes a fact.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{
    HostFacts, Mount, NetworkFacts, Probe, RootlessUser, StorageFacts, SubnetFacts, TimerFacts,
};
use crate::install::manifest::Manifest;
use crate::unit::UnitKind;

/// Runs a program: `None` when it is not installed, `Err` with its stderr when it fails.
fn probe(program: &str, args: &[&str]) -> Probe {
    match Command::new(program).args(args).output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(e.to_string())),
        Ok(o) if o.status.success() => Some(Ok(String::from_utf8_lossy(&o.stdout).into_owned())),
        Ok(o) => Some(Err(format!(
            "{} ({})",
            String::from_utf8_lossy(&o.stderr).trim(),
            o.status
        ))),
    }
}

fn ok_text(p: Probe) -> Option<String> {
    p.and_then(Result::ok)
}

/// Gathers every fact. `root` is the quadlet directory whose manifest names quadgen's networks.
pub fn gather(root: &Path) -> HostFacts {
    let nixos = Path::new("/etc/NIXOS").exists()
        || std::fs::read_to_string("/etc/os-release")
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "ID=nixos"));
    let podman_version = ok_text(probe(
        "podman",
        &["version", "--format", "{{.Client.Version}}"],
    ))
    .map(|v| v.trim().to_string())
    .filter(|v| !v.is_empty());
    HostFacts {
        nixos,
        networks: networks(root),
        podman_version,
        nft: probe("nft", &["-j", "list", "ruleset"]),
        iptables: probe("iptables-save", &[]),
        ip6tables: probe("ip6tables-save", &[]),
        timers: timers(),
        storage: storage(),
        mounts: std::fs::read_to_string("/proc/self/mountinfo")
            .map(|t| parse_mountinfo(&t))
            .unwrap_or_default(),
        rootless_users: rootless_users(),
        registries_conf: registries_conf(Path::new("/etc/containers")),
        crontabs: crontabs(Path::new("/")),
    }
}

/// Network names quadgen installed, from the manifest in `root`.
fn manifest_networks(root: &Path) -> Vec<String> {
    let Ok(Some(m)) = Manifest::load(root) else {
        return Vec::new();
    };
    m.files
        .values()
        .filter(|r| r.kind == UnitKind::Network)
        .filter_map(|r| r.entry.strip_prefix("networks.").map(str::to_string))
        .collect()
}

fn networks(root: &Path) -> Result<Vec<NetworkFacts>, String> {
    let names = match probe("podman", &["network", "ls", "--quiet"]) {
        None => return Err("podman is not installed".into()),
        Some(r) => r?,
    };
    let names: Vec<&str> = names.split_whitespace().collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["network", "inspect"];
    args.extend(names);
    let json = probe("podman", &args).ok_or("podman is not installed")??;
    Ok(parse_networks(&json, &manifest_networks(root)))
}

/// Parses `podman network inspect` output; `ours` names quadgen's networks.
pub fn parse_networks(json: &str, ours: &[String]) -> Vec<NetworkFacts> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    items
        .into_iter()
        .map(|raw| {
            let s = |k: &str| {
                raw.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            let subnets = raw
                .get("subnets")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| {
                            Some(SubnetFacts {
                                subnet: text(s, "subnet")?,
                                gateway: text(s, "gateway"),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let name = s("name");
            let interface = s("network_interface");
            NetworkFacts {
                ours: ours.contains(&name) || interface.starts_with("qg-"),
                driver: s("driver"),
                dns_enabled: raw
                    .get("dns_enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                subnets,
                name,
                interface,
                raw,
            }
        })
        .collect()
}

/// Every `argv[]=` of a `systemctl show -p ExecStart` value, joined by spaces.
pub fn parse_exec(value: &str) -> Vec<String> {
    value
        .split("argv[]=")
        .skip(1)
        .map(|rest| {
            rest.split(" ;")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

/// `systemctl show` blocks, as key/value maps in order.
fn show(props: &str, units: &[String]) -> Vec<std::collections::BTreeMap<String, String>> {
    if units.is_empty() {
        return Vec::new();
    }
    let mut args = vec!["show", "-p", props];
    args.extend(units.iter().map(String::as_str));
    let Some(text) = ok_text(probe("systemctl", &args)) else {
        return Vec::new();
    };
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| {
            b.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn timers() -> Vec<TimerFacts> {
    let list = ok_text(probe(
        "systemctl",
        &[
            "list-units",
            "--all",
            "--type=timer",
            "--plain",
            "--no-legend",
            "--no-pager",
        ],
    ))
    .unwrap_or_default();
    let mut names: Vec<String> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|u| u.ends_with(".timer"))
        .map(str::to_string)
        .collect();
    // Not loaded when disabled and never started: still worth reporting.
    if !names.iter().any(|n| n == "podman-auto-update.timer") {
        names.push("podman-auto-update.timer".into());
    }
    let mut out = Vec::new();
    for block in show(
        "Id,LoadState,UnitFileState,ActiveState,NextElapseUSecRealtime,Triggers",
        &names,
    ) {
        let get = |k: &str| block.get(k).cloned().unwrap_or_default();
        if get("LoadState") == "not-found" {
            continue;
        }
        out.push(TimerFacts {
            timer: get("Id"),
            unit_file_state: get("UnitFileState"),
            active_state: get("ActiveState"),
            next_elapse: get("NextElapseUSecRealtime"),
            service: get("Triggers")
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
            commands: Vec::new(),
            scripts: Vec::new(),
        });
    }
    let services: Vec<String> = out.iter().map(|t| t.service.clone()).collect();
    let blocks = show("Id,ExecStart,ExecStartPre,ExecStartPost", &services);
    for (t, block) in out.iter_mut().zip(blocks) {
        for key in ["ExecStartPre", "ExecStart", "ExecStartPost"] {
            t.commands.extend(parse_exec(
                block.get(key).map(String::as_str).unwrap_or_default(),
            ));
        }
        // A NixOS `script =` unit runs a store path: read the script (small text files only).
        for cmd in &t.commands {
            let Some(program) = cmd.split_whitespace().next() else {
                continue;
            };
            let Ok(meta) = std::fs::metadata(program) else {
                continue;
            };
            if meta.len() > 256 * 1024 {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(program) {
                if !text.contains('\0') {
                    t.scripts.push((program.to_string(), text));
                }
            }
        }
    }
    out
}

fn storage() -> Option<StorageFacts> {
    let json = ok_text(probe("podman", &["info", "--format", "json"]))?;
    let v: Value = serde_json::from_str(&json).ok()?;
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut facts = StorageFacts {
        driver: s("/store/graphDriverName"),
        graph_root: s("/store/graphRoot"),
        rootless: v
            .pointer("/host/security/rootless")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        zfs_acltype: None,
    };
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default();
    if let Some(m) = super::checks::mount_of(&mounts, &facts.graph_root) {
        if m.fstype == "zfs" {
            facts.zfs_acltype = ok_text(probe(
                "zfs",
                &["get", "-H", "-o", "value", "acltype", &m.source],
            ))
            .map(|a| a.trim().to_string());
        }
    }
    Some(facts)
}

/// Parses `/proc/self/mountinfo`.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let unescape = |s: &str| {
        s.replace("\\040", " ")
            .replace("\\011", "\t")
            .replace("\\012", "\n")
            .replace("\\134", "\\")
    };
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            Some(Mount {
                mount_point: unescape(mount_point),
                fstype: r.next()?.to_string(),
                source: unescape(r.next().unwrap_or_default()),
            })
        })
        .collect()
}

/// Whether a directory holds quadlet units.
fn has_units(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            [
                ".container",
                ".pod",
                ".kube",
                ".network",
                ".volume",
                ".image",
                ".build",
            ]
            .iter()
            .any(|ext| name.ends_with(ext))
        })
    })
}

fn rootless_users() -> Vec<RootlessUser> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let mut out = Vec::new();
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        let (Some(name), Some(uid), Some(home)) = (f.first(), f.get(2), f.get(5)) else {
            continue;
        };
        let Ok(uid_n) = uid.parse::<u32>() else {
            continue;
        };
        if uid_n < 1000 || uid_n == 65534 {
            continue;
        }
        let dirs = [
            Path::new(home).join(".config/containers/systemd"),
            Path::new("/etc/containers/systemd/users").join(uid),
        ];
        if let Some(dir) = dirs.iter().find(|d| has_units(d)) {
            out.push(RootlessUser {
                user: name.to_string(),
                units_dir: dir.display().to_string(),
                linger: Path::new("/var/lib/systemd/linger").join(name).exists(),
            });
        }
    }
    out
}

/// Every cron table under `root` (`/etc/crontab`, `/etc/cron.d/*`, the users' tables) and the
/// scripts run by `/etc/cron.{hourly,daily,weekly,monthly}`, sorted by path; unreadable ones are
/// left out.
pub(super) fn crontabs(root: &Path) -> Vec<(String, String)> {
    let mut files = vec![root.join("etc/crontab")];
    for dir in [
        "etc/cron.d",
        "etc/cron.hourly",
        "etc/cron.daily",
        "etc/cron.weekly",
        "etc/cron.monthly",
        "var/spool/cron/crontabs",
        "var/spool/cron",
    ] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            let mut d: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            d.sort();
            files.extend(d.into_iter().filter(|p| p.is_file()));
        }
    }
    read_texts(files)
}

/// Each readable file of `paths` as (path, text), in order; unreadable ones are left out.
fn read_texts(paths: Vec<std::path::PathBuf>) -> Vec<(String, String)> {
    paths
        .into_iter()
        .filter_map(|p| {
            std::fs::read_to_string(&p)
                .ok()
                .map(|t| (p.display().to_string(), t))
        })
        .collect()
}

/// `registries.conf` then `registries.conf.d/*.conf`, sorted, as containers-registries.conf(5)
/// reads them.
fn registries_conf(etc: &Path) -> Vec<(String, String)> {
    let mut files = vec![etc.join("registries.conf")];
    if let Ok(entries) = std::fs::read_dir(etc.join("registries.conf.d")) {
        let mut d: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        d.sort();
        files.extend(d);
    }
    read_texts(files)
}
