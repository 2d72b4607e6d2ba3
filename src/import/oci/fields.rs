//! One container's inventory fields as they are gathered (from options and flags, in the order
//! podman reads them: a later scalar wins, lists and tables grow), and written as a
//! `[containers.NAME]` table.

use std::fmt::Write as _;

use crate::import::toml_out::{array, comment, inline, key, string};

/// A gathered value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    List(Vec<String>),
    Str(String),
    Bool(bool),
    Int(i64),
    Map(Vec<(String, String)>),
}

/// Fields in the order a person would write them; others follow in the order they came.
const ORDER: &[&str] = &[
    "image",
    "cmd",
    "entrypoint",
    "environment_files",
    "ports",
    "volumes",
    "networks",
    "network_mode",
    "user",
    "depends_on",
    "devices",
    "pull",
    "auto_update",
    "auto_start",
    "stop_timeout",
];

/// One container's fields, comments and escape hatches.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    values: Vec<(String, Val, Option<String>)>,
    /// `health` entries, already TOML-encoded.
    pub health: Vec<(&'static str, String)>,
    /// Keys of the one network the container joins (`ip`, `ip6`, `aliases`, `mac`).
    pub network_keys: Vec<(&'static str, String)>,
    pub podman_args: Vec<String>,
    /// Raw `GlobalArgs=` words (`preRunExtraOptions`).
    pub global_args: Vec<String>,
    /// Comment lines at the top of the table (`not carried`, notes).
    pub comments: String,
    /// Comment lines inside `[…environment]` (secrets left out).
    pub env_comments: String,
}

impl Fields {
    fn slot(&mut self, name: &str) -> Option<&mut Val> {
        self.values
            .iter_mut()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v)
    }

    /// Sets a scalar (replacing an earlier value, as podman's last flag wins).
    pub fn set(&mut self, name: &str, v: Val) {
        match self.slot(name) {
            Some(slot) => *slot = v,
            None => self.values.push((name.to_string(), v, None)),
        }
    }

    /// Adds an item to a list field.
    pub fn push(&mut self, name: &str, item: String) {
        match self.slot(name) {
            Some(Val::List(items)) => items.push(item),
            _ => self.set(name, Val::List(vec![item])),
        }
    }

    /// Sets one entry of a table field.
    pub fn insert(&mut self, name: &str, k: String, v: String) {
        match self.slot(name) {
            Some(Val::Map(entries)) => match entries.iter_mut().find(|(ek, _)| *ek == k) {
                Some(e) => e.1 = v,
                None => entries.push((k, v)),
            },
            _ => self.set(name, Val::Map(vec![(k, v)])),
        }
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Val> {
        let at = self.values.iter().position(|(n, _, _)| n == name)?;
        Some(self.values.remove(at).1)
    }

    /// A comment after a field's line.
    pub fn annotate(&mut self, name: &str, note: String) {
        if let Some(e) = self.values.iter_mut().find(|(n, _, _)| n == name) {
            e.2 = Some(note);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Val> {
        self.values
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v)
    }

    /// The networks listed so far.
    pub fn networks(&self) -> Vec<String> {
        match self.get("networks") {
            Some(Val::List(n)) => n.clone(),
            _ => Vec::new(),
        }
    }

    /// The `[containers.NAME]` table, with its sub-tables (environment, labels, other maps).
    pub fn write(&self, name: &str) -> String {
        let mut buf = String::new();
        let _ = writeln!(buf, "[containers.{}]", key(name));
        buf.push_str(&self.comments);
        let ordered = ORDER
            .iter()
            .filter_map(|o| self.values.iter().find(|(n, _, _)| n == o))
            .chain(
                self.values
                    .iter()
                    .filter(|(n, _, _)| !ORDER.contains(&n.as_str())),
            );
        let mut tables = String::new();
        for (n, v, note) in ordered {
            let trailing = note
                .as_ref()
                .map(|c| format!("   # {c}"))
                .unwrap_or_default();
            match v {
                Val::Map(entries) => write_table(&mut tables, name, n, entries, self, &trailing),
                Val::List(items) if n == "networks" && !self.network_keys.is_empty() => {
                    let _ = writeln!(buf, "networks = {}{trailing}", self.network_tables(items));
                }
                other => {
                    let _ = writeln!(buf, "{} = {}{trailing}", key(n), encode(other));
                }
            }
        }
        if !self.health.is_empty() {
            let _ = writeln!(buf, "health = {}", inline(&self.health));
        }
        if !self.podman_args.is_empty() {
            let _ = writeln!(buf, "podman_args = {}", array(&self.podman_args));
        }
        if !self.env_comments.is_empty() && self.get("environment").is_none() {
            let _ = writeln!(tables, "\n[containers.{}.environment]", key(name));
            tables.push_str(&self.env_comments);
        }
        if !self.global_args.is_empty() {
            let _ = writeln!(tables, "\n[containers.{}.quadlet.Container]", key(name));
            let _ = writeln!(tables, "GlobalArgs = {}", array(&self.global_args));
        }
        buf.push_str(&tables);
        buf
    }

    /// `[{ name = "media", ip = "10.89.7.5" }]`: the one network with its keys.
    fn network_tables(&self, names: &[String]) -> String {
        let parts: Vec<String> = names
            .iter()
            .map(|n| {
                let mut entries: Vec<(&str, String)> = vec![("name", string(n))];
                let mut aliases = Vec::new();
                for (k, v) in &self.network_keys {
                    if *k == "aliases" {
                        aliases.push(v.clone());
                    } else {
                        entries.push((k, string(v)));
                    }
                }
                if !aliases.is_empty() {
                    entries.push(("aliases", array(&aliases)));
                }
                inline(&entries)
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }
}

/// A TOML value.
fn encode(v: &Val) -> String {
    match v {
        Val::List(items) => array(items),
        Val::Str(s) => string(s),
        Val::Bool(b) => b.to_string(),
        Val::Int(i) => i.to_string(),
        Val::Map(entries) => {
            let e: Vec<(&str, String)> = entries
                .iter()
                .map(|(k, v)| (k.as_str(), string(v)))
                .collect();
            inline(&e)
        }
    }
}

/// `[containers.NAME.FIELD]` with one `KEY = "VALUE"` line per entry.
fn write_table(
    tables: &mut String,
    name: &str,
    field: &str,
    entries: &[(String, String)],
    fields: &Fields,
    trailing: &str,
) {
    let _ = writeln!(
        tables,
        "\n[containers.{}.{}]{trailing}",
        key(name),
        key(field)
    );
    if field == "environment" {
        tables.push_str(&fields.env_comments);
    }
    for (k, v) in entries {
        let _ = writeln!(tables, "{} = {}", key(k), string(v));
    }
}

/// A comment line for the top of a table.
pub fn comment_line(text: &str) -> String {
    comment(&crate::import::toml_out::one_line(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_flags_win_lists_grow_and_the_text_is_toml() {
        let mut f = Fields::default();
        f.set("image", Val::Str("docker.io/library/nginx:latest".into()));
        f.set("user", Val::Str("1".into()));
        f.set("user", Val::Str("2".into()));
        f.push("ports", "80:80".into());
        f.push("ports", "443:443".into());
        f.insert("environment", "A".into(), "1".into());
        f.insert("environment", "A".into(), "2".into());
        f.env_comments = comment_line("B: left out");
        let text = f.write("web");
        let t: toml::Table = toml::from_str(&text).expect("TOML");
        let c = &t["containers"]["web"];
        assert_eq!(c["user"].as_str(), Some("2"));
        assert_eq!(c["ports"].as_array().map(Vec::len), Some(2));
        assert_eq!(c["environment"]["A"].as_str(), Some("2"));
        assert!(text.contains("# B: left out"), "{text}");
    }

    #[test]
    fn network_keys_make_the_network_a_table() {
        let mut f = Fields::default();
        f.push("networks", "media".into());
        f.network_keys.push(("ip", "10.89.7.5".into()));
        f.network_keys.push(("aliases", "dl".into()));
        let t: toml::Table = toml::from_str(&f.write("x")).expect("TOML");
        let n = &t["containers"]["x"]["networks"][0];
        assert_eq!(n["name"].as_str(), Some("media"));
        assert_eq!(n["ip"].as_str(), Some("10.89.7.5"));
        assert_eq!(n["aliases"][0].as_str(), Some("dl"));
    }
}
