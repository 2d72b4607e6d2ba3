//! The inventory file as written by the user: serde types mirroring the TOML, nothing checked yet
//! beyond TOML types and known field names. Field names follow NixOS
//! `virtualisation.oci-containers`, in snake_case.
//!
//! Every value keeps its byte span (`Spanned`) so that later checks can point at it.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::compile::diagnostic::Diagnostic;

mod chunked;
mod or_table;

pub use or_table::OrTable;

/// A spanned string, the most common inventory value.
pub type Str = Spanned<String>;
/// A spanned map of strings (environment, labels, options), sorted by key.
pub type StrMap = BTreeMap<Str, Str>;

/// The whole inventory file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Values every container gets unless it sets its own. Maps (environment, labels) are merged
    /// key by key; any other field is replaced whole by the container's value.
    #[serde(default)]
    pub defaults: Option<Spanned<Container>>,
    #[serde(default)]
    pub networks: BTreeMap<Str, Spanned<Network>>,
    #[serde(default)]
    pub volumes: BTreeMap<Str, Spanned<Volume>>,
    #[serde(default)]
    pub containers: BTreeMap<Str, Spanned<Container>>,
}

/// `[containers.NAME]` (and `[defaults]`): every field optional here; `image` is required after
/// defaults are applied.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub image: Option<Str>,
    pub description: Option<Str>,
    pub cmd: Option<Spanned<Vec<Str>>>,
    pub entrypoint: Option<Str>,
    pub environment: Option<StrMap>,
    pub environment_files: Option<Spanned<Vec<Str>>>,
    pub ports: Option<Spanned<Vec<Str>>>,
    pub volumes: Option<Spanned<Vec<Str>>>,
    /// Network names, or tables with per-network settings (`{ name, ip, ip6, aliases, mac }`).
    pub networks: Option<Spanned<Vec<Spanned<OrTable<NetworkJoin>>>>>,
    /// `host`, `none` or `container:NAME` (share another container's network namespace).
    pub network_mode: Option<Str>,
    pub user: Option<Str>,
    pub depends_on: Option<Spanned<Vec<Str>>>,
    pub after: Option<Spanned<Vec<Str>>>,
    pub requires: Option<Spanned<Vec<Str>>>,
    pub wants: Option<Spanned<Vec<Str>>>,
    /// A health check table, or `"image"`: the image's own HEALTHCHECK.
    pub health: Option<Spanned<OrTable<Health>>>,
    pub restart: Option<Str>,
    pub stop_timeout: Option<Str>,
    pub start_timeout: Option<Str>,
    pub labels: Option<StrMap>,
    pub devices: Option<Spanned<Vec<Str>>>,
    pub pull: Option<Str>,
    pub auto_update: Option<Str>,
    pub auto_start: Option<Spanned<bool>>,
    pub podman_args: Option<Spanned<Vec<Str>>>,
    /// Escape hatch: raw Quadlet keys per section (`Unit`, `Container`, `Service`, `Install`).
    pub quadlet: Option<RawSections>,
}

/// `health = { cmd = "...", interval = "30s", ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub cmd: Str,
    pub interval: Option<Str>,
    pub timeout: Option<Str>,
    pub retries: Option<Spanned<i64>>,
    pub start_period: Option<Str>,
    /// What podman does when the check fails: none | kill | restart | stop.
    pub on_failure: Option<Str>,
}

/// A `networks` entry written as a table: the network and what the container is on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkJoin {
    pub name: Str,
    pub ip: Option<Str>,
    pub ip6: Option<Str>,
    pub aliases: Option<Spanned<Vec<Str>>>,
    pub mac: Option<Str>,
}

/// A `subnets` entry written as a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    pub subnet: Str,
    pub gateway: Option<Str>,
    /// Where podman allocates addresses from: a CIDR inside the subnet, or `FIRST-LAST`.
    pub range: Option<Str>,
}

/// `[networks.NAME]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub subnet: Option<Str>,
    pub gateway: Option<Str>,
    /// Several subnets (dual stack): CIDR strings or [`Subnet`] tables.
    pub subnets: Option<Spanned<Vec<Spanned<OrTable<Subnet>>>>>,
    pub internal: Option<Spanned<bool>>,
    pub ipv6: Option<Spanned<bool>>,
    pub dns: Option<Spanned<Vec<Str>>>,
    pub driver: Option<Str>,
    pub options: Option<StrMap>,
    pub labels: Option<StrMap>,
    /// Name of the bridge interface on the host (default `qg-NAME`).
    pub interface_name: Option<Str>,
    pub quadlet: Option<RawSections>,
}

/// `[volumes.NAME]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    pub driver: Option<Str>,
    pub options: Option<StrMap>,
    pub labels: Option<StrMap>,
    pub quadlet: Option<RawSections>,
}

/// `quadlet.SECTION.Key = "value"` or `= ["v1", "v2"]` (a repeated key).
pub type RawSections = BTreeMap<Str, BTreeMap<Str, Spanned<RawValue>>>;

/// A raw key's value: one line or several lines of the same key.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawValue {
    One(String),
    Many(Vec<String>),
}

impl RawValue {
    pub fn values(&self) -> Vec<&str> {
        match self {
            RawValue::One(v) => vec![v.as_str()],
            RawValue::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// Parses inventory text. A TOML or type error becomes one diagnostic pointing at the problem.
///
/// A large inventory is parsed in batches of container tables, which takes a fraction of the
/// memory; whenever that could differ from parsing the whole file, the whole file is parsed.
pub fn parse(source: &str) -> Result<Inventory, Diagnostic> {
    if source.len() > 2 * chunked::BATCH_BYTES {
        if let Some(inventory) = chunked::parse(source, chunked::BATCH_BYTES) {
            return Ok(inventory);
        }
    }
    toml::from_str(source).map_err(|e| {
        let message = e.message().trim_end_matches('\n').to_string();
        let help = toml_error_help(&message);
        let d = Diagnostic::error(e.span(), message);
        match help {
            Some(h) => d.with_help(h),
            None => d,
        }
    })
}

fn toml_error_help(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        Some(
            "remove the field, or check its spelling against the inventory reference in the README"
                .into(),
        )
    } else if message.contains("invalid type") {
        Some("check the value's type: strings are quoted, lists use [ ], tables use { }".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_reported_with_span() {
        let src = "[containers.web]\nimage = \"docker.io/library/nginx\"\nimgae = 1\n";
        let err = parse(src).expect_err("must fail");
        assert!(
            err.message.contains("unknown field `imgae`"),
            "{}",
            err.message
        );
        let span = err.span.expect("span");
        assert_eq!(&src[span], "imgae");
    }

    #[test]
    fn raw_values_accept_one_or_many() {
        let src = "[containers.web]\nimage = \"x\"\n[containers.web.quadlet.Container]\nShmSize = \"1g\"\nAddHost = [\"a:1.2.3.4\", \"b:5.6.7.8\"]\n";
        let inv = parse(src).expect("parses");
        let c = inv.containers.values().next().expect("one container");
        let raw = c.get_ref().quadlet.as_ref().expect("raw");
        let section = raw.values().next().expect("section");
        let values: Vec<Vec<&str>> = section.values().map(|v| v.get_ref().values()).collect();
        assert_eq!(values, vec![vec!["a:1.2.3.4", "b:5.6.7.8"], vec!["1g"]]);
    }
}
