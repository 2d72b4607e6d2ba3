//! Resource fields: `tmpfs`, `shm_size`, `sysctls`, `ulimits`, `memory`, `cpus`, `pids_limit`.

use toml::Spanned;

use super::{Checker, span};
use crate::compile::diagnostic::{Diagnostic, did_you_mean};
use crate::compile::inventory::{self, Str, StrMap};
use crate::compile::model::{ListItem, Resources};

/// The limits podman's `--ulimit` knows (setrlimit(2), as named by podman's ulimit parser).
const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Options podman accepts in a `--tmpfs` spec without a value.
const TMPFS_FLAGS: &[&str] = &[
    "ro",
    "rw",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "atime",
    "noatime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "diratime",
    "nodiratime",
    "sync",
    "async",
    "dirsync",
    "tmpcopyup",
    "notmpcopyup",
    "U",
];

/// Options podman accepts in a `--tmpfs` spec with a value.
const TMPFS_KEYS: &[&str] = &["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"];

/// The sysctls podman lets a container set: those of namespaces the container has its own of.
const NAMESPACED_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Whether `sysctls` takes the sysctl `name`: a sysctl name of the container's own namespaces.
pub(super) fn is_container_sysctl(name: &str) -> bool {
    is_sysctl_name(name)
        && (name.starts_with("net.")
            || name.starts_with("fs.mqueue.")
            || NAMESPACED_SYSCTLS.contains(&name))
}

fn is_sysctl_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
}

impl Checker {
    /// The resource fields of a container.
    pub(super) fn resources(&mut self, c: &inventory::Container) -> Resources {
        Resources {
            tmpfs: self.each_item(c.tmpfs.as_ref(), "--tmpfs", Self::tmpfs),
            shm_size: c.shm_size.as_ref().and_then(|v| self.size(v, "shm_size")),
            sysctls: self.map_items(c.sysctls.as_ref(), "--sysctl", Self::sysctl),
            ulimits: self.map_items(c.ulimits.as_ref(), "--ulimit", Self::ulimit),
            memory: c.memory.as_ref().and_then(|v| self.size(v, "memory")),
            cpus: c.cpus.as_ref().and_then(|v| self.cpus(v)),
            pids_limit: c.pids_limit.as_ref().and_then(|v| self.pids_limit(v)),
        }
    }

    /// Each entry of a list, checked by `check` (which returns the text to write), as items of
    /// the option `flag`.
    pub(super) fn each_item(
        &mut self,
        list: Option<&Spanned<Vec<Str>>>,
        flag: &str,
        mut check: impl FnMut(&mut Self, &Str) -> Option<String>,
    ) -> Vec<ListItem> {
        let mut out = Vec::new();
        for v in list.map(Spanned::get_ref).into_iter().flatten() {
            if let Some(text) = check(self, v) {
                out.extend(self.item(v, flag, &text));
            }
        }
        out
    }

    /// Each `KEY = VALUE` of a map, checked by `check` (which returns the text to write), as
    /// items of the option `flag`.
    pub(super) fn map_items(
        &mut self,
        map: Option<&StrMap>,
        flag: &str,
        mut check: impl FnMut(&mut Self, &Str, &Str) -> Option<String>,
    ) -> Vec<ListItem> {
        let mut out = Vec::new();
        for (k, v) in map.into_iter().flatten() {
            if let Some(text) = check(self, k, v) {
                out.extend(self.item(v, flag, &text));
            }
        }
        out
    }

    fn item(&mut self, at: &Str, flag: &str, text: &str) -> Option<ListItem> {
        let item = ListItem::new(flag, text);
        if item.is_none() {
            self.err(
                span(at),
                format!(
                    "`{}` cannot be written on a command line",
                    text.escape_debug()
                ),
            );
        }
        item
    }

    /// `PATH[:OPTIONS]`: an absolute container path and options podman knows.
    fn tmpfs(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let (path, options) = match v.split_once(':') {
            Some((p, o)) => (p, Some(o)),
            None => (v.as_str(), None),
        };
        if let Err(why) = container_path(path) {
            self.err_help(
                span(value),
                format!("tmpfs `{}`: {why}", v.escape_debug()),
                "write `PATH[:OPTIONS]`, like `/run:size=64m,mode=1777`",
            );
            return None;
        }
        for option in options.into_iter().flat_map(|o| o.split(',')) {
            if let Err(why) = tmpfs_option(option) {
                let mut d =
                    Diagnostic::error(span(value), format!("tmpfs `{}`: {why}", v.escape_debug()))
                        .with_help(format!(
                            "options are {} and {}",
                            TMPFS_KEYS
                                .iter()
                                .map(|k| format!("`{k}=`"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            TMPFS_FLAGS.join(", ")
                        ));
                let name = option.split('=').next().unwrap_or_default();
                let known = TMPFS_FLAGS.iter().chain(TMPFS_KEYS).copied();
                if let Some(s) = did_you_mean(name, known) {
                    d = d.with_label(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                return None;
            }
        }
        Some(v.clone())
    }

    /// A size like `64m` or `1g`, as podman reads it.
    pub(super) fn size(&mut self, value: &Str, what: &str) -> Option<String> {
        let v = value.get_ref();
        if is_size(v) {
            return Some(v.clone());
        }
        self.err_help(
            span(value),
            format!("{what} `{}` is not a size", v.escape_debug()),
            "write a number of bytes with an optional unit b, k, m or g, like `512m` or `1g`",
        );
        None
    }

    /// `NAME = VALUE` for a sysctl of the container's own namespaces.
    fn sysctl(&mut self, name: &Str, value: &Str) -> Option<String> {
        let n = name.get_ref();
        if !is_sysctl_name(n) {
            self.err(
                span(name),
                format!("`{}` is not a sysctl name", n.escape_debug()),
            );
            return None;
        }
        if !is_container_sysctl(n) {
            self.err_help(
                span(name),
                format!("podman refuses the sysctl `{n}`: it is not namespaced, so it would change the whole host"),
                "a container may set `net.*`, `fs.mqueue.*` and the IPC sysctls `kernel.msg*`, `kernel.sem`, `kernel.shm*`; set host sysctls in the host's configuration",
            );
            return None;
        }
        if value.get_ref().is_empty() {
            self.err(span(value), format!("sysctl `{n}` has an empty value"));
            return None;
        }
        Some(format!("{n}={}", value.get_ref()))
    }

    /// `NAME = "SOFT[:HARD]"`: a limit podman knows, whole numbers or -1 (unlimited).
    fn ulimit(&mut self, name: &Str, value: &Str) -> Option<String> {
        let n = name.get_ref();
        if !ULIMITS.contains(&n.as_str()) {
            let mut d = Diagnostic::error(
                span(name),
                format!("`{}` is not a ulimit podman knows", n.escape_debug()),
            )
            .with_help(format!("use one of: {}", ULIMITS.join(", ")));
            if let Some(s) = did_you_mean(n, ULIMITS.iter().copied()) {
                d = d.with_label(format!("did you mean `{s}`?"));
            }
            self.diags.push(d);
            return None;
        }
        let v = value.get_ref();
        if n == "nofile" && v.split(':').any(|l| l == "-1") {
            self.err_help(
                span(value),
                "`nofile` cannot be unlimited: the kernel caps open files at `fs.nr_open`, and the container does not start (crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted)",
                "write a number, like `65535:65535`",
            );
            return None;
        }
        if let Err(why) = ulimit_value(v) {
            self.err_help(
                span(value),
                format!("ulimit `{n}` = `{}`: {why}", v.escape_debug()),
                "write `SOFT:HARD` or one number for both, like `65535:65535` or `4096`; -1 is unlimited",
            );
            return None;
        }
        Some(format!("{n}={v}"))
    }

    /// A positive decimal number of CPUs, like `1.5`.
    fn cpus(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let ok = decimal(v) && v.chars().any(|c| c.is_ascii_digit() && c != '0');
        if !ok {
            self.err_help(
                span(value),
                format!("cpus `{}` is not a number of CPUs", v.escape_debug()),
                "write a positive decimal number, like `\"1.5\"` or `\"2\"`",
            );
            return None;
        }
        Some(v.clone())
    }

    /// A positive number of processes, or -1 for no limit.
    fn pids_limit(&mut self, value: &Spanned<i64>) -> Option<i64> {
        let n = *value.get_ref();
        if n == -1 || n > 0 {
            return Some(n);
        }
        self.err_help(
            span(value),
            format!("pids_limit {n} is not a limit"),
            "write a positive number of processes, or -1 for no limit",
        );
        None
    }
}

/// A container path that quadlet and podman read the same: absolute, no `.`/`..` parts, and no
/// character that separates fields or words.
pub(super) fn container_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` is not an absolute container path"));
    }
    if path.split('/').any(|c| c == "." || c == "..") {
        return Err(format!("`{path}` contains `.` or `..`"));
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | ',' | '"' | '\'' | '\\'))
    {
        return Err(format!("the path contains {c:?}"));
    }
    Ok(())
}

fn tmpfs_option(option: &str) -> Result<(), String> {
    let (key, value) = match option.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (option, None),
    };
    let number = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit());
    let ok = match (key, value) {
        (k, None) => TMPFS_FLAGS.contains(&k),
        ("size", Some(v)) => is_size(v) || (v.ends_with('%') && number(&v[..v.len() - 1])),
        ("mode", Some(v)) => {
            (3..=4).contains(&v.len()) && v.chars().all(|c| matches!(c, '0'..='7'))
        }
        ("uid" | "gid", Some(v)) => number(v),
        ("nr_inodes" | "nr_blocks", Some(v)) => is_size(v),
        _ => false,
    };
    if ok {
        Ok(())
    } else if option.is_empty() {
        Err("an option is empty".into())
    } else {
        Err(format!("`{option}` is not a tmpfs option podman knows"))
    }
}

/// A size as podman's `RAMInBytes` reads it, more strictly: digits, an optional fraction, an
/// optional unit `b`, `k`, `m`, `g`, `t` or `p` (any case, optionally followed by `b` or `ib`).
pub(super) fn is_size(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let number_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_end);
    let unit_ok = matches!(
        unit,
        "" | "b"
            | "k"
            | "m"
            | "g"
            | "t"
            | "p"
            | "kb"
            | "mb"
            | "gb"
            | "tb"
            | "pb"
            | "kib"
            | "mib"
            | "gib"
            | "tib"
            | "pib"
    );
    unit_ok && decimal(number) && number.chars().any(|c| c.is_ascii_digit() && c != '0')
}

/// Digits with at most one `.` between digits.
fn decimal(v: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match v.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(v),
    }
}

fn ulimit_value(v: &str) -> Result<(), String> {
    let limit = |s: &str| -> Result<i64, String> {
        match s.parse::<i64>() {
            Ok(n) if n >= -1 => Ok(n),
            _ => Err(format!("`{s}` is not a whole number or -1")),
        }
    };
    let (soft, hard) = match v.split_once(':') {
        Some((s, h)) => (limit(s)?, limit(h)?),
        None => {
            let n = limit(v)?;
            (n, n)
        }
    };
    if hard != -1 && (soft == -1 || soft > hard) {
        return Err("the soft limit is above the hard limit".into());
    }
    Ok(())
}
