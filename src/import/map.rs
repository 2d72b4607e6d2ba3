//! Compose's long form → inventory entries: networks, volumes and one container per service, in
//! file order. What the inventory cannot hold yet is a warning naming the service, the key and the
//! reason, and the same words as a comment at that place in the output.

mod probe;
mod service;

use std::fmt::Write as _;

use super::envfile;
use super::interpolate::Vars;
use super::load::Project;
use super::toml_out::{comment, inline, key, list, one_line, string};
use super::yaml::{Loc, Node, Value};
use super::{Files, ImportError, Imported, MovedSecret, Refused, Warning};

/// Where the import asks the user to put values it will not write into the inventory.
pub const SECRET_ENV_DIR: &str = "/etc/quadgen/env";

/// Service keys carried into inventory fields (or deliberately handled elsewhere).
const CARRIED: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "networks",
    "user",
    "depends_on",
    "healthcheck",
    "restart",
    "stop_grace_period",
    "labels",
    "devices",
    "container_name",
    "profiles",
    "secrets",
    "build",
    "network_mode",
    "expose",
];

/// Service keys carried as `podman_args` (no inventory field says them): `true` becomes the flag.
const AS_PODMAN_ARGS: &[(&str, &str)] = &[("tty", "--tty"), ("stdin_open", "--interactive")];

/// A short image name (`nginx`, `jlesage/jdownloader-2`) fully qualified as Docker resolves it
/// (`docker.io/library/nginx:latest`); `Ok(None)` when it already names its registry.
pub fn qualified_image(raw: &str) -> Result<Option<String>, String> {
    let img = crate::compile::model::Image::parse(raw).map_err(|e| e.to_string())?;
    if img.fully_qualified {
        return Ok(None);
    }
    Ok(Some(if raw.contains(':') || raw.contains('@') {
        img.qualified.clone()
    } else {
        format!("{}:latest", img.qualified.trim_end_matches(":latest"))
    }))
}

/// Whether a variable or key name looks like it holds a secret.
pub fn secret_looking(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY"]
        .iter()
        .any(|s| upper.contains(s))
}

struct Out {
    text: String,
    warnings: Vec<Warning>,
    errors: Vec<ImportError>,
    moved: Vec<MovedSecret>,
}

impl Out {
    /// An `Out` whose text and warnings are thrown away (for text only a probe reads).
    fn scratch() -> Self {
        Out {
            text: String::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            moved: Vec::new(),
        }
    }

    /// A warning, and its comment in the text being built into `buf`.
    fn not_carried(
        &mut self,
        buf: &mut String,
        loc: &Loc,
        service: Option<&str>,
        key: &str,
        why: &str,
    ) {
        let _ = write!(
            buf,
            "{}",
            comment(&format!("not carried: {key}: {}", one_line(why)))
        );
        self.warnings.push(Warning {
            loc: loc.clone(),
            service: service.map(str::to_string),
            key: key.to_string(),
            message: format!("not carried: {why}"),
        });
    }

    fn note(&mut self, buf: &mut String, loc: &Loc, service: Option<&str>, key: &str, why: &str) {
        let _ = write!(buf, "{}", comment(&one_line(why)));
        self.warnings.push(Warning {
            loc: loc.clone(),
            service: service.map(str::to_string),
            key: key.to_string(),
            message: why.to_string(),
        });
    }
}

/// A short rendering of a Compose value for a comment.
fn show(n: &Node) -> String {
    match &n.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(e) => format!(
            "{{ {} }}",
            e.iter()
                .map(|(k, v)| format!("{k}: {}", show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The inventory name of a top-level network or volume: its `name:`, or `<project>_<key>`.
fn object_name(project: &str, section: Option<&Node>, key: &str) -> (String, bool) {
    let def = section.and_then(|s| s.get(key));
    let external = def
        .and_then(|d| d.get("external"))
        .is_some_and(|e| e.value == Value::Bool(true) || matches!(e.value, Value::Map(_)));
    match def.and_then(|d| d.get("name")).and_then(Node::as_str) {
        Some(n) => (n.to_string(), external),
        None if external => (key.to_string(), true),
        None => (format!("{project}_{key}"), false),
    }
}

/// Maps a loaded project onto inventory TOML.
pub fn map(project: &Project, files: &dyn Files) -> Result<Imported, Refused> {
    let mut out = Out {
        text: String::new(),
        warnings: project.warnings.clone(),
        errors: Vec::new(),
        moved: Vec::new(),
    };
    let root = &project.root;
    let services: Vec<(String, Node)> = root
        .get("services")
        .map(|s| s.entries().to_vec())
        .unwrap_or_default();
    let top_networks = root.get("networks");
    let top_volumes = root.get("volumes");
    let top_secrets = root.get("secrets");
    let default_restart = shared_restart(&services);
    let ctx = service::Ctx {
        project,
        files,
        services: &services,
        top_networks,
        top_volumes,
        top_secrets,
        default_restart: default_restart.clone(),
    };

    let mut header = header_comment(project);

    // Networks, volumes and secrets used by the selected services, in first-use order.
    let mut used = service::Used::default();
    let mut containers = String::new();
    for (svc_name, svc) in &services {
        let buf = service::container(&ctx, svc_name, svc, &mut out, &mut used);
        containers.push_str(&buf);
        containers.push('\n');
    }
    // Top-level networks, volumes and secrets
    let mut objects = String::new();
    network_sections(&mut out, &mut objects, &used.networks, top_networks);
    for (k, name) in &used.volumes {
        volume_section(
            &mut out,
            &mut objects,
            k,
            name,
            top_volumes.and_then(|t| t.get(k)),
        );
    }
    for (k, name, file) in &used.secrets {
        let _ = writeln!(objects, "[secrets.{}]", key(name));
        if name != k {
            let _ = write!(objects, "{}", comment(&format!("Compose secret `{k}`")));
        }
        let _ = writeln!(objects, "file = {}\n", string(file));
    }
    unused_configs_and_secrets(root, &services, &mut out, &mut header);
    unknown_top_level_keys(root, &mut out, &mut header);
    if !out.errors.is_empty() {
        return Err(Refused(out.errors));
    }
    let defaults = match &default_restart {
        Some(r) => format!(
            "[defaults]\nrestart = {}   # every service sets it\n\n",
            string(r)
        ),
        None => String::new(),
    };
    out.text = format!("{header}{defaults}{objects}{containers}");
    while out.text.ends_with("\n\n") {
        out.text.pop();
    }
    Ok(Imported {
        toml: out.text,
        warnings: out.warnings,
        moved_secrets: out.moved,
        project: project.name.clone(),
    })
}

/// `[defaults]` for what every service shares (two or more): the restart policy.
fn shared_restart(services: &[(String, Node)]) -> Option<String> {
    let policies: Vec<Option<&str>> = services
        .iter()
        .map(|(_, svc)| {
            svc.get("restart")
                .and_then(Node::as_str)
                .and_then(service::restart_policy)
        })
        .collect();
    match policies.split_first() {
        Some((Some(first), rest))
            if !rest.is_empty() && rest.iter().all(|p| p == &Some(*first)) =>
        {
            Some(first.to_string())
        }
        _ => None,
    }
}

/// The comment at the top of the output: where it came from and what to read before installing.
fn header_comment(project: &Project) -> String {
    let mut header = String::new();
    let _ = write!(
        header,
        "{}",
        comment(&format!(
            "Imported by `quadgen import compose` from {} (Compose project `{}`).\n\
             Read every `not carried` comment before installing. Where Compose sets no `restart`,\n\
             quadgen's default applies (`on-failure`, retried every 10 s), not Compose's `no`.",
            project.source.display(),
            project.name
        ))
    );
    header.push('\n');
    header
}

/// One `[networks.*]` table per network the services use, in first-use order.
fn network_sections(
    out: &mut Out,
    objects: &mut String,
    networks: &[(String, String)],
    top_networks: Option<&Node>,
) {
    for (k, name) in networks {
        let def = top_networks.and_then(|t| t.get(k));
        let _ = writeln!(objects, "[networks.{}]", key(name));
        if k == "default" && def.is_none() {
            let _ = write!(
                objects,
                "{}",
                comment("Compose's implicit `default` network")
            );
        } else if *name != *k {
            let _ = write!(objects, "{}", comment(&format!("Compose network `{k}`")));
        }
        network_fields(out, objects, def, k);
        objects.push('\n');
    }
}

/// The `[volumes.*]` table for Compose volume `k` (inventory name `name`), from its definition.
fn volume_section(out: &mut Out, objects: &mut String, k: &str, name: &str, def: Option<&Node>) {
    let _ = writeln!(objects, "[volumes.{}]", key(name));
    if name != k {
        let _ = write!(objects, "{}", comment(&format!("Compose volume `{k}`")));
    }
    for (f, n) in def.map(Node::entries).unwrap_or_default() {
        match f.as_str() {
            "name" => {}
            "external" => out.note(objects, &n.loc, None, &format!("volumes.{k}.external"), "external in Compose: podman creates it if it is missing, and keeps its data either way"),
            "driver" => {
                if let Some(d) = n.as_str() {
                    let _ = writeln!(objects, "driver = {}", string(d));
                }
            }
            "driver_opts" => volume_driver_opts(out, objects, k, n),
            "labels" => {
                let labels: Vec<(&str, String)> = n.entries().iter().filter_map(|(lk, lv)| lv.scalar_string().map(|v| (lk.as_str(), string(&v)))).collect();
                if !labels.is_empty() {
                    let _ = writeln!(objects, "labels = {}", inline(&labels));
                }
            }
            other => out.not_carried(objects, &n.loc, None, &format!("volumes.{k}.{other}"), "no inventory field yet"),
        }
    }
    objects.push('\n');
}

/// A volume's `driver_opts` as `options`: only type, device and o are carried.
fn volume_driver_opts(out: &mut Out, objects: &mut String, k: &str, n: &Node) {
    let mut opts = Vec::new();
    for (ok, ov) in n.entries() {
        match (ok.as_str(), ov.scalar_string()) {
            ("type" | "device" | "o", Some(v)) => opts.push((ok.as_str(), string(&v))),
            _ => out.not_carried(
                objects,
                &ov.loc,
                None,
                &format!("volumes.{k}.driver_opts.{ok}"),
                "only type, device and o are volume options",
            ),
        }
    }
    if !opts.is_empty() {
        let _ = writeln!(objects, "options = {}", inline(&opts));
    }
}

/// Warns (and comments in the header) about every top-level config, and every secret no
/// imported service uses.
fn unused_configs_and_secrets(
    root: &Node,
    services: &[(String, Node)],
    out: &mut Out,
    header: &mut String,
) {
    for section in ["configs", "secrets"] {
        if let Some(s) = root.get(section) {
            for (k, n) in s.entries() {
                let used = services.iter().any(|(_, svc)| {
                    svc.get(section)
                        .map(Node::items)
                        .unwrap_or_default()
                        .iter()
                        .any(|i| i.get("source").and_then(Node::as_str) == Some(k))
                });
                if section == "configs" || !used {
                    let why = if section == "configs" {
                        "configs have no inventory form yet (mount the file with `volumes`)"
                    } else {
                        "no imported service uses it"
                    };
                    out.warnings.push(Warning {
                        loc: n.loc.clone(),
                        service: None,
                        key: format!("{section}.{k}"),
                        message: format!("not carried: {why}"),
                    });
                    let _ = write!(
                        header,
                        "{}",
                        comment(&format!("not carried: {section}.{k}: {why}"))
                    );
                }
            }
        }
    }
}

/// Warns (and comments in the header) about top-level keys the importer does not know.
fn unknown_top_level_keys(root: &Node, out: &mut Out, header: &mut String) {
    for (k, n) in root.entries() {
        if !matches!(
            k.as_str(),
            "services" | "networks" | "volumes" | "secrets" | "configs" | "name" | "version"
        ) && !k.starts_with("x-")
        {
            out.warnings.push(Warning {
                loc: n.loc.clone(),
                service: None,
                key: k.clone(),
                message: "not carried: unknown to the importer".into(),
            });
            let _ = write!(
                header,
                "{}",
                comment(&format!("not carried: top-level `{k}`"))
            );
        }
    }
}

fn mount(source: &str, target: &str, opts: &[String]) -> String {
    let mut s = if source.is_empty() {
        target.to_string()
    } else {
        format!("{source}:{target}")
    };
    if !opts.is_empty() {
        s.push(':');
        s.push_str(&opts.join(","));
    }
    s
}

fn network_fields(out: &mut Out, buf: &mut String, def: Option<&Node>, k: &str) {
    for (f, n) in def.map(Node::entries).unwrap_or_default() {
        match f.as_str() {
            "name" => {}
            "external" => out.note(
                buf,
                &n.loc,
                None,
                &format!("networks.{k}.external"),
                "external in Compose: quadgen now creates and owns this network",
            ),
            "driver" => {
                if let Some(d) = n.as_str() {
                    let _ = writeln!(buf, "driver = {}", string(d));
                }
            }
            "internal" if n.value == Value::Bool(true) => {
                let _ = writeln!(buf, "internal = true");
            }
            "enable_ipv6" if n.value == Value::Bool(true) => {
                let _ = writeln!(buf, "ipv6 = true");
            }
            "internal" | "enable_ipv6" | "attachable" => {}
            "labels" => {
                let labels: Vec<(&str, String)> = n
                    .entries()
                    .iter()
                    .filter_map(|(lk, lv)| lv.scalar_string().map(|v| (lk.as_str(), string(&v))))
                    .collect();
                if !labels.is_empty() {
                    let _ = writeln!(buf, "labels = {}", inline(&labels));
                }
            }
            "driver_opts" => {
                let opts: Vec<(&str, String)> = n
                    .entries()
                    .iter()
                    .filter_map(|(lk, lv)| lv.scalar_string().map(|v| (lk.as_str(), string(&v))))
                    .collect();
                if !opts.is_empty() {
                    let _ = writeln!(buf, "options = {}", inline(&opts));
                }
            }
            "ipam" => network_ipam(out, buf, n, k),
            other => out.not_carried(
                buf,
                &n.loc,
                None,
                &format!("networks.{k}.{other}"),
                "no inventory field yet",
            ),
        }
    }
}

/// A network's `ipam`: one config as `subnet` and `gateway`, several (or one with an
/// `ip_range`) as `subnets`; `aux_addresses` and the IPAM driver are not carried.
fn network_ipam(out: &mut Out, buf: &mut String, n: &Node, k: &str) {
    let configs = n.get("config").map(Node::items).unwrap_or_default();
    let mut subnets: Vec<String> = Vec::new();
    for c in configs {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for (ck, cv) in c.entries() {
            let field = match ck.as_str() {
                "subnet" => "subnet",
                "gateway" => "gateway",
                "ip_range" => "range",
                _ => {
                    let why = format!("`{ck}: {}` has no inventory field", show(cv));
                    out.not_carried(
                        buf,
                        &cv.loc,
                        None,
                        &format!("networks.{k}.ipam.config.{ck}"),
                        &why,
                    );
                    continue;
                }
            };
            if let Some(v) = cv.as_str() {
                fields.push((field, string(v)));
            }
        }
        if !fields.iter().any(|(f, _)| *f == "subnet") {
            if !fields.is_empty() {
                out.not_carried(
                    buf,
                    &c.loc,
                    None,
                    &format!("networks.{k}.ipam.config"),
                    "a gateway or range without a subnet",
                );
            }
            continue;
        }
        match (configs.len(), fields.as_slice()) {
            (1, [_] | [_, _]) if !fields.iter().any(|(f, _)| *f == "range") => {
                for (f, v) in &fields {
                    let _ = writeln!(buf, "{f} = {v}");
                }
            }
            _ => subnets.push(inline(&fields)),
        }
    }
    if !subnets.is_empty() {
        let _ = writeln!(buf, "subnets = {}", list(&subnets));
    }
    for (ik, iv) in n.entries() {
        if ik != "config" {
            out.not_carried(
                buf,
                &iv.loc,
                None,
                &format!("networks.{k}.ipam.{ik}"),
                "no inventory field yet",
            );
        }
    }
}

/// An env file as podman would read it differs from Compose's reading: `Ok(None)` when they
/// agree (the file can be passed to podman as it is), else Compose's entries to write instead.
#[allow(clippy::type_complexity)]
fn env_file_for_podman(
    text: &str,
    vars: &Vars,
) -> Result<Option<Vec<(String, String)>>, (usize, String)> {
    let compose = envfile::parse(text, vars)?;
    let mut agree = true;
    let mut entries = Vec::new();
    for e in &compose {
        let Some(v) = &e.value else { continue };
        // podman: the raw text after the first `=`, nothing trimmed or unquoted.
        let raw_line = text
            .lines()
            .nth(e.line.saturating_sub(1))
            .unwrap_or_default()
            .trim_start();
        let podman_value = raw_line.split_once('=').map(|(_, r)| r).unwrap_or_default();
        let podman_key = raw_line.split_once('=').map(|(k, _)| k).unwrap_or_default();
        if podman_value != v || podman_key != e.key {
            agree = false;
        }
        entries.push((e.key.clone(), v.clone()));
    }
    Ok(if agree { None } else { Some(entries) })
}
