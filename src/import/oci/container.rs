//! One `virtualisation.oci-containers.containers.NAME` (every option, as `nix eval --json` prints
//! it) → one `[containers.NAME]` table. The options the module turns into `podman run` flags are
//! turned into the same flags here, in the module's order, and read through the one flag table
//! ([`super::flags::ROWS`]) together with `extraOptions`: so an option and the flag it becomes
//! always land in the same field.

use super::Notes;
use super::apply::{apply, finish_health};
use super::ctr::{Ctr, Origin};
use super::fields::{Val, comment_line};
use super::flags;
use super::network;
use crate::import::ImportError;
use crate::import::toml_out::one_line;
use crate::import::yaml::{Node, Value};

/// Options read here; any other key is a warning (a newer NixOS may have added it).
const KNOWN: &[&str] = &[
    "image",
    "imageFile",
    "imageStream",
    "serviceName",
    "login",
    "cmd",
    "labels",
    "entrypoint",
    "environment",
    "environmentFiles",
    "log-driver",
    "ports",
    "user",
    "volumes",
    "workdir",
    "dependsOn",
    "hostname",
    "preRunExtraOptions",
    "extraOptions",
    "autoStart",
    "podman",
    "pull",
    "capabilities",
    "devices",
    "privileged",
    "autoRemoveOnStop",
    "networks",
];

/// Imports one container: its fields and comments in `ctr.fields`, problems in `notes`.
pub fn import(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    for (k, n) in ctr.node.entries() {
        if !KNOWN.contains(&k.as_str()) {
            let at = Origin {
                loc: n.loc.clone(),
                option: k.clone(),
            };
            ctr.not_carried(
                notes,
                &at,
                "an option this importer does not know (from a newer NixOS?)",
            );
        }
    }
    image(ctr, notes);
    service_name(ctr);
    let words = option_words(ctr, notes);
    for flag in flags::parse(&words) {
        apply(ctr, notes, flag);
    }
    network::finish(ctr, notes);
    finish_health(ctr, notes);
    command_and_order(ctr, notes);
    podman_settings(ctr, notes);
    login(ctr, notes);
}

/// `image` (a short name qualified as the compose importer does); `imageFile`/`imageStream`
/// refused.
fn image(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    for opt in ["imageFile", "imageStream"] {
        if let Some(n) = ctr.node.get(opt).filter(|n| !n.is_null()) {
            notes.errors.push(
                ImportError::at(&n.loc, format!("container `{}` loads its image from the Nix store (`{opt}`), which quadgen cannot do", ctr.name))
                    .help("push the image to a registry (e.g. `skopeo copy docker-archive:$(nix build --print-out-paths .#image) docker://registry.example/app:tag`) and set `image` to it, then import again"),
            );
        }
    }
    let Some(raw) = ctr.node.get("image").and_then(Node::as_str) else {
        notes.errors.push(ImportError::at(
            &ctr.node.loc,
            format!("container `{}` has no `image` string", ctr.name),
        ));
        return;
    };
    match crate::import::map::qualified_image(raw) {
        Ok(None) => ctr.fields.set("image", Val::Str(raw.to_string())),
        Ok(Some(q)) => {
            ctr.fields.set("image", Val::Str(q));
            ctr.fields.annotate(
                "image",
                format!(
                    "oci-containers: {} (a short name, qualified as Docker resolves it)",
                    one_line(raw)
                ),
            );
        }
        Err(e) => notes
            .errors
            .push(ImportError::at(&ctr.origin("image").loc, e)),
    }
}

/// The comment that says the service's name changes.
fn service_name(ctr: &mut Ctr<'_>) {
    let old = ctr
        .node
        .get("serviceName")
        .and_then(Node::as_str)
        .map_or_else(|| format!("podman-{}", ctr.name), str::to_string);
    ctr.fields.comments.push_str(&comment_line(&format!(
        "was {old}.service; now {}.service (the container keeps its name `{}`)",
        ctr.name, ctr.name
    )));
}

/// How an option becomes flags in the module's start script.
#[derive(Clone, Copy)]
enum Shape {
    /// A string, or null for none: `FLAG=VALUE`.
    Scalar,
    /// A list: `FLAG=ITEM` each.
    List,
    /// An attribute set: `FLAG=KEY=VALUE` each.
    Attrs,
    /// `true`: `FLAG`.
    Switch,
    /// `capabilities`: `--cap-add=K` for true, `--cap-drop=K` for false.
    Caps,
}

/// The options the module turns into `podman run` flags, in its start script's order (before
/// `extraOptions`).
const DERIVED: &[(&str, Shape, &str)] = &[
    ("entrypoint", Shape::Scalar, "--entrypoint"),
    ("hostname", Shape::Scalar, "--hostname"),
    ("environment", Shape::Attrs, "--env"),
    ("environmentFiles", Shape::List, "--env-file"),
    ("ports", Shape::List, "--publish"),
    ("user", Shape::Scalar, "--user"),
    ("volumes", Shape::List, "--volume"),
    ("labels", Shape::Attrs, "--label"),
    ("workdir", Shape::Scalar, "--workdir"),
    ("privileged", Shape::Switch, "--privileged"),
    ("capabilities", Shape::Caps, ""),
    ("devices", Shape::List, "--device"),
    ("networks", Shape::List, "--network"),
    ("pull", Shape::Scalar, "--pull"),
];

/// The flags the module derives from options, in the order of its start script, then
/// `extraOptions` as they are.
fn option_words(ctr: &mut Ctr<'_>, notes: &mut Notes) -> Vec<(String, Origin)> {
    let node = ctr.node;
    let mut words = Vec::new();
    if let Some(n) = node.get("log-driver") {
        if n.as_str().is_some_and(|d| d != "journald") {
            let d = n.as_str().unwrap_or_default();
            words.push(word(format!("--log-driver={d}"), n, "log-driver"));
        }
    }
    for (opt, shape, flag) in DERIVED {
        let Some(n) = node.get(opt) else { continue };
        derived(&mut words, opt, *shape, flag, n);
    }
    for n in node
        .get("extraOptions")
        .map(Node::items)
        .unwrap_or_default()
    {
        words.push(word(
            n.scalar_string().unwrap_or_default(),
            n,
            "extraOptions",
        ));
    }
    if let Some(n) = node
        .get("autoRemoveOnStop")
        .filter(|n| n.value == Value::Bool(false))
    {
        let at = Origin {
            loc: n.loc.clone(),
            option: "autoRemoveOnStop".into(),
        };
        ctr.not_carried(
            notes,
            &at,
            "quadlet always runs the container with --rm: it is removed when its service stops",
        );
    }
    words
}

fn word(w: String, n: &Node, option: &str) -> (String, Origin) {
    (
        w,
        Origin {
            loc: n.loc.clone(),
            option: option.to_string(),
        },
    )
}

/// The flags one option becomes.
fn derived(words: &mut Vec<(String, Origin)>, opt: &str, shape: Shape, flag: &str, n: &Node) {
    match shape {
        Shape::Scalar => {
            if let Some(v) = n.as_str() {
                words.push(word(format!("{flag}={v}"), n, opt));
            }
        }
        Shape::List => {
            for i in n.items() {
                let v = i.scalar_string().unwrap_or_default();
                words.push(word(format!("{flag}={v}"), i, opt));
            }
        }
        Shape::Attrs => {
            for (k, v) in n.entries() {
                let value = v.scalar_string().unwrap_or_default();
                words.push(word(
                    format!("{flag}={k}={value}"),
                    v,
                    &format!("{opt}.{k}"),
                ));
            }
        }
        Shape::Switch => {
            if n.value == Value::Bool(true) {
                words.push(word(flag.to_string(), n, opt));
            }
        }
        Shape::Caps => {
            for (k, v) in n.entries() {
                let f = match v.value {
                    Value::Bool(true) => "--cap-add",
                    Value::Bool(false) => "--cap-drop",
                    _ => continue,
                };
                words.push(word(format!("{f}={k}"), v, &format!("{opt}.{k}")));
            }
        }
    }
}

/// `cmd`, `dependsOn`, `autoStart`.
fn command_and_order(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    let node = ctr.node;
    let cmd: Vec<String> = node
        .get("cmd")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Node::scalar_string)
        .collect();
    if !cmd.is_empty() {
        ctr.fields.set("cmd", Val::List(cmd));
    }
    for n in node.get("dependsOn").map(Node::items).unwrap_or_default() {
        let dep = n.scalar_string().unwrap_or_default();
        if ctr.all.contains(&dep) {
            ctr.fields.push("depends_on", dep);
        } else {
            notes.errors.push(
                ImportError::at(
                    &n.loc,
                    format!(
                        "container `{}` depends on `{dep}`, which is not in this JSON",
                        ctr.name
                    ),
                )
                .help("import the whole `containers` attribute set of the host"),
            );
        }
    }
    if node
        .get("autoStart")
        .is_some_and(|n| n.value == Value::Bool(false))
    {
        ctr.fields.set("auto_start", Val::Bool(false));
    }
}

/// `podman.sdnotify`, `podman.user`, `preRunExtraOptions`.
fn podman_settings(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    let podman = ctr.node.get("podman");
    let sdnotify = podman
        .and_then(|p| p.get("sdnotify"))
        .and_then(Node::as_str);
    let has_cmd = ctr.fields.health.iter().any(|(k, _)| *k == "cmd");
    let at = Origin {
        loc: podman.map_or(ctr.node.loc.clone(), |p| p.loc.clone()),
        option: "podman.sdnotify".into(),
    };
    match (sdnotify, has_cmd) {
        (Some("healthy"), false) => ctr.not_carried(notes, &at, "`healthy` without --health-cmd waits for the image's own HEALTHCHECK; set `health` (quadgen then waits for healthy)"),
        (Some("container"), _) => ctr.not_carried(notes, &at, "`container` (the container notifies systemd itself) has no inventory field"),
        (Some("conmon"), true) => ctr.note(notes, &at, "`conmon` replaced: with a health check quadgen's unit is ready only once the container is healthy (Notify=healthy)"),
        _ => {}
    }
    if let Some(u) = podman
        .and_then(|p| p.get("user"))
        .and_then(Node::as_str)
        .filter(|u| *u != "root")
    {
        let at = Origin {
            loc: at.loc.clone(),
            option: "podman.user".into(),
        };
        ctr.not_carried(notes, &at, &format!("quadgen's units are rootful: the container now runs under root's podman, whose images and named volumes are not `{u}`'s (`user` sets the user inside the container)"));
    }
    let pre = ctr.node.get("preRunExtraOptions");
    let words: Vec<String> = pre
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Node::scalar_string)
        .collect();
    if let (false, Some(n)) = (words.is_empty(), pre) {
        ctr.fields.global_args = words;
        let at = Origin {
            loc: n.loc.clone(),
            option: "preRunExtraOptions".into(),
        };
        ctr.note(
            notes,
            &at,
            "written as the raw quadlet key GlobalArgs= (podman's options before `run`), unchecked",
        );
    }
}

/// `login`: quadgen does not log in.
fn login(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    let Some(l) = ctr.node.get("login") else {
        return;
    };
    let set: Vec<&str> = ["registry", "username", "passwordFile"]
        .into_iter()
        .filter(|k| l.get(k).is_some_and(|n| !n.is_null()))
        .collect();
    if set.is_empty() {
        return;
    }
    let registry = l
        .get("registry")
        .and_then(Node::as_str)
        .unwrap_or("REGISTRY");
    let at = Origin {
        loc: l.loc.clone(),
        option: "login".into(),
    };
    ctr.not_carried(notes, &at, &format!("quadgen does not log in to registries: run `podman login --authfile /root/.config/containers/auth.json {registry}` as root once (podman's default auth file for root is under /run and is lost at a reboot; podman reads this one when that is missing)"));
}
