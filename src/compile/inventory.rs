//! The inventory file as written by the user: serde types mirroring the TOML, nothing checked yet
//! beyond TOML types and known field names. Field names follow NixOS
//! `virtualisation.oci-containers`, in snake_case.
//!
//! Every value keeps its byte span (`Spanned`) so that later checks can point at it.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::compile::diagnostic::Diagnostic;

mod check;
mod chunked;
mod or_table;
pub mod shape;

pub use chunked::Batches;
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
    pub containers: BTreeMap<Str, Box<Spanned<Container>>>,
    /// `[secrets.NAME]`: files whose content becomes a podman secret at install.
    #[serde(default)]
    pub secrets: BTreeMap<Str, Spanned<Secret>>,
    /// `[pods.NAME]`: groups of containers that share a network namespace (localhost).
    #[serde(default)]
    pub pods: BTreeMap<Str, Spanned<Pod>>,
}

/// `[secrets.NAME] file = "/run/secrets/NAME"`: where install reads the secret's value (for
/// example a file sops-nix or agenix decrypts at boot). The value itself is never in the
/// inventory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    pub file: Str,
}

/// One entry of a container's `secrets`: a name (mounted at `/run/secrets/NAME`), or a table.
#[derive(Debug, Clone)]
pub enum SecretRef {
    Name(String),
    Table(SecretTable),
}

/// A string or a table, with the table's own errors (`unknown field `nam``) rather than serde's
/// "did not match any variant".
impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SecretRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a secret name, or a table like { name = \"api\", type = \"env\", target = \"API_TOKEN\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretRef, E> {
                Ok(SecretRef::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<SecretRef, A::Error> {
                SecretTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(SecretRef::Table)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `{ name = "api", type = "env", target = "API_TOKEN" }` or
/// `{ name = "cert", type = "mount", target = "/etc/app/cert.pem", uid = 0, gid = 0, mode = "0400" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretTable {
    pub name: String,
    /// `mount` (default) or `env`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The variable (env) or the path in the container (mount; relative: under `/run/secrets`).
    pub target: Option<String>,
    pub uid: Option<i64>,
    pub gid: Option<i64>,
    /// Octal file mode, as a string: `"0400"`.
    pub mode: Option<String>,
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
    #[serde(default, deserialize_with = "duration")]
    pub stop_timeout: Option<Str>,
    #[serde(default, deserialize_with = "duration")]
    pub start_timeout: Option<Str>,
    pub labels: Option<StrMap>,
    pub devices: Option<Spanned<Vec<Str>>>,
    pub pull: Option<Str>,
    pub auto_update: Option<Str>,
    pub auto_start: Option<Spanned<bool>>,
    pub podman_args: Option<Spanned<Vec<Str>>>,
    /// Secrets from `[secrets]` the container gets (`Secret=`).
    pub secrets: Option<Spanned<Vec<Spanned<SecretRef>>>>,
    /// Escape hatch: raw Quadlet keys per section (`Unit`, `Container`, `Service`, `Install`).
    pub quadlet: Option<RawSections>,

    // Security: capabilities, privileges, seccomp, SELinux labels, read-only root.
    pub cap_add: Option<Spanned<Vec<Str>>>,
    pub cap_drop: Option<Spanned<Vec<Str>>>,
    pub privileged: Option<Spanned<bool>>,
    pub no_new_privileges: Option<Spanned<bool>>,
    pub read_only: Option<Spanned<bool>>,
    pub read_only_tmpfs: Option<Spanned<bool>>,
    /// A host path to a seccomp profile (JSON), or `unconfined`.
    pub seccomp_profile: Option<Str>,
    pub security_label_disable: Option<Spanned<bool>>,
    pub security_label_type: Option<Str>,

    // Resources: memory, CPU, processes, tmpfs mounts, shared memory, sysctls, ulimits.
    pub tmpfs: Option<Spanned<Vec<Str>>>,
    pub shm_size: Option<Str>,
    pub sysctls: Option<StrMap>,
    pub ulimits: Option<StrMap>,
    pub memory: Option<Str>,
    pub cpus: Option<Str>,
    pub pids_limit: Option<Spanned<i64>>,

    // Runtime: names, DNS, hosts, groups, working directory, init, signals, logging.
    pub hostname: Option<Str>,
    pub dns: Option<Spanned<Vec<Str>>>,
    pub dns_search: Option<Spanned<Vec<Str>>>,
    pub dns_options: Option<Spanned<Vec<Str>>>,
    pub extra_hosts: Option<Spanned<Vec<Str>>>,
    pub group_add: Option<Spanned<Vec<Str>>>,
    pub working_dir: Option<Str>,
    pub init: Option<Spanned<bool>>,
    pub stop_signal: Option<Str>,
    pub userns: Option<Str>,
    pub timezone: Option<Str>,
    pub log_driver: Option<Str>,
    pub log_options: Option<StrMap>,
    /// The pod the container joins (`[pods.NAME]`); its ports and networks are the pod's.
    pub pod: Option<Str>,
}

/// `[pods.NAME]`: what the members of a pod share. Only the settings every target's `.pod`
/// accepts, plus `hostname` (Podman 5.5) and `labels` (5.6), refused for older targets.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    pub description: Option<Str>,
    pub ports: Option<Spanned<Vec<Str>>>,
    pub networks: Option<Spanned<Vec<Str>>>,
    pub volumes: Option<Spanned<Vec<Str>>>,
    pub hostname: Option<Str>,
    pub labels: Option<StrMap>,
    pub auto_start: Option<Spanned<bool>>,
    pub podman_args: Option<Spanned<Vec<Str>>>,
    /// Escape hatch: raw Quadlet keys per section (`Unit`, `Pod`, `Service`, `Install`).
    pub quadlet: Option<RawSections>,
}

/// `health = { cmd = "...", interval = "30s", ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub cmd: Str,
    #[serde(default, deserialize_with = "duration")]
    pub interval: Option<Str>,
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Str>,
    pub retries: Option<Spanned<i64>>,
    #[serde(default, deserialize_with = "duration")]
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
#[serde(untagged, expecting = "a string or a list of strings")]
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

/// A duration's text (`"60s"`, `"5min"`), checked later by the model. Its own type only so that
/// a wrong value is reported as "a duration like \"60s\"" (see [`shape::Shape::words`]).
struct DurationText(String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> serde::de::Visitor<'de> for Text {
            type Value = DurationText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration like \"60s\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DurationText, E> {
                Ok(DurationText(text.to_string()))
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<DurationText, D::Error> {
                deserializer.deserialize_str(self)
            }
        }
        deserializer.deserialize_newtype_struct("Duration", Text)
    }
}

/// Deserializes an optional duration field (`stop_timeout`, `health.interval`, …).
fn duration<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Str>, D::Error> {
    let text: Option<Spanned<DurationText>> = Option::deserialize(deserializer)?;
    Ok(text.map(|t| {
        let span = t.span();
        Spanned::new(span, t.into_inner().0)
    }))
}

/// Parses inventory text. TOML syntax stops at its first error; otherwise every unknown key and
/// every value of the wrong type is reported at once, in words, each at its place.
///
/// A large inventory is parsed in batches of container tables, which takes a fraction of the
/// memory; whenever that could differ from parsing the whole file, the whole file is parsed.
pub fn parse(source: &str) -> Result<Inventory, Vec<Diagnostic>> {
    parse_salvaging(source).map_err(|unparsed| unparsed.problems)
}

/// What is left of inventory text that does not parse.
#[derive(Debug)]
pub struct Unparsed {
    /// Every unknown key and value of the wrong type (or the TOML syntax error).
    pub problems: Vec<Diagnostic>,
    /// The inventory without its unknown keys, when those are its only problems: its other
    /// problems can then be reported in the same run.
    pub salvaged: Option<Inventory>,
}

/// [`parse`], keeping what can be salvaged of an inventory that does not parse.
pub fn parse_salvaging(source: &str) -> Result<Inventory, Box<Unparsed>> {
    if source.len() > 2 * chunked::BATCH_BYTES {
        if let Some(inventory) = chunked::parse(source, chunked::BATCH_BYTES) {
            return Ok(inventory);
        }
    }
    toml::from_str(source).map_err(|first| Box::new(every_problem(source, &first)))
}

/// A large inventory cut into everything but its containers, parsed, and the batches of container
/// tables still to parse, so a caller can take each container as it is parsed instead of holding
/// them all. `None` for a small inventory, or when only [`parse`] gives the right result.
pub fn split_large(source: &str) -> Option<(Inventory, Batches<'_>)> {
    if source.len() > 2 * chunked::BATCH_BYTES {
        chunked::split(source, chunked::BATCH_BYTES)
    } else {
        None
    }
}

/// The error path: the TOML tree checked against the shape of the serde types (see [`check`]).
fn every_problem(source: &str, first: &toml::de::Error) -> Unparsed {
    let Ok(root) = toml::de::DeTable::parse(source) else {
        return Unparsed {
            problems: vec![check::from_toml_error(first)],
            salvaged: None,
        };
    };
    let (problems, salvaged) = check::every_problem(root, shape::shape_of::<Inventory>().as_ref());
    if problems.is_empty() {
        Unparsed {
            problems: vec![check::from_toml_error(first)],
            salvaged: None,
        }
    } else {
        Unparsed { problems, salvaged }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_reported_with_span() {
        let src = "[containers.web]\nimage = \"docker.io/library/nginx\"\nimgae = 1\n";
        let errs = parse(src).expect_err("must fail");
        let err = &errs[0];
        assert!(
            err.message.contains("unknown field `imgae`"),
            "{}",
            err.message
        );
        let span = err.span.clone().expect("span");
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
