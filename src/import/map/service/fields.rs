//! The Compose service keys that have a first-class container field (security, resources,
//! runtime): each value written as that field, item by item, in the syntax the inventory accepts
//! (checked by the inventory's own validator); an item it refuses stays a podman argument, with a
//! note giving the inventory's reason.

use std::fmt::Write as _;

use super::{Args, Svc};
use crate::import::map::probe::{self, Context};
use crate::import::map::{Out, show};
use crate::import::toml_out::{key, list, string};
use crate::import::yaml::{Loc, Node, Value};

/// Compose keys read here.
pub(super) const KEYS: &[&str] = &[
    "cap_add",
    "cap_drop",
    "privileged",
    "security_opt",
    "read_only",
    "tmpfs",
    "shm_size",
    "sysctls",
    "ulimits",
    "hostname",
    "dns",
    "dns_search",
    "dns_opt",
    "extra_hosts",
    "group_add",
    "working_dir",
    "init",
    "stop_signal",
    "userns_mode",
    "logging",
    "mem_limit",
    "cpus",
    "pids_limit",
    "deploy",
];

/// Lists: (Compose key, inventory field, podman flag).
const LISTS: &[(&str, &str, &str)] = &[
    ("cap_add", "cap_add", "--cap-add"),
    ("cap_drop", "cap_drop", "--cap-drop"),
    ("dns", "dns", "--dns"),
    ("dns_search", "dns_search", "--dns-search"),
    ("dns_opt", "dns_options", "--dns-option"),
    ("group_add", "group_add", "--group-add"),
];

/// Strings: (Compose key, inventory field, podman flag).
const STRINGS: &[(&str, &str, &str)] = &[
    ("hostname", "hostname", "--hostname"),
    ("working_dir", "working_dir", "--workdir"),
    ("stop_signal", "stop_signal", "--stop-signal"),
    ("userns_mode", "userns", "--userns"),
    ("shm_size", "shm_size", "--shm-size"),
];

/// Switches, written when `true`: (Compose key, inventory field, podman flag).
const SWITCHES: &[(&str, &str, &str)] = &[
    ("privileged", "privileged", "--privileged"),
    ("read_only", "read_only", "--read-only"),
    ("init", "init", "--init"),
];

/// The shape of an inventory field, for writing its accepted items.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `field = value` (one item).
    Value,
    /// `field = [item, …]`.
    List,
    /// `field = { key = value, … }`.
    Table,
}

/// One item of a field: its TOML (a value, or `key = value` in a table), the podman words that
/// say the same, and the Compose key and place it comes from.
struct Item {
    toml: String,
    words: Vec<String>,
    compose: String,
    loc: Loc,
}

/// One inventory field made from a Compose key.
struct Field {
    /// The Compose key of its items, for notes (`security_opt`, `deploy.resources.limits.memory`).
    compose: String,
    loc: Loc,
    name: &'static str,
    shape: Shape,
    items: Vec<Item>,
}

impl Field {
    fn new(compose: &str, n: &Node, name: &'static str, shape: Shape) -> Self {
        Self {
            compose: compose.to_string(),
            loc: n.loc.clone(),
            name,
            shape,
            items: Vec::new(),
        }
    }

    fn item(self, toml: String, words: Vec<String>) -> Self {
        let (compose, loc) = (self.compose.clone(), self.loc.clone());
        self.item_from(&compose, &loc, toml, words)
    }

    /// An item from another Compose key than the field's (a tmpfs `volumes` entry).
    fn item_from(mut self, compose: &str, loc: &Loc, toml: String, words: Vec<String>) -> Self {
        self.items.push(Item {
            toml,
            words,
            compose: compose.to_string(),
            loc: loc.clone(),
        });
        self
    }

    fn line(&self, items: &[&Item]) -> String {
        let encoded: Vec<String> = items.iter().map(|i| i.toml.clone()).collect();
        match self.shape {
            Shape::Value => format!("{} = {}", self.name, encoded.join("")),
            Shape::List => format!("{} = {}", self.name, list(&encoded)),
            Shape::Table => format!("{} = {{ {} }}", self.name, encoded.join(", ")),
        }
    }
}

/// Writes the fields of every key in [`KEYS`] the service sets; refused items go to `args`.
pub(super) fn write(s: &Svc<'_>, buf: &mut String, out: &mut Out, args: &mut Args) {
    let mut fields = Vec::new();
    simple_fields(s, &mut fields);
    fields.extend(tmpfs(s));
    security_opt(s, buf, out, &mut fields, args);
    maps(s, &mut fields);
    resources(s, buf, out, &mut fields);
    let ctx = Context {
        container: match s.svc.get("network_mode").and_then(Node::as_str) {
            Some(m @ ("host" | "none")) => format!("network_mode = {}\n", string(m)),
            _ => String::new(),
        },
        tables: String::new(),
    };
    for f in fields {
        emit(s, buf, out, args, &ctx, f);
    }
}

/// Writes the items of `f` the inventory accepts; the others become podman words with a note.
fn emit(s: &Svc<'_>, buf: &mut String, out: &mut Out, args: &mut Args, ctx: &Context, f: Field) {
    let sref = Some(s.name.as_str());
    let mut accepted: Vec<&Item> = Vec::new();
    for item in &f.items {
        match probe::refusal(ctx, &f.line(&[item])) {
            None => accepted.push(item),
            Some(why) if item.words.iter().any(|w| w.chars().any(char::is_control)) => {
                out.not_carried(buf, &item.loc, sref, &item.compose, &why)
            }
            Some(why) => {
                out.note(
                    buf,
                    &item.loc,
                    sref,
                    &item.compose,
                    &format!(
                        "`{}` stays a podman argument: the inventory's `{}` refuses it: {why}",
                        item.words.join(" "),
                        f.name
                    ),
                );
                args.add(&item.compose, item.words.clone());
            }
        }
    }
    if !accepted.is_empty() {
        let _ = writeln!(buf, "{}", f.line(&accepted));
    }
}

/// The words of a list or a single string.
fn words(n: &Node) -> Vec<String> {
    match &n.value {
        Value::Seq(items) => items.iter().filter_map(Node::scalar_string).collect(),
        _ => n.scalar_string().into_iter().collect(),
    }
}

/// Lists, strings and switches: one value, one item.
fn simple_fields(s: &Svc<'_>, fields: &mut Vec<Field>) {
    for (k, name, flag) in SWITCHES {
        if let Some(n) = s.svc.get(k).filter(|n| n.value == Value::Bool(true)) {
            fields.push(
                Field::new(k, n, name, Shape::Value).item("true".into(), vec![flag.to_string()]),
            );
        }
    }
    for (k, name, flag) in LISTS {
        if let Some(n) = s.svc.get(k) {
            let mut f = Field::new(k, n, name, Shape::List);
            for w in words(n) {
                f = f.item(string(&w), vec![format!("{flag}={w}")]);
            }
            fields.push(f);
        }
    }
    for (k, name, flag) in STRINGS {
        if let Some(v) = s.svc.get(k).and_then(|n| n.scalar_string().map(|v| (n, v))) {
            let (n, v) = v;
            fields.push(
                Field::new(k, n, name, Shape::Value).item(string(&v), vec![format!("{flag}={v}")]),
            );
        }
    }
}

/// `tmpfs` (a path or a list), and `volumes` entries of type `tmpfs` (`size`, `mode`,
/// `read_only`): one `tmpfs` field.
fn tmpfs(s: &Svc<'_>) -> Option<Field> {
    let mounts: Vec<&Node> = s
        .svc
        .get("volumes")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter(|v| v.get("type").and_then(Node::as_str) == Some("tmpfs"))
        .collect();
    let first = s.svc.get("tmpfs").or(mounts.first().copied())?;
    let mut f = Field::new("tmpfs", first, "tmpfs", Shape::List);
    for w in s.svc.get("tmpfs").map(words).unwrap_or_default() {
        f = f.item(string(&w), vec![format!("--tmpfs={w}")]);
    }
    for m in mounts {
        let target = m.get("target").and_then(Node::as_str).unwrap_or_default();
        let mut opts = Vec::new();
        if m.get("read_only")
            .is_some_and(|r| r.value == Value::Bool(true))
        {
            opts.push("ro".to_string());
        }
        let t = m.get("tmpfs");
        if let Some(size) = t.and_then(|t| t.get("size")).and_then(Node::scalar_string) {
            opts.push(format!("size={size}"));
        }
        if let Some(mode) = t.and_then(|t| t.get("mode")) {
            let octal = super::octal_mode(mode, s.ctx.project.normalized);
            opts.push(format!("mode={}", octal.unwrap_or_else(|| show(mode))));
        }
        let w = match opts.is_empty() {
            true => target.to_string(),
            false => format!("{target}:{}", opts.join(",")),
        };
        f = f.item_from("volumes", &m.loc, string(&w), vec![format!("--tmpfs={w}")]);
    }
    Some(f)
}

/// `security_opt`: `no-new-privileges`, `label=disable`, `label=type:T` and `seccomp=FILE` as
/// their fields (a relative profile path from the project directory, which Compose's JSON does
/// not tell); the rest as podman words.
fn security_opt(
    s: &Svc<'_>,
    buf: &mut String,
    out: &mut Out,
    fields: &mut Vec<Field>,
    args: &mut Args,
) {
    let Some(n) = s.svc.get("security_opt") else {
        return;
    };
    for opt in words(n) {
        // podman reads `KEY=VALUE`, and (deprecated) `KEY:VALUE` like Docker
        let (k, v) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => match opt.split_once(':') {
                Some((k, v)) => (k, Some(v)),
                None => (opt.as_str(), None),
            },
        };
        let word = vec![format!("--security-opt={opt}")];
        let field = |name, toml: String| {
            Some(Field::new("security_opt", n, name, Shape::Value).item(toml, word.clone()))
        };
        let f = match (k, v) {
            ("no-new-privileges", None | Some("true")) => field("no_new_privileges", "true".into()),
            ("no-new-privileges", Some("false")) => {
                fields.retain(|old| old.name != "no_new_privileges");
                None
            }
            ("label", Some("disable")) => field("security_label_disable", "true".into()),
            ("label", Some(t)) if t.starts_with("type:") => {
                field("security_label_type", string(&t["type:".len()..]))
            }
            ("seccomp", Some(p)) if p == "unconfined" || p.starts_with('/') => {
                field("seccomp_profile", string(p))
            }
            ("seccomp", Some(p)) if s.ctx.project.normalized => {
                let why = format!(
                    "the seccomp profile `{p}` is relative to the directory Compose runs in, which its JSON does not say: write the absolute path"
                );
                out.not_carried(buf, &n.loc, Some(s.name.as_str()), "security_opt", &why);
                None
            }
            ("seccomp", Some(p)) => {
                let path = crate::import::canon::resolve(&s.ctx.project.dir, p);
                field("seccomp_profile", string(&path))
            }
            _ => {
                args.add("security_opt", word.clone());
                None
            }
        };
        // A later option of the same field wins, as in Docker: one key in the inventory.
        if let Some(new) = &f {
            fields.retain(|old| old.name != new.name);
        }
        fields.extend(f);
    }
}

/// The pairs of a map, or of a list of `NAME=VALUE`, a later pair replacing an earlier one of the
/// same name (a list may repeat one; the inventory's table may not).
fn last_pairs(n: &Node) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs(n) {
        match out.iter_mut().find(|(seen, _)| *seen == k) {
            Some(pair) => pair.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// `sysctls` (a map, or a list of `NAME=VALUE`), `ulimits` (a number, or `soft`/`hard`),
/// `extra_hosts` (a list of `NAME:ADDRESS` or `NAME=ADDRESS`, or a map) and `logging`.
fn maps(s: &Svc<'_>, fields: &mut Vec<Field>) {
    let svc = s.svc;
    if let Some(n) = svc.get("sysctls") {
        let mut f = Field::new("sysctls", n, "sysctls", Shape::Table);
        for (k, v) in last_pairs(n) {
            f = f.item(
                format!("{} = {}", key(&k), string(&v)),
                vec![format!("--sysctl={k}={v}")],
            );
        }
        fields.push(f);
    }
    if let Some(n) = svc.get("ulimits") {
        let mut f = Field::new("ulimits", n, "ulimits", Shape::Table);
        for (k, v) in n.entries() {
            let limit = match (v.scalar_string(), v.get("soft"), v.get("hard")) {
                (Some(both), _, _) => both,
                (None, Some(soft), Some(hard)) => format!(
                    "{}:{}",
                    soft.scalar_string().unwrap_or_default(),
                    hard.scalar_string().unwrap_or_default()
                ),
                _ => continue,
            };
            f = f.item(
                format!("{} = {}", key(k), string(&limit)),
                vec![format!("--ulimit={k}={limit}")],
            );
        }
        fields.push(f);
    }
    if let Some(n) = svc.get("extra_hosts") {
        let mut f = Field::new("extra_hosts", n, "extra_hosts", Shape::List);
        for (host, ip) in hosts(n) {
            let entry = format!("{host}:{ip}");
            f = f.item(string(&entry), vec![format!("--add-host={entry}")]);
        }
        fields.push(f);
    }
    if let Some(n) = svc.get("logging") {
        logging(n, fields);
    }
}

/// `logging.driver` and `logging.options`.
fn logging(n: &Node, fields: &mut Vec<Field>) {
    if let Some(dn) = n.get("driver") {
        if let Some(d) = dn.as_str() {
            let field = Field::new("logging.driver", dn, "log_driver", Shape::Value);
            fields.push(field.item(string(d), vec![format!("--log-driver={d}")]));
        }
    }
    if let Some(o) = n.get("options") {
        let mut f = Field::new("logging.options", o, "log_options", Shape::Table);
        for (k, v) in o.entries() {
            let Some(v) = v.scalar_string() else { continue };
            f = f.item(
                format!("{} = {}", key(k), string(&v)),
                vec![format!("--log-opt={k}={v}")],
            );
        }
        fields.push(f);
    }
}

/// A map, or a list of `NAME=VALUE` (a bare `NAME` has an empty value).
fn pairs(n: &Node) -> Vec<(String, String)> {
    match &n.value {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), v.scalar_string().unwrap_or_default()))
            .collect(),
        _ => words(n)
            .into_iter()
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (w, String::new()),
            })
            .collect(),
    }
}

/// `extra_hosts` as (name, address) pairs: Compose writes `NAME=ADDRESS` (its normalized form),
/// `NAME:ADDRESS`, or a map of names to one or more addresses; `[v6]` loses its brackets.
fn hosts(n: &Node) -> Vec<(String, String)> {
    let unbracket = |a: &str| {
        a.strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(a)
            .to_string()
    };
    match &n.value {
        Value::Map(entries) => entries
            .iter()
            .flat_map(|(h, v)| words(v).into_iter().map(move |a| (h.clone(), a)))
            .map(|(h, a)| (h, unbracket(&a)))
            .collect(),
        _ => words(n)
            .into_iter()
            .filter_map(|w| {
                let (h, a) = w.split_once('=').or_else(|| w.split_once(':'))?;
                Some((h.to_string(), unbracket(a)))
            })
            .collect(),
    }
}

/// `mem_limit`, `cpus`, `pids_limit`, or else `deploy.resources.limits`; every other `deploy`
/// setting is not carried.
fn resources(s: &Svc<'_>, buf: &mut String, out: &mut Out, fields: &mut Vec<Field>) {
    let svc = s.svc;
    let limits = svc
        .get("deploy")
        .and_then(|d| d.get("resources"))
        .and_then(|r| r.get("limits"));
    for (k, limit, name, flag) in [
        ("mem_limit", "memory", "memory", "--memory"),
        ("cpus", "cpus", "cpus", "--cpus"),
        ("pids_limit", "pids", "pids_limit", "--pids-limit"),
    ] {
        let (compose, n) = match (svc.get(k), limits.and_then(|l| l.get(limit))) {
            (Some(n), _) => (k.to_string(), n),
            (None, Some(n)) => (format!("deploy.resources.limits.{limit}"), n),
            (None, None) => continue,
        };
        let Some(v) = n.scalar_string() else { continue };
        let toml = match (name, v.parse::<i64>()) {
            ("pids_limit", Ok(i)) => i.to_string(),
            _ => string(&v),
        };
        let f = Field::new(&compose, n, name, Shape::Value);
        fields.push(f.item(toml, vec![format!("{flag}={v}")]));
    }
    if let Some(d) = svc.get("deploy") {
        deploy_not_carried(s, d, "deploy", buf, out);
    }
}

/// Every leaf of `deploy` but the limits carried above: a warning and a comment each.
fn deploy_not_carried(s: &Svc<'_>, n: &Node, path: &str, buf: &mut String, out: &mut Out) {
    let carried = [
        "deploy.resources.limits.memory",
        "deploy.resources.limits.cpus",
        "deploy.resources.limits.pids",
    ];
    match &n.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                deploy_not_carried(s, v, &format!("{path}.{k}"), buf, out);
            }
        }
        Value::Null => {}
        _ if carried.contains(&path) => {}
        _ => {
            let why = match path.split('.').nth(1) {
                Some("replicas") => "one container runs per service".to_string(),
                _ => format!("`{path}: {}` has no inventory field", show(n)),
            };
            out.not_carried(buf, &n.loc, Some(s.name.as_str()), path, &why);
        }
    }
}
