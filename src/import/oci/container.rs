//! One `virtualisation.oci-containers.containers.NAME` (every option, as `nix eval --json` prints
//! it) → one `[containers.NAME]` table. The options the module turns into `podman run` flags are
//! turned into the same flags here, in the module's order, and read through the one flag table
//! ([`super::flags::ROWS`]) together with `extraOptions`: so an option and the flag it becomes
//! always land in the same field.

use super::Notes;
use super::fields::{Fields, Val, comment_line};
use super::flags::{self, Field, Flag, Target};
use crate::compile::model::{Duration, parse_port};
use crate::import::map::{SECRET_ENV_DIR, secret_looking};
use crate::import::toml_out::{one_line, string};
use crate::import::yaml::{Loc, Node, Value};
use crate::import::{ImportError, MovedSecret, Warning};

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

/// Where a word came from: its place in the file and the option (`extraOptions`, `hostname`).
#[derive(Debug, Clone)]
pub struct Origin {
    pub loc: Loc,
    pub option: String,
}

/// One container being imported.
pub struct Ctr<'a> {
    pub name: &'a str,
    pub node: &'a Node,
    pub fields: Fields,
    /// Named volumes and networks it uses (they get their own tables).
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
}

impl Ctr<'_> {
    /// A warning and a `# not carried:` comment.
    pub fn not_carried(&mut self, notes: &mut Notes, at: &Origin, why: &str) {
        self.fields
            .comments
            .push_str(&comment_line(&format!("not carried: {}: {why}", at.option)));
        self.warn(notes, at, &format!("not carried: {why}"));
    }

    /// A warning and a comment (something carried differently, or dropped on purpose).
    pub fn note(&mut self, notes: &mut Notes, at: &Origin, why: &str) {
        self.fields
            .comments
            .push_str(&comment_line(&format!("{}: {why}", at.option)));
        self.warn(notes, at, why);
    }

    fn warn(&self, notes: &mut Notes, at: &Origin, message: &str) {
        notes.warnings.push(Warning {
            loc: at.loc.clone(),
            service: Some(self.name.to_string()),
            key: at.option.clone(),
            message: message.to_string(),
        });
    }

    fn origin(&self, option: &str) -> Origin {
        Origin {
            loc: self
                .node
                .get(option)
                .map_or(self.node.loc.clone(), |n| n.loc.clone()),
            option: option.to_string(),
        }
    }
}

/// Imports one container: its fields and comments in `ctr.fields`, problems in `notes`.
pub fn import(ctr: &mut Ctr<'_>, all: &[String], notes: &mut Notes) {
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
    finish_health(ctr, notes);
    command_and_order(ctr, all, notes);
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

/// The option (or `extraOptions: WORD`) a flag is reported under.
fn label(flag: &Flag<Origin>) -> Origin {
    let mut at = flag.at.clone();
    if at.option == "extraOptions" {
        at.option = format!("extraOptions: {}", flag.words.join(" "));
    }
    at
}

/// One flag into its field, `podman_args`, or a note.
fn apply(ctr: &mut Ctr<'_>, notes: &mut Notes, flag: Flag<Origin>) {
    let at = label(&flag);
    let Some(row) = flag.row else {
        let why = if flag.name.is_empty() {
            "not a podman flag: kept in podman_args as it is (podman would have read it there too)"
        } else {
            "no inventory field: kept in podman_args (passed to podman unchecked)"
        };
        ctr.fields.podman_args.extend(flag.words.iter().cloned());
        ctr.note(notes, &at, why);
        return;
    };
    if row.takes == flags::Takes::Value && flag.value.is_none() {
        ctr.not_carried(
            notes,
            &at,
            "it takes a value and has none (podman would refuse it)",
        );
        return;
    }
    match row.target {
        Target::Provided(why) => ctr.note(notes, &at, &format!("dropped: {why}")),
        Target::Later(f) => later(ctr, notes, &at, &flag, f),
        Target::Field(f) => field(ctr, notes, &at, &flag, f),
    }
}

/// A flag whose field issue 7 adds: kept in `podman_args`, saying which field it will be.
fn later(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, flag: &Flag<Origin>, f: Field) {
    let long = flag.row.map_or(flag.name.as_str(), |r| r.names[0]);
    let word = match &flag.value {
        Some(v) => format!("{long}={v}"),
        None => long.to_string(),
    };
    ctr.fields.podman_args.push(word);
    let why = match field_name(f, flag.value.as_deref()) {
        Some(name) => format!("kept in podman_args until the inventory has its field `{name}`"),
        None => "no inventory field: kept in podman_args (passed to podman unchecked)".into(),
    };
    ctr.note(notes, at, &why);
}

/// The inventory field a flag becomes.
fn field_name(f: Field, value: Option<&str>) -> Option<&'static str> {
    match f {
        Field::List(n)
        | Field::Scalar(n)
        | Field::Bool(n)
        | Field::Int(n)
        | Field::Map(n)
        | Field::Seconds(n) => Some(n),
        Field::NetworkKey(k) => Some(match k {
            "ip" => "networks[].ip",
            "ip6" => "networks[].ip6",
            "aliases" => "networks[].aliases",
            _ => "networks[].mac",
        }),
        Field::SecurityOpt if value.is_some_and(no_new_privileges) => Some("no_new_privileges"),
        Field::Env => Some("environment"),
        Field::Label => Some("labels"),
        Field::Network => Some("networks"),
        Field::Health(_) => Some("health"),
        Field::Pull => Some("pull"),
        Field::SecurityOpt => None,
    }
}

fn no_new_privileges(v: &str) -> bool {
    matches!(
        v,
        "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"
    )
}

/// A flag into the field it names.
pub(super) fn field(
    ctr: &mut Ctr<'_>,
    notes: &mut Notes,
    at: &Origin,
    flag: &Flag<Origin>,
    f: Field,
) {
    let value = flag.value.clone();
    let v = value.clone().unwrap_or_default();
    match f {
        Field::List(n) => list_item(ctr, notes, at, n, v),
        Field::Scalar(n) => ctr.fields.set(n, Val::Str(v)),
        Field::Bool(n) => match value.as_deref() {
            None | Some("true") => ctr.fields.set(n, Val::Bool(true)),
            Some("false") => ctr.fields.set(n, Val::Bool(false)),
            Some(_) => hatch(ctr, notes, at, flag, "not true or false"),
        },
        Field::Int(n) => match v.parse::<i64>() {
            Ok(i) => ctr.fields.set(n, Val::Int(i)),
            Err(_) => hatch(ctr, notes, at, flag, "not a whole number"),
        },
        Field::Seconds(n) => match v.parse::<u64>() {
            Ok(s) => ctr.fields.set(n, Val::Str(format!("{s}s"))),
            Err(_) => hatch(ctr, notes, at, flag, "not a whole number of seconds"),
        },
        Field::Map(n) => match v.split_once('=') {
            Some((k, val)) => ctr.fields.insert(n, k.to_string(), val.to_string()),
            None => hatch(ctr, notes, at, flag, "not KEY=VALUE"),
        },
        Field::Env => env(ctr, notes, at, &v),
        Field::Label => label_flag(ctr, notes, at, &v),
        Field::Network => network(ctr, notes, at, flag, &v),
        Field::NetworkKey(k) => ctr.fields.network_keys.push((k, v)),
        Field::Health(k) => health(ctr, notes, at, k, &v),
        Field::Pull => pull(ctr, notes, at, &v),
        Field::SecurityOpt if no_new_privileges(&v) => {
            ctr.fields.set("no_new_privileges", Val::Bool(true));
        }
        Field::SecurityOpt => hatch(ctr, notes, at, flag, "no inventory field"),
    }
}

/// A flag kept in `podman_args` as written, with why.
fn hatch(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, flag: &Flag<Origin>, why: &str) {
    ctr.fields.podman_args.extend(flag.words.iter().cloned());
    ctr.note(notes, at, &format!("{why}: kept in podman_args"));
}

/// A list item; ports are checked, and a named volume is remembered for its table.
fn list_item(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, name: &str, v: String) {
    if name == "ports" {
        if let Err(e) = parse_port(&v) {
            notes.errors.push(ImportError::at(&at.loc, e.to_string()));
            return;
        }
    }
    if name == "volumes" {
        let source = v.split(':').next().unwrap_or_default();
        if v.contains(':') && !source.starts_with('/') && !ctr.volumes.iter().any(|x| x == source) {
            ctr.volumes.push(source.to_string());
        }
    }
    ctr.fields.push(name, v);
}

/// `-e KEY=VALUE`: a secret-looking value is never written (the compose importer's rule).
fn env(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, v: &str) {
    let Some((k, value)) = v.split_once('=') else {
        ctr.not_carried(notes, at, &format!("`{v}` takes its value from podman's own environment (the unit's): set it in `environment`"));
        return;
    };
    if !secret_looking(k) {
        ctr.fields
            .insert("environment", k.to_string(), value.to_string());
        return;
    }
    let file = format!("{SECRET_ENV_DIR}/{}.env", ctr.name);
    ctr.fields.env_comments.push_str(&comment_line(&format!(
        "{k}: secret-looking: not written here; put it in {file}"
    )));
    ctr.warn(notes, at, &format!("its value looks secret, so it is not written into the inventory: put the line `{k}=…` (the value is in your Nix configuration, and so in the world-readable Nix store today) into `{file}` (mode 0600); the inventory lists that file in `environment_files`"));
    if !matches!(ctr.fields.get("environment_files"), Some(Val::List(f)) if f.contains(&file)) {
        ctr.fields.push("environment_files", file.clone());
    }
    notes.moved.push(MovedSecret {
        container: ctr.name.to_string(),
        key: k.to_string(),
        env_file: file,
    });
}

/// `-l KEY=VALUE`; podman's auto-update label becomes `auto_update` (quadgen's default is
/// `registry`).
fn label_flag(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, v: &str) {
    let (k, value) = v.split_once('=').unwrap_or((v, ""));
    if k != "io.containers.autoupdate" {
        ctr.fields
            .insert("labels", k.to_string(), value.to_string());
        return;
    }
    match value {
        "registry" | "image" => ctr.note(notes, at, "dropped: quadgen sets AutoUpdate=registry on every container (podman-auto-update.timer, with rollback)"),
        "local" => ctr.fields.set("auto_update", Val::Str("local".into())),
        other => ctr.not_carried(notes, at, &format!("`{other}` is not an auto-update policy quadgen knows (registry, local); quadgen's default registry applies")),
    }
}

/// `--network=X`: a network of the inventory, `host`/`none`, or another container's.
fn network(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, flag: &Flag<Origin>, v: &str) {
    let (name, opts) = match v.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (v, None),
    };
    match (name, opts) {
        ("host" | "none", None) => ctr.fields.push("networks", name.to_string()),
        ("container", Some(other)) => match flags::CONTAINER_NETWORK {
            Target::Field(_) => ctr
                .fields
                .set("network_mode", Val::Str(format!("container:{other}"))),
            _ => later(ctr, notes, at, flag, Field::Scalar("network_mode")),
        },
        ("podman" | "bridge", None) => ctr.note(
            notes,
            at,
            "dropped: podman's default network, which a container without `networks` joins",
        ),
        ("slirp4netns" | "pasta" | "private" | "ns", _) => hatch(
            ctr,
            notes,
            at,
            flag,
            "no inventory field for this network mode",
        ),
        (n, _) => {
            if let Some(o) = opts {
                ctr.not_carried(notes, at, &format!("the per-network options `{o}` (write them as --ip=, --network-alias=, --mac-address= flags)"));
            }
            if !ctr.fields.networks().iter().any(|x| x == n) {
                ctr.fields.push("networks", n.to_string());
            }
            if !ctr.networks.iter().any(|x| x == n) {
                ctr.networks.push(n.to_string());
            }
        }
    }
}

/// `--health-*`: the health check (durations and retries checked here).
fn health(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, k: &'static str, v: &str) {
    let encoded = match k {
        "retries" => match v.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => {
                notes.errors.push(ImportError::at(
                    &at.loc,
                    format!("`{v}`: health retries are a whole number"),
                ));
                return;
            }
        },
        "interval" | "timeout" | "start_period" => match Duration::parse(v) {
            Ok(_) => string(v),
            Err(e) => {
                notes.errors.push(ImportError::at(&at.loc, e.to_string()));
                return;
            }
        },
        _ => string(v),
    };
    ctr.fields.health.retain(|(hk, _)| *hk != k);
    ctr.fields.health.push((k, encoded));
}

/// Health flags without a command tune the image's own HEALTHCHECK: no field for that yet.
fn finish_health(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    if ctr.fields.health.is_empty() || ctr.fields.health.iter().any(|(k, _)| *k == "cmd") {
        return;
    }
    let at = ctr.origin("extraOptions");
    let words: Vec<String> = ctr
        .fields
        .health
        .drain(..)
        .map(|(k, v)| format!("--health-{}={}", k.replace('_', "-"), v.trim_matches('"')))
        .collect();
    ctr.fields.podman_args.extend(words);
    ctr.note(notes, &at, "health settings without --health-cmd tune the image's own HEALTHCHECK: kept in podman_args");
}

/// `pull`: quadgen's own policy applies, except `never`.
fn pull(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, v: &str) {
    match v {
        "never" => ctr.fields.set("pull", Val::Str("never".into())),
        "missing" | "newer" | "always" => ctr.note(notes, at, &format!("`{v}` dropped: quadgen's own policy applies (Pull=missing with auto-update: a registry outage never blocks a start, and podman-auto-update.timer pulls new images)")),
        other => notes.errors.push(ImportError::at(&at.loc, format!("`{other}` is not a pull policy (always, missing, never, newer)"))),
    }
}

/// `cmd`, `dependsOn`, `autoStart`.
fn command_and_order(ctr: &mut Ctr<'_>, all: &[String], notes: &mut Notes) {
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
        if all.contains(&dep) {
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
