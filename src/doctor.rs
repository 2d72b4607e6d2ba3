//! `quadgen doctor`: checks the host for the traps of the oci-containers guide and of quadlet
//! (container DNS, the firewall, the auto-update timer, prunes, storage, linger, short names), each
//! finding with the command that fixes it.
//!
//! [`gather`] is the I/O edge: it runs podman, systemctl, nft and iptables-save and reads files
//! into a plain [`HostFacts`]. [`diagnose`] is pure: facts in, [`Finding`]s out. [`render_text`]
//! and JSON print them. Nothing here changes the host.

mod checks;
pub mod firewall;
pub mod gather;
pub mod rootless;

use std::fmt::Write;

use serde::Serialize;

use crate::compile::version::PodmanVersion;
pub use checks::short_name_mode;
use checks::*;

/// How sure a finding is that something is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Broken, or will break: doctor exits non-zero.
    Error,
    /// Risky, or could not be checked.
    Warning,
    /// Checked and fine.
    Ok,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier of the check (`firewall-dns`); several findings may share one.
    pub id: &'static str,
    pub level: Level,
    /// What was found.
    pub what: String,
    /// Why it matters.
    pub why: String,
    /// The command (or NixOS option) that fixes it; empty for `ok`.
    pub fix: String,
}

/// One podman network, as `podman network inspect` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkFacts {
    pub name: String,
    pub driver: String,
    /// The bridge (`podman0`, `qg-media`).
    pub interface: String,
    pub dns_enabled: bool,
    /// Every subnet (IPv4 and IPv6) with its gateway.
    pub subnets: Vec<SubnetFacts>,
    /// Made by quadgen: in the manifest, or a `qg-` bridge.
    pub ours: bool,
    /// The inspect JSON object (written back, DNS on, by the default network's fix).
    pub raw: serde_json::Value,
}

/// A subnet of a podman network and its gateway (where aardvark-dns listens).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubnetFacts {
    pub subnet: String,
    pub gateway: Option<String>,
}

/// A command's output: `None` when the program is not installed.
pub type Probe = Option<Result<String, String>>;

/// A systemd timer and what its service runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TimerFacts {
    pub timer: String,
    /// `UnitFileState` (`enabled`, `disabled`, `static`, `linked`…).
    pub unit_file_state: String,
    /// `ActiveState` (`active` when it is scheduled).
    pub active_state: String,
    /// `NextElapseUSecRealtime` as systemctl prints it; empty when not scheduled.
    pub next_elapse: String,
    /// The service it triggers.
    pub service: String,
    /// The service's commands (`ExecStart=` argv, joined by spaces).
    pub commands: Vec<String>,
    /// Scripts those commands run (NixOS `script =` units), as (path, text).
    pub scripts: Vec<(String, String)>,
}

impl TimerFacts {
    fn enabled(&self) -> bool {
        matches!(
            self.unit_file_state.as_str(),
            "enabled"
                | "enabled-runtime"
                | "static"
                | "linked"
                | "linked-runtime"
                | "generated"
                | "indirect"
                | "alias"
        )
    }

    fn scheduled(&self) -> bool {
        self.active_state == "active"
    }
}

/// A mount, from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
}

/// Podman's storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StorageFacts {
    /// `overlay`, `btrfs`, `zfs`, `vfs`.
    pub driver: String,
    /// `/var/lib/containers/storage`.
    pub graph_root: String,
    pub rootless: bool,
    /// ZFS only: `acltype` of the dataset holding the graph root.
    pub zfs_acltype: Option<String>,
}

/// A user with rootless quadlet units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootlessUser {
    pub user: String,
    /// Where their units are.
    pub units_dir: String,
    /// `/var/lib/systemd/linger/USER` exists.
    pub linger: bool,
}

/// Everything doctor looks at, gathered once. Plain data: tests build it by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    /// NixOS: fixes are options of the configuration, not commands.
    pub nixos: bool,
    /// `podman version` (client), e.g. `5.4.2`; `None` when podman is not installed.
    pub podman_version: Option<String>,
    /// Every podman network; `Err` when they could not be listed.
    pub networks: Result<Vec<NetworkFacts>, String>,
    /// `nft -j list ruleset`.
    pub nft: Probe,
    /// `iptables-save`.
    pub iptables: Probe,
    /// `ip6tables-save`.
    pub ip6tables: Probe,
    /// Every loaded timer (podman-auto-update.timer among them when podman ships it).
    pub timers: Vec<TimerFacts>,
    pub storage: Option<StorageFacts>,
    pub mounts: Vec<Mount>,
    pub rootless_users: Vec<RootlessUser>,
    /// `registries.conf`, then `registries.conf.d/*.conf` in order, as (path, text).
    pub registries_conf: Vec<(String, String)>,
    /// cron's tables and the scripts of `/etc/cron.{hourly,daily,weekly,monthly}`, as (path, text):
    /// a prune scheduled there is as dangerous as one in a timer.
    pub crontabs: Vec<(String, String)>,
}

impl Default for HostFacts {
    fn default() -> Self {
        HostFacts {
            nixos: false,
            podman_version: None,
            networks: Ok(Vec::new()),
            nft: None,
            iptables: None,
            ip6tables: None,
            timers: Vec::new(),
            storage: None,
            mounts: Vec::new(),
            rootless_users: Vec::new(),
            registries_conf: Vec::new(),
            crontabs: Vec::new(),
        }
    }
}

/// What to check against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The Podman version the units are built for (`--podman`).
    pub target: PodmanVersion,
}

/// Every check, in a fixed order.
pub fn diagnose(facts: &HostFacts, options: &Options) -> Vec<Finding> {
    let mut out = Vec::new();
    check_podman_version(facts, options, &mut out);
    check_dns(facts, &mut out);
    check_firewall(facts, &mut out);
    check_auto_update_timer(facts, &mut out);
    check_prunes(facts, &mut out);
    check_storage(facts, &mut out);
    check_linger(facts, &mut out);
    check_short_names(facts, &mut out);
    out
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level == Level::Error)
}

/// The findings as a person reads them: problems first, then what is fine.
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| f.level);
    for f in sorted {
        let word = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Ok => "ok",
        };
        let _ = writeln!(out, "{word:<7}  [{}] {}", f.id, f.what);
        if f.level != Level::Ok {
            let _ = writeln!(out, "         why: {}", f.why);
            let mut lines = f.fix.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "         fix: {first}");
            }
            for l in lines {
                let _ = writeln!(out, "              {l}");
            }
        }
    }
    let count = |l: Level| findings.iter().filter(|f| f.level == l).count();
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} ok",
        count(Level::Error),
        count(Level::Warning),
        count(Level::Ok)
    );
    out
}

/// The JSON report.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub errors: usize,
    pub warnings: usize,
    pub findings: &'a [Finding],
}

#[cfg(test)]
mod tests;
