//! One Compose service (long form) → one `[containers.NAME]` table, with a comment and a warning
//! for everything not carried.

mod fields;

use std::fmt::Write as _;

use super::probe::{self, Context};
use super::{
    AS_PODMAN_ARGS, CARRIED, Out, SECRET_ENV_DIR, env_file_for_podman, mount, object_name,
    secret_looking, show,
};
use crate::compile::model::Duration;
use crate::import::interpolate::Source;
use crate::import::load::Project;
use crate::import::toml_out::{array, comment, inline, key, list, one_line, string};
use crate::import::yaml::{Loc, Node, Value};
use crate::import::{Files, ImportError, MovedSecret, Warning};

/// What mapping one service needs to know about the whole project.
pub(super) struct Ctx<'a> {
    pub project: &'a Project,
    pub files: &'a dyn Files,
    pub services: &'a [(String, Node)],
    pub top_networks: Option<&'a Node>,
    pub top_volumes: Option<&'a Node>,
    pub top_secrets: Option<&'a Node>,
    /// The restart policy `[defaults]` sets (every service has the same).
    pub default_restart: Option<String>,
}

/// The inventory's restart policy for Compose's (`unless-stopped` is `always`: systemd never
/// restarts a unit that was stopped on purpose); `None` for an unknown policy.
pub(super) fn restart_policy(compose: &str) -> Option<&'static str> {
    match compose {
        "no" => Some("no"),
        "always" | "unless-stopped" => Some("always"),
        "on-failure" => Some("on-failure"),
        r if r.starts_with("on-failure:") => Some("on-failure"),
        _ => None,
    }
}

impl Ctx<'_> {
    /// The container a service becomes: named after the service, which is the DNS name other
    /// services use in Compose (a `container_name` becomes a network alias).
    pub fn container_of(&self, svc: &str) -> String {
        svc.to_string()
    }
}

/// The networks, volumes and secrets the services use, each as (Compose key, inventory name),
/// first use first; a secret also with its file.
#[derive(Debug, Default)]
pub(super) struct Used {
    pub networks: Vec<(String, String)>,
    pub volumes: Vec<(String, String)>,
    pub secrets: Vec<(String, String, String)>,
}

/// Podman arguments no inventory field holds, and the Compose keys they come from.
#[derive(Debug, Default)]
struct Args {
    words: Vec<String>,
    keys: Vec<String>,
}

impl Args {
    fn add(&mut self, key: &str, words: Vec<String>) {
        if !self.keys.iter().any(|k| k == key) {
            self.keys.push(key.to_string());
        }
        self.words.extend(words);
    }
}

/// One service being mapped.
struct Svc<'a> {
    ctx: &'a Ctx<'a>,
    name: &'a String,
    svc: &'a Node,
    /// The container it becomes.
    cname: String,
}

/// The table for `svc`; networks, volumes and secrets it uses are added (first use first).
pub(super) fn container(
    ctx: &Ctx<'_>,
    svc_name: &String,
    svc: &Node,
    out: &mut Out,
    used: &mut Used,
) -> String {
    let container_of = |s: &str| ctx.container_of(s);
    let mut buf = String::new();
    let cname = container_of(svc_name);
    let _ = writeln!(buf, "[containers.{}]", key(&cname));
    refuse_secrets_outside_environment(svc_name, svc, out);
    let svc_ref = Svc {
        ctx,
        name: svc_name,
        svc,
        cname: cname.clone(),
    };
    let mut args = Args::default();
    image_and_command(&svc_ref, &mut buf, out);
    let env_lines = environment(&svc_ref, &mut buf, out);
    ports(&svc_ref, &mut buf, out);
    mounts(&svc_ref, &mut buf, out, used);
    networks_and_user(&svc_ref, &mut buf, out, used, &mut args);
    dependencies(&svc_ref, &mut buf, out);
    let no_healthcheck = health(&svc_ref, &mut buf, out);
    restart_stop_devices(&svc_ref, &mut buf, out);
    fields::write(&svc_ref, &mut buf, out, &mut args);
    podman_args(&svc_ref, &mut buf, no_healthcheck, args);
    not_carried(&svc_ref, &mut buf, out);
    tables(&svc_ref, &mut buf, out, &env_lines);
    buf
}

/// Image and command, entrypoint.
fn image_and_command(s: &Svc<'_>, buf: &mut String, out: &mut Out) {
    let svc_name = s.name;
    let svc = s.svc;
    let sref = Some(s.name.as_str());
    // image
    match (svc.get("image").and_then(Node::as_str), svc.get("build")) {
        (None, Some(b)) => out.errors.push(
            ImportError::at(&b.loc, format!("service `{svc_name}` is built from source (`build:`) and names no `image`"))
                .help("quadgen runs published images: build and push the image, then set `image:` in the compose file (or import with an override file that sets it)"),
        ),
        (None, None) => out.errors.push(ImportError::at(&svc.loc, format!("service `{svc_name}` has no `image`"))),
        (Some(raw), build) => {
            if let Some(b) = build {
                out.not_carried(buf, &b.loc, sref, "build", &format!("the image `{raw}` is pulled as it is; quadgen does not build images (build and push it yourself)"));
            }
            match super::qualified_image(raw) {
                Ok(None) => {
                    let _ = writeln!(buf, "image = {}", string(raw));
                }
                Ok(Some(qualified)) => {
                    let _ = writeln!(buf, "image = {}   # Compose: {} (a short name, qualified as Docker resolves it)", string(&qualified), one_line(raw));
                }
                Err(e) => out.errors.push(ImportError::at(&svc.get("image").map_or(svc.loc.clone(), |i| i.loc.clone()), e)),
            }
        }
    }
    // command, entrypoint
    if let Some(c) = svc.get("command").filter(|c| !c.is_null()) {
        let words: Vec<String> = c.items().iter().filter_map(Node::scalar_string).collect();
        let _ = writeln!(buf, "cmd = {}", array(&words));
    }
    if let Some(e) = svc.get("entrypoint").filter(|c| !c.is_null()) {
        let words: Vec<String> = e.items().iter().filter_map(Node::scalar_string).collect();
        match words.as_slice() {
            [] => {}
            [one] => {
                let _ = writeln!(buf, "entrypoint = {}", string(one));
            }
            many => {
                let json = serde_json::to_string(many).unwrap_or_default();
                let _ = writeln!(
                    buf,
                    "entrypoint = {}   # podman reads a JSON list as the entrypoint's words",
                    string(&json)
                );
            }
        }
    }
}

/// `env_file` and `environment`; returns the `[…environment]` lines (secret-looking values from .env moved out).
fn environment(s: &Svc<'_>, buf: &mut String, out: &mut Out) -> String {
    let svc = s.svc;
    // env files, then environment (with secrets moved out)
    let mut env_files: Vec<String> = Vec::new();
    let mut inlined: Vec<(String, String, String)> = Vec::new(); // key, value, from file
    for f in svc.get("env_file").map(Node::items).unwrap_or_default() {
        env_file(s, f, buf, out, &mut env_files, &mut inlined);
    }
    let mut env_lines = String::new();
    for (k, v, from) in &inlined {
        let _ = writeln!(
            env_lines,
            "{} = {}   # from {}",
            key(k),
            string(v),
            one_line(from)
        );
    }
    let mut secret_file: Option<String> = None;
    for (k, v) in svc
        .get("environment")
        .map(Node::entries)
        .unwrap_or_default()
    {
        environment_entry(s, k, v, &mut env_lines, &mut secret_file, out);
    }
    if let Some(f) = &secret_file {
        env_files.push(f.clone());
    }
    if !env_files.is_empty() {
        let _ = writeln!(buf, "environment_files = {}", array(&env_files));
    }
    env_lines
}

/// One `env_file` item: kept as an env file, or (where podman reads it differently and it holds
/// nothing secret-looking) its entries inlined; a missing or unreadable file is an error.
fn env_file(
    s: &Svc<'_>,
    f: &Node,
    buf: &mut String,
    out: &mut Out,
    env_files: &mut Vec<String>,
    inlined: &mut Vec<(String, String, String)>,
) {
    let project = s.ctx.project;
    let files = s.ctx.files;
    let sref = Some(s.name.as_str());
    let path = f
        .get("path")
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_string();
    let required = f
        .get("required")
        .is_none_or(|r| r.value != Value::Bool(false));
    match files.read(std::path::Path::new(&path)) {
        Ok(Some(text)) => match env_file_for_podman(&text, &project.vars) {
            Ok(None) => env_files.push(path),
            Ok(Some(entries)) => {
                let secret = entries.iter().any(|(k, _)| secret_looking(k));
                if secret {
                    env_files.push(path.clone());
                    out.note(buf, &f.loc, sref, "env_file", &format!("`{path}` uses quotes, `export` or `${{VAR}}`, which Compose reads and podman does not; it holds secret-looking keys, so it stays an env file: rewrite it as plain KEY=VALUE lines"));
                } else {
                    out.note(buf, &f.loc, sref, "env_file", &format!("`{path}` uses quotes, `export` or `${{VAR}}`, which podman reads differently: its values are written below as Compose reads them"));
                    for (k, v) in entries {
                        inlined.push((k, v, path.clone()));
                    }
                }
            }
            Err((line, m)) => out.errors.push(ImportError::at(
                &Loc {
                    line,
                    col: 1,
                    ..Loc::file(std::path::Path::new(&path))
                },
                m,
            )),
        },
        Ok(None) if !required => out.note(
            buf,
            &f.loc,
            sref,
            "env_file",
            &format!("`{path}` does not exist and is optional: left out"),
        ),
        Ok(None) => out.errors.push(
            ImportError::at(&f.loc, format!("the env file `{path}` does not exist"))
                .help("create it, or mark it `required: false`"),
        ),
        Err(e) => out.errors.push(ImportError::at(
            &f.loc,
            format!("cannot read `{path}`: {e}"),
        )),
    }
}

/// One `environment` entry: its line (with where its variables came from), a comment for an
/// unset one, or (secret-looking) moved out to the service's secret env file.
fn environment_entry(
    s: &Svc<'_>,
    k: &String,
    v: &Node,
    env_lines: &mut String,
    secret_file: &mut Option<String>,
    out: &mut Out,
) {
    let project = s.ctx.project;
    let Some(value) = v.scalar_string() else {
        let _ = write!(
            env_lines,
            "{}",
            comment(&format!(
                "{k}: unset in Compose's environment too, so not set"
            ))
        );
        return;
    };
    let from_env_file: Vec<&str> = v
        .used
        .iter()
        .filter(|u| matches!(u.source, Some(Source::EnvFile(_))))
        .map(|u| u.name.as_str())
        .collect();
    let secret = if project.normalized {
        secret_looking(k)
    } else {
        !from_env_file.is_empty()
            && (secret_looking(k) || from_env_file.iter().any(|n| secret_looking(n)))
    };
    if secret {
        move_secret(s, k, v, &from_env_file, env_lines, secret_file, out);
        return;
    }
    let vars = variable_sources(project, v);
    if vars.is_empty() {
        let _ = writeln!(env_lines, "{} = {}", key(k), string(&value));
    } else {
        let _ = writeln!(
            env_lines,
            "{} = {}   # {}",
            key(k),
            string(&value),
            vars.join(", ")
        );
    }
}

/// A secret-looking `environment` entry: a comment where it would be, a warning, and a note that
/// it belongs in the service's secret env file.
fn move_secret(
    s: &Svc<'_>,
    k: &String,
    v: &Node,
    from_env_file: &[&str],
    env_lines: &mut String,
    secret_file: &mut Option<String>,
    out: &mut Out,
) {
    let cname = &s.cname;
    let origin = if s.ctx.project.normalized {
        "Compose's JSON does not say whether it came from .env".to_string()
    } else {
        format!("from .env: {}", from_env_file.join(", "))
    };
    let file = secret_file
        .get_or_insert_with(|| format!("{SECRET_ENV_DIR}/{cname}.env"))
        .clone();
    let _ = write!(
        env_lines,
        "{}",
        comment(&format!(
            "{k}: secret-looking ({origin}): not written here; put it in {file}"
        ))
    );
    out.warnings.push(Warning {
        loc: v.loc.clone(),
        service: Some(s.name.clone()),
        key: format!("environment.{k}"),
        message: format!("its value looks secret ({origin}), so it is not written into the inventory: put the line `{k}=…` into `{file}` (mode 0600); the inventory lists that file in `environment_files`"),
    });
    out.moved.push(MovedSecret {
        container: cname.clone(),
        key: k.clone(),
        env_file: file,
    });
}

/// Where each variable interpolated into `v` came from, for the comment after its line.
fn variable_sources(project: &Project, v: &Node) -> Vec<String> {
    v.used
        .iter()
        .map(|u| match &u.source {
            Some(Source::EnvFile(f)) => {
                let shown = std::path::Path::new(f)
                    .strip_prefix(&project.dir)
                    .map_or_else(|_| f.clone(), |p| p.display().to_string());
                format!("{} from {}", u.name, one_line(&shown))
            }
            Some(Source::Shell) => format!("{} from the environment", u.name),
            None => format!("{} unset", u.name),
        })
        .collect()
}

/// `ports` and `expose`.
fn ports(s: &Svc<'_>, buf: &mut String, out: &mut Out) {
    let svc = s.svc;
    let sref = Some(s.name.as_str());
    let mode = svc.get("network_mode").and_then(Node::as_str);
    if let (Some(p), Some(Ok(Some(owner)))) = (svc.get("ports"), mode.map(|m| network_mode(s, m))) {
        if owner.starts_with("container:") {
            let why = format!(
                "the container shares another's network (`{owner}`), which publishes the ports: move them to that service (Docker refuses them here too)"
            );
            out.not_carried(buf, &p.loc, sref, "ports", &why);
            return;
        }
    }
    let mut ports = Vec::new();
    for p in svc.get("ports").map(Node::items).unwrap_or_default() {
        let target = p
            .get("target")
            .and_then(Node::scalar_string)
            .unwrap_or_default();
        let protocol = p.get("protocol").and_then(Node::as_str).unwrap_or("tcp");
        let published = p
            .get("published")
            .and_then(Node::scalar_string)
            .unwrap_or_default();
        let ip = p.get("host_ip").and_then(Node::as_str).unwrap_or_default();
        if published.contains('-') && !target.contains('-') {
            out.not_carried(buf, &p.loc, sref, "ports", &format!("`{published}:{target}` (any free host port of a range) has no podman equivalent; pick one host port"));
            continue;
        }
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        let mut s = match (ip.is_empty(), published.is_empty()) {
            (true, true) => target.clone(),
            (true, false) => format!("{published}:{target}"),
            (false, _) => format!("{ip}:{published}:{target}"),
        };
        if protocol != "tcp" {
            s.push('/');
            s.push_str(protocol);
        }
        ports.push(s);
    }
    if !ports.is_empty() {
        let _ = writeln!(buf, "ports = {}", array(&ports));
    }
    if let Some(e) = svc.get("expose") {
        out.note(
            buf,
            &e.loc,
            sref,
            "expose",
            &format!(
                "expose {} is not needed: containers on a shared network reach every port",
                show(e)
            ),
        );
    }
}

/// `volumes`, and `secrets` from files as podman secrets (read-only bind mounts where the
/// inventory refuses the secret).
fn mounts(s: &Svc<'_>, buf: &mut String, out: &mut Out, used: &mut Used) {
    let svc = s.svc;
    let mut mounts = Vec::new();
    for v in svc.get("volumes").map(Node::items).unwrap_or_default() {
        if let Some(m) = volume_mount(s, v, buf, out, &mut used.volumes) {
            mounts.push(m);
        }
    }
    let mut secrets = Vec::new();
    let mut targets = Vec::new();
    for sec in svc.get("secrets").map(Node::items).unwrap_or_default() {
        match secret(
            s,
            sec,
            buf,
            out,
            &mut used.secrets,
            (&secrets, &mut targets),
        ) {
            Some(Ok(item)) => secrets.push(item),
            Some(Err(m)) => mounts.push(m),
            None => {}
        }
    }
    if !mounts.is_empty() {
        let _ = writeln!(buf, "volumes = {}", array(&mounts));
    }
    if !secrets.is_empty() {
        let _ = writeln!(buf, "secrets = {}", list(&secrets));
    }
}

/// One `volumes` item as a mount; `None` when it is refused or not carried.
fn volume_mount(
    s: &Svc<'_>,
    v: &Node,
    buf: &mut String,
    out: &mut Out,
    volumes: &mut Vec<(String, String)>,
) -> Option<String> {
    let project = s.ctx.project;
    let top_volumes = s.ctx.top_volumes;
    let svc_name = s.name;
    let sref = Some(s.name.as_str());
    let kind = v.get("type").and_then(Node::as_str).unwrap_or("volume");
    let target = v.get("target").and_then(Node::as_str).unwrap_or_default();
    let source = v.get("source").and_then(Node::as_str);
    let mut opts: Vec<String> = Vec::new();
    if v.get("read_only")
        .is_some_and(|r| r.value == Value::Bool(true))
    {
        opts.push("ro".into());
    }
    mount_keys_not_carried(v, target, sref, buf, out);
    match (kind, source) {
        ("bind", Some(src)) => {
            bind_options(v, sref, buf, out, &mut opts);
            if src
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, ':' | '$' | '"' | '\'' | '\\' | '%'))
            {
                out.errors.push(ImportError::at(&v.loc, format!("the host path `{src}` has a character quadgen refuses in host paths (whitespace, `:`, quotes, `$`, `%` or `\\`)")).help("move or link the directory to a plain path and use that"));
                return None;
            }
            Some(mount(src, target, &opts))
        }
        ("volume", Some(src)) => {
            volume_options(v, sref, buf, out, &mut opts);
            let (name, _) = object_name(&project.name, top_volumes, src);
            if top_volumes.and_then(|t| t.get(src)).is_none() {
                out.errors.push(ImportError::at(&v.loc, format!("service `{svc_name}` uses the volume `{src}`, which the top-level `volumes` does not declare")));
                return None;
            }
            if !volumes.iter().any(|(k, _)| k == src) {
                volumes.push((src.to_string(), name.clone()));
            }
            Some(mount(&name, target, &opts))
        }
        ("volume", None) => Some(mount("", target, &opts)),
        // a `tmpfs` field, with the `tmpfs` key's (see `fields`)
        ("tmpfs", _) => None,
        (other, _) => {
            out.not_carried(buf, &v.loc, sref, "volumes", &format!("a `{other}` mount at `{target}` has no inventory form (bind, volume and tmpfs mounts do)"));
            None
        }
    }
}

/// Notes the keys of a `volumes` item that have no inventory form.
fn mount_keys_not_carried(
    v: &Node,
    target: &str,
    sref: Option<&str>,
    buf: &mut String,
    out: &mut Out,
) {
    for (k, n) in v.entries() {
        if matches!(
            k.as_str(),
            "type"
                | "source"
                | "target"
                | "read_only"
                | "bind"
                | "volume"
                | "tmpfs"
                | "consistency"
        ) {
            continue;
        }
        out.not_carried(
            buf,
            &n.loc,
            sref,
            &format!("volumes.{k}"),
            &format!(
                "`{k}: {}` of the mount at `{target}` has no inventory form yet",
                show(n)
            ),
        );
    }
}

/// A bind mount's `bind` settings as mount options (`selinux`, `propagation`).
fn bind_options(
    v: &Node,
    sref: Option<&str>,
    buf: &mut String,
    out: &mut Out,
    opts: &mut Vec<String>,
) {
    if let Some(b) = v.get("bind") {
        for (k, n) in b.entries() {
            match (k.as_str(), &n.value) {
                ("create_host_path", _) => {}
                ("selinux", Value::Str(s)) => opts.push(s.clone()),
                ("propagation", Value::Str(s)) => opts.push(s.clone()),
                _ => out.not_carried(
                    buf,
                    &n.loc,
                    sref,
                    &format!("volumes.bind.{k}"),
                    &format!("`{k}: {}` has no inventory form yet", show(n)),
                ),
            }
        }
    }
}

/// A volume mount's `volume` settings as mount options (`nocopy`).
fn volume_options(
    v: &Node,
    sref: Option<&str>,
    buf: &mut String,
    out: &mut Out,
    opts: &mut Vec<String>,
) {
    if let Some(vo) = v.get("volume") {
        for (k, n) in vo.entries() {
            match (k.as_str(), &n.value) {
                ("nocopy", Value::Bool(true)) => opts.push("nocopy".into()),
                ("nocopy", _) => {}
                _ => out.not_carried(
                    buf,
                    &n.loc,
                    sref,
                    &format!("volumes.volume.{k}"),
                    &format!("`{k}: {}` has no inventory form yet", show(n)),
                ),
            }
        }
    }
}

/// One `secrets` item: `Ok` its entry in the container's `secrets` (the file becomes
/// `[secrets.NAME]`, added to `used`), `Err` a read-only bind mount of the file where the
/// inventory refuses the secret, `None` when it is not a file.
fn secret(
    sv: &Svc<'_>,
    s: &Node,
    buf: &mut String,
    out: &mut Out,
    used: &mut Vec<(String, String, String)>,
    (accepted, targets): (&[String], &mut Vec<String>),
) -> Option<Result<String, String>> {
    let project = sv.ctx.project;
    let top_secrets = sv.ctx.top_secrets;
    let sref = Some(sv.name.as_str());
    let source = s.get("source").and_then(Node::as_str).unwrap_or_default();
    let target = s
        .get("target")
        .and_then(Node::as_str)
        .map_or_else(|| format!("/run/secrets/{source}"), str::to_string);
    let target = if target.starts_with('/') {
        target
    } else {
        format!("/run/secrets/{target}")
    };
    if targets.contains(&target) {
        let why = format!("another of its secrets is already at `{target}`");
        out.not_carried(buf, &s.loc, sref, "secrets", &why);
        return None;
    }
    let def = top_secrets.and_then(|t| t.get(source));
    let Some(f) = def.and_then(|d| d.get("file")).and_then(Node::as_str) else {
        let why = match def
            .and_then(|d| d.get("environment"))
            .and_then(Node::as_str)
        {
            Some(var) => format!(
                "secret `{source}` is the variable `{var}` of the environment Compose runs in; the inventory reads secrets from files: write the value into a file and add it as `[secrets.NAME]`"
            ),
            None => {
                format!("secret `{source}` is not a file; the inventory reads secrets from files")
            }
        };
        out.not_carried(buf, &s.loc, sref, "secrets", &why);
        return None;
    };
    let file = if f.starts_with('/') {
        f.to_string()
    } else {
        crate::import::canon::resolve(&project.dir, f)
    };
    let (name, _) = object_name(&project.name, top_secrets, source);
    let item = secret_entry(sv, s, &name, &target);
    // Probed with the service's secrets accepted so far: two at one target, or one secret
    // twice, is refused here rather than in the written inventory.
    let mut tables = format!("[secrets.{}]\nfile = {}\n", key(&name), string(&file));
    for (_, other, other_file) in used.iter().filter(|(_, n, _)| *n != name) {
        let _ = writeln!(
            tables,
            "[secrets.{}]\nfile = {}",
            key(other),
            string(other_file)
        );
    }
    let ctx = Context {
        container: String::new(),
        tables,
    };
    let all: Vec<&str> = accepted
        .iter()
        .map(String::as_str)
        .chain([item.as_str()])
        .collect();
    if let Some(why) = probe::refusal(&ctx, &format!("secrets = [{}]", all.join(", "))) {
        out.note(buf, &s.loc, sref, "secrets", &format!("secret `{source}` (a file): mounted read-only at {target}, as Compose does: the inventory refuses it as a secret: {why}"));
        return Some(Err(mount(&file, &target, &["ro".to_string()])));
    }
    if !used.iter().any(|(k, _, _)| k == source) {
        used.push((source.to_string(), name, file));
    }
    targets.push(target);
    Some(Ok(item))
}

/// A container's `secrets` entry for podman secret `name` at `target`: the name, or a table with
/// the target, `uid`, `gid` and `mode` where Compose sets them.
fn secret_entry(sv: &Svc<'_>, s: &Node, name: &str, target: &str) -> String {
    let mut fields: Vec<(&str, String)> = vec![("name", string(name))];
    if target != format!("/run/secrets/{name}") {
        fields.push(("target", string(target)));
    }
    for k in ["uid", "gid"] {
        if let Some(id) = s.get(k).and_then(Node::scalar_string) {
            fields.push((
                k,
                id.parse::<i64>()
                    .map_or_else(|_| string(&id), |i| i.to_string()),
            ));
        }
    }
    if let Some(m) = s.get("mode") {
        let mode = octal_mode(m, sv.ctx.project.normalized);
        fields.push(("mode", string(&mode.unwrap_or_else(|| show(m)))));
    }
    match fields.as_slice() {
        [(_, only)] => only.clone(),
        _ => inline(&fields),
    }
}

/// A secret's `mode` as an octal string: Compose's JSON has the number (older versions) or the
/// octal text; YAML's `0400` reads as the number 400, whose digits are the octal mode.
fn octal_mode(n: &Node, normalized: bool) -> Option<String> {
    let digits = match &n.value {
        Value::Int(i) if normalized => return u32::try_from(*i).ok().map(|v| format!("{v:04o}")),
        Value::Int(i) => i.to_string(),
        Value::Str(t) => t.strip_prefix("0o").unwrap_or(t).to_string(),
        _ => return None,
    };
    u32::from_str_radix(&digits, 8)
        .ok()
        .map(|v| format!("{v:04o}"))
}

/// `networks` / `network_mode`, and `user`.
fn networks_and_user(
    s: &Svc<'_>,
    buf: &mut String,
    out: &mut Out,
    used: &mut Used,
    args: &mut Args,
) {
    let svc = s.svc;
    let sref = Some(s.name.as_str());
    match svc.get("network_mode") {
        Some(m) => {
            let mode = m.as_str().unwrap_or_default();
            match network_mode(s, mode) {
                Ok(Some(inventory)) => {
                    let _ = writeln!(buf, "network_mode = {}", string(&inventory));
                }
                Ok(None) => {
                    let _ = write!(
                        buf,
                        "{}",
                        comment("network_mode: bridge: podman's default network")
                    );
                }
                Err(why) => out.not_carried(buf, &m.loc, sref, "network_mode", &why),
            }
            if let Some(n) = svc.get("container_name") {
                let name = n.as_str().unwrap_or_default();
                if name != s.name.as_str() && mode != "bridge" {
                    out.not_carried(buf, &n.loc, sref, "container_name", &format!("the container is named `{}` after its service; `{name}` needs a network to be an alias on", s.name));
                }
            }
        }
        None => declared_networks(s, buf, out, used, args),
    }
    if let Some(u) = svc.get("user").and_then(Node::scalar_string) {
        let _ = writeln!(buf, "user = {}", string(&u));
    }
}

/// The inventory's `network_mode` for Compose's: `Ok(None)` for `bridge` (podman's default
/// network), `Err` why it is not carried.
fn network_mode(s: &Svc<'_>, mode: &str) -> Result<Option<String>, String> {
    let services = s.ctx.services;
    let owner = match mode.split_once(':') {
        _ if mode == "host" || mode == "none" => return Ok(Some(mode.to_string())),
        _ if mode == "bridge" => return Ok(None),
        // another service's container, by service name
        Some(("service", x)) => services.iter().find(|(n, _)| n == x).map(|(n, _)| n),
        // a container by its name: an imported service's, by its `container_name` or its name
        Some(("container", x)) => services
            .iter()
            .find(|(n, svc)| n == x || svc.get("container_name").and_then(Node::as_str) == Some(x))
            .map(|(n, _)| n),
        _ => {
            return Err(format!(
                "`{mode}` has no inventory form (the inventory takes `host`, `none` and `container:NAME`)"
            ));
        }
    };
    match owner {
        Some(o) if o != s.name => Ok(Some(format!("container:{}", s.ctx.container_of(o)))),
        _ => Err(format!("`{mode}` is not a service of this import")),
    }
}

/// The service's `networks` (Compose's implicit `default` when none), each a name or a table
/// with its aliases (and `container_name` as one), address and MAC on that network; first uses
/// are added to `used`. Settings the inventory refuses: aliases as `--network-alias` words, the
/// rest not carried.
fn declared_networks(
    s: &Svc<'_>,
    buf: &mut String,
    out: &mut Out,
    used: &mut Used,
    args: &mut Args,
) {
    let project = s.ctx.project;
    let top_networks = s.ctx.top_networks;
    let svc = s.svc;
    let declared: Vec<(String, Node)> = match svc.get("networks") {
        Some(n) => n.entries().to_vec(),
        None => vec![(
            "default".to_string(),
            Node::new(Value::Null, svc.loc.clone()),
        )],
    };
    let mut nets: Vec<String> = Vec::new();
    for (k, settings) in declared {
        if k != "default" && top_networks.and_then(|t| t.get(&k)).is_none() {
            out.errors.push(ImportError::at(&settings.loc, format!("service `{}` uses the network `{k}`, which the top-level `networks` does not declare", s.name)));
            continue;
        }
        let (name, _) = object_name(&project.name, top_networks, &k);
        nets.push(network_entry(s, buf, out, args, &k, &name, &settings));
        if !used.networks.iter().any(|(c, _)| *c == k) {
            used.networks.push((k.clone(), name));
        }
    }
    if !nets.is_empty() {
        let _ = writeln!(buf, "networks = {}", list(&nets));
    }
}

/// One `networks` entry: the network's name, or a table with the settings the inventory takes.
fn network_entry(
    s: &Svc<'_>,
    buf: &mut String,
    out: &mut Out,
    args: &mut Args,
    k: &str,
    name: &str,
    settings: &Node,
) -> String {
    let sref = Some(s.name.as_str());
    let mut aliases: Vec<String> = Vec::new();
    let mut fields: Vec<(&str, String)> = vec![("name", string(name))];
    for (sk, sv) in settings.entries() {
        let field = match sk.as_str() {
            "aliases" => {
                aliases.extend(sv.items().iter().filter_map(Node::scalar_string));
                continue;
            }
            "ipv4_address" => "ip",
            "ipv6_address" => "ip6",
            "mac_address" => "mac",
            _ => {
                let why = format!(
                    "`{sk}: {}` on network `{k}` has no inventory field",
                    show(sv)
                );
                out.not_carried(buf, &sv.loc, sref, &format!("networks.{k}.{sk}"), &why);
                continue;
            }
        };
        if let Some(v) = sv.scalar_string() {
            fields.push((field, string(&v)));
        }
    }
    if let Some(c) = s.svc.get("container_name").and_then(Node::as_str) {
        if c != s.name.as_str() {
            aliases.push(c.to_string());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    aliases.retain(|a| seen.insert(a.clone()));
    if !aliases.is_empty() {
        fields.push(("aliases", array(&aliases)));
    }
    if fields.len() == 1 {
        return string(name);
    }
    let table = inline(&fields);
    let mut network = String::new();
    let def = s.ctx.top_networks.and_then(|t| t.get(k));
    super::network_fields(&mut Out::scratch(), &mut network, def, k);
    let ctx = Context {
        container: String::new(),
        tables: format!("[networks.{}]\n{network}", key(name)),
    };
    let Some(why) = probe::refusal(&ctx, &format!("networks = [{table}]")) else {
        return table;
    };
    network_refused(s, buf, out, args, k, &fields, &aliases, &why);
    string(name)
}

/// A network's settings the inventory refuses (`why`): its aliases as `--network-alias` words
/// (podman sets them on every network the container joins), the rest not carried.
#[allow(clippy::too_many_arguments)]
fn network_refused(
    s: &Svc<'_>,
    buf: &mut String,
    out: &mut Out,
    args: &mut Args,
    k: &str,
    fields: &[(&str, String)],
    aliases: &[String],
    why: &str,
) {
    let sref = Some(s.name.as_str());
    let loc = s
        .svc
        .get("networks")
        .map_or(s.svc.loc.clone(), |n| n.loc.clone());
    for (f, v) in fields
        .iter()
        .filter(|(f, _)| !matches!(*f, "name" | "aliases"))
    {
        out.not_carried(
            buf,
            &loc,
            sref,
            &format!("networks.{k}"),
            &format!("`{f} = {v}`: the inventory refuses it: {why}"),
        );
    }
    if aliases.iter().any(|a| a.chars().any(char::is_control)) {
        out.not_carried(
            buf,
            &loc,
            sref,
            &format!("networks.{k}.aliases"),
            "a control character in an alias",
        );
    } else if !aliases.is_empty() {
        out.note(buf, &loc, sref, &format!("networks.{k}.aliases"), &format!("aliases {} stay podman arguments (set on every network the container joins): the inventory refuses them: {why}", aliases.join(", ")));
        args.add(
            "networks.*.aliases",
            aliases
                .iter()
                .map(|a| format!("--network-alias={a}"))
                .collect(),
        );
    }
}

/// `depends_on`, and the dependencies Compose implies.
fn dependencies(s: &Svc<'_>, buf: &mut String, out: &mut Out) {
    let services = s.ctx.services;
    let container_of = |x: &str| s.ctx.container_of(x);
    let svc = s.svc;
    let sref = Some(s.name.as_str());
    // depends_on
    let mut deps = Vec::new();
    let mut soft = Vec::new();
    let implied: Vec<(String, Node)> = crate::import::load::dependencies(svc)
        .into_iter()
        .filter(|(d, _)| svc.get("depends_on").and_then(|x| x.get(d)).is_none())
        .map(|(d, loc)| (d, Node::map(Vec::new(), &loc)))
        .collect();
    for (d, _) in &implied {
        let _ = write!(
            buf,
            "{}",
            comment(&format!(
                "{d}: a dependency Compose implies (network_mode, ipc, pid or volumes_from)"
            ))
        );
    }
    let explicit: Vec<(String, Node)> = svc
        .get("depends_on")
        .map(|d| d.entries().to_vec())
        .unwrap_or_default();
    for (d, spec) in explicit.iter().chain(implied.iter()) {
        let Some((_, dep)) = services.iter().find(|(n, _)| n == d) else {
            out.note(buf, &spec.loc, sref, "depends_on", &format!("`{d}` is not imported (not defined, or its profile is not active): the dependency is left out"));
            continue;
        };
        let condition = spec
            .get("condition")
            .and_then(Node::as_str)
            .unwrap_or("service_started");
        let required = spec
            .get("required")
            .is_none_or(|r| r.value != Value::Bool(false));
        let target = container_of(d);
        match condition {
            "service_healthy" => {
                let has_check = dep.get("healthcheck").and_then(|h| h.get("test")).and_then(|t| t.items().first()).and_then(Node::as_str).is_some_and(|t| t != "NONE");
                if has_check {
                    let _ = write!(buf, "{}", comment(&format!("{d}: service_healthy: its health check gates its start (Notify=healthy), so this waits for it")));
                } else {
                    out.note(buf, &spec.loc, sref, "depends_on", &format!("`{d}` has no health check, so `service_healthy` can only wait for it to start"));
                }
            }
            "service_completed_successfully" => out.note(buf, &spec.loc, sref, "depends_on", &format!("`{d}`: service_completed_successfully: this waits for it to start, not to finish (a one-shot unit is not generated yet)")),
            _ => {}
        }
        if required {
            deps.push(target)
        } else {
            soft.push(format!("{target}.service"))
        }
    }
    if !deps.is_empty() {
        let _ = writeln!(buf, "depends_on = {}", array(&deps));
    }
    if !soft.is_empty() {
        let _ = writeln!(
            buf,
            "after = {}   # depends_on with required: false",
            array(&soft)
        );
        let _ = writeln!(buf, "wants = {}", array(&soft));
    }
}

/// `healthcheck`; returns whether Compose disabled it.
fn health(s: &Svc<'_>, buf: &mut String, out: &mut Out) -> bool {
    let svc = s.svc;
    let sref = Some(s.name.as_str());
    let mut no_healthcheck = false;
    // healthcheck
    if let Some(h) = svc.get("healthcheck") {
        let test: Vec<String> = h
            .get("test")
            .map(|t| t.items().iter().filter_map(Node::scalar_string).collect())
            .unwrap_or_default();
        let cmd = match test.split_first() {
            Some((kind, rest)) if kind == "CMD-SHELL" => Some(rest.join(" ")),
            Some((kind, rest)) if kind == "CMD" => {
                Some(serde_json::to_string(rest).unwrap_or_default())
            }
            Some((kind, _)) if kind == "NONE" => {
                let _ = write!(
                    buf,
                    "{}",
                    comment(
                        "healthcheck: disabled in Compose, so the image's own check is off too (--no-healthcheck)"
                    )
                );
                no_healthcheck = true;
                None
            }
            None => None,
            Some((kind, _)) => {
                out.not_carried(
                    buf,
                    &h.loc,
                    sref,
                    "healthcheck.test",
                    &format!("`{kind}` is not CMD, CMD-SHELL or NONE"),
                );
                None
            }
        };
        if let Some(cmd) = cmd.filter(|c| !c.trim().is_empty()) {
            let mut fields: Vec<(&str, String)> = vec![("cmd", string(&cmd))];
            for k in ["interval", "timeout", "start_period"] {
                if let Some(v) = h.get(k).and_then(Node::scalar_string) {
                    match Duration::parse(&v) {
                        Ok(_) => fields.push((k, string(&v))),
                        Err(e) => out.not_carried(
                            buf,
                            &h.loc,
                            sref,
                            &format!("healthcheck.{k}"),
                            &e.to_string(),
                        ),
                    }
                }
            }
            if let Some(r) = h.get("retries").and_then(Node::scalar_string) {
                fields.push(("retries", r));
            }
            for (k, n) in h.entries() {
                if !matches!(
                    k.as_str(),
                    "test" | "interval" | "timeout" | "start_period" | "retries"
                ) {
                    out.not_carried(
                        buf,
                        &n.loc,
                        sref,
                        &format!("healthcheck.{k}"),
                        "no inventory field yet",
                    );
                }
            }
            let _ = writeln!(buf, "health = {}", inline(&fields));
        }
    }
    no_healthcheck
}

/// `restart`, `stop_grace_period`, `devices`.
fn restart_stop_devices(s: &Svc<'_>, buf: &mut String, out: &mut Out) {
    let svc = s.svc;
    let sref = Some(s.name.as_str());
    // restart (left out when `[defaults]` has the same), stop timeout, devices
    if let Some(r) = svc.get("restart").and_then(Node::as_str) {
        let loc = svc
            .get("restart")
            .map_or(svc.loc.clone(), |n| n.loc.clone());
        let Some(policy) = restart_policy(r) else {
            out.errors.push(ImportError::at(
                &loc,
                format!("`{r}` is not a Compose restart policy"),
            ));
            return;
        };
        let note = match r {
            "unless-stopped" => {
                Some("Compose: unless-stopped (systemd does not restart a unit you stopped)")
            }
            _ => None,
        };
        let from_defaults = s.ctx.default_restart.as_deref() == Some(policy);
        match (from_defaults, note) {
            (false, None) => {
                let _ = writeln!(buf, "restart = {}", string(policy));
            }
            (false, Some(n)) => {
                let _ = writeln!(buf, "restart = {}   # {n}", string(policy));
            }
            (true, Some(n)) => {
                let _ = write!(
                    buf,
                    "{}",
                    comment(&format!("restart: {n}; from [defaults]"))
                );
            }
            (true, None) => {}
        }
        if r.starts_with("on-failure:") {
            out.not_carried(
                buf,
                &loc,
                sref,
                "restart",
                &format!("the retry limit of `{r}`: systemd retries every 10 s without a limit"),
            );
        }
    }
    if let Some(g) = svc.get("stop_grace_period").and_then(Node::scalar_string) {
        match Duration::parse(&g) {
            Ok(_) => {
                let _ = writeln!(buf, "stop_timeout = {}", string(&g));
            }
            Err(e) => {
                let loc = svc
                    .get("stop_grace_period")
                    .map_or(svc.loc.clone(), |n| n.loc.clone());
                out.not_carried(buf, &loc, sref, "stop_grace_period", &e.to_string());
            }
        }
    }
    let mut devices = Vec::new();
    for d in svc.get("devices").map(Node::items).unwrap_or_default() {
        match &d.value {
            Value::Str(s) => devices.push(s.clone()),
            Value::Map(_) => {
                let parts: Vec<String> = ["source", "target", "permissions"]
                    .iter()
                    .filter_map(|k| d.get(k).and_then(Node::as_str).map(str::to_string))
                    .collect();
                devices.push(parts.join(":"));
            }
            _ => {}
        }
    }
    if !devices.is_empty() {
        let _ = writeln!(buf, "devices = {}", array(&devices));
    }
}

/// The settings no inventory field holds, as `podman_args` (each value one word): `tty`,
/// `stdin_open`, a disabled health check, and what `args` collected.
fn podman_args(s: &Svc<'_>, buf: &mut String, no_healthcheck: bool, args: Args) {
    let mut all = Args::default();
    if no_healthcheck {
        all.add("healthcheck (disabled)", vec!["--no-healthcheck".into()]);
    }
    all.keys.extend(args.keys);
    all.words.extend(args.words);
    for (k, flag) in AS_PODMAN_ARGS {
        if s.svc.get(k).is_some_and(|n| n.value == Value::Bool(true)) {
            all.add(k, vec![flag.to_string()]);
        }
    }
    if all.words.is_empty() {
        return;
    }
    let _ = write!(
        buf,
        "{}",
        comment(&format!(
            "{} → podman_args: what no inventory field says",
            all.keys.join(", ")
        ))
    );
    let _ = writeln!(buf, "podman_args = {}", array(&all.words));
}

/// Every other key: a warning and a comment.
fn not_carried(s: &Svc<'_>, buf: &mut String, out: &mut Out) {
    let svc = s.svc;
    let sref = Some(s.name.as_str());
    // everything else: not carried
    for (k, n) in svc.entries() {
        if CARRIED.contains(&k.as_str())
            || fields::KEYS.contains(&k.as_str())
            || AS_PODMAN_ARGS.iter().any(|(a, _)| a == k)
            || k.starts_with("x-")
        {
            continue;
        }
        let why = match k.as_str() {
            "scale" => "one container runs per service".to_string(),
            "pull_policy" => {
                "quadgen sets the pull policy for auto-update (`pull` in the inventory)".to_string()
            }
            _ => format!("`{k}: {}` has no inventory field", show(n)),
        };
        out.not_carried(buf, &n.loc, sref, k, &why);
    }
}

/// `labels`, then the environment and labels sub-tables.
fn tables(s: &Svc<'_>, buf: &mut String, out: &mut Out, env_lines: &str) {
    let svc = s.svc;
    let cname = s.cname.clone();
    let sref = Some(s.name.as_str());
    // labels, then environment as sub-tables
    let mut label_lines = String::new();
    for (k, v) in svc.get("labels").map(Node::entries).unwrap_or_default() {
        if k == "io.containers.autoupdate" {
            out.not_carried(
                &mut label_lines,
                &v.loc,
                sref,
                "labels",
                "`io.containers.autoupdate` is set by quadgen (`auto_update`)",
            );
            continue;
        }
        let _ = writeln!(
            label_lines,
            "{} = {}",
            key(k),
            string(&v.scalar_string().unwrap_or_default())
        );
    }
    if !env_lines.is_empty() {
        let _ = writeln!(buf, "\n[containers.{}.environment]", key(&cname));
        buf.push_str(env_lines);
    }
    if !label_lines.is_empty() {
        let _ = writeln!(buf, "\n[containers.{}.labels]", key(&cname));
        buf.push_str(&label_lines);
    }
}

/// A secret-looking variable from an env file may reach the inventory only through
/// `environment` (where it is moved out into an env file); anywhere else it is refused.
fn refuse_secrets_outside_environment(svc_name: &str, svc: &Node, out: &mut Out) {
    fn walk(path: &str, n: &Node, svc_name: &str, out: &mut Out) {
        for u in &n.used {
            if matches!(u.source, Some(Source::EnvFile(_))) && secret_looking(&u.name) {
                out.errors.push(
                    ImportError::at(
                        &n.loc,
                        format!(
                            "service `{svc_name}`: `{path}` would write the secret-looking `{}` from .env into the inventory",
                            u.name
                        ),
                    )
                    .help("pass it to the container through `environment` (quadgen moves it into an env file), or write the value here yourself"),
                );
            }
        }
        match &n.value {
            Value::Seq(items) => items.iter().for_each(|i| walk(path, i, svc_name, out)),
            Value::Map(entries) => entries
                .iter()
                .for_each(|(k, v)| walk(&format!("{path}.{k}"), v, svc_name, out)),
            _ => {}
        }
    }
    for (k, v) in svc.entries() {
        if k != "environment" {
            walk(k, v, svc_name, out);
        }
    }
}
