//! A service's short syntax → the long form Compose itself prints with `config --format json`:
//! `environment`/`labels` lists become maps, `ports` and `volumes` strings become mappings, a
//! `command` string becomes its words, `depends_on` and `networks` lists become mappings,
//! `env_file` becomes `[{path, required}]`, relative host paths become absolute. Merging and
//! mapping then deal with one form only, and Compose's own JSON needs no canonicalization.

use std::path::{Component, Path, PathBuf};

use super::ImportError;
use super::yaml::{Loc, Node, Value};

/// Canonicalizes one service in place. `dir` resolves relative paths; `lookup` reads the
/// environment for `environment: [KEY]` entries without a value. Returns the extension fields
/// (`x-…` keys of the `environment` and `labels` mappings) it dropped, as Compose drops them.
pub fn service(
    svc: &mut Node,
    dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Loc)>, ImportError> {
    let mut dropped = Vec::new();
    if !matches!(svc.value, Value::Map(_) | Value::Null) {
        return Err(ImportError::at(
            &svc.loc,
            format!("a service is a mapping, not {}", svc.kind()),
        ));
    }
    if svc.is_null() {
        svc.value = Value::Map(Vec::new());
    }
    for key in ["command", "entrypoint"] {
        if let Some(n) = svc.get_mut(key) {
            words(n)?;
        }
    }
    for key in ["environment", "labels"] {
        if let Some(n) = svc.get_mut(key) {
            let lookup = if key == "environment" {
                Some(lookup)
            } else {
                None
            };
            for (k, loc) in pairs(n, lookup)? {
                dropped.push((format!("{key}.{k}"), loc));
            }
        }
    }
    if let Some(n) = svc.get_mut("env_file") {
        env_files(n, dir)?;
    }
    if let Some(n) = svc.get_mut("ports") {
        let mut out = Vec::new();
        for p in n.items() {
            out.extend(port(p)?);
        }
        n.value = Value::Seq(out);
    }
    if let Some(n) = svc.get_mut("volumes") {
        let mut out = Vec::new();
        for v in n.items() {
            out.push(volume(v, dir)?);
        }
        n.value = Value::Seq(out);
    }
    if let Some(n) = svc.get_mut("depends_on") {
        depends_on(n)?;
    }
    if let Some(n) = svc.get_mut("networks") {
        list_to_map(n, |loc| Node::new(Value::Null, loc.clone()))?;
    }
    if let Some(n) = svc.get_mut("secrets") {
        secrets(n);
    }
    if let Some(h) = svc.get_mut("healthcheck") {
        healthcheck(h);
    }
    if let Some(b) = svc.get_mut("build") {
        if let Value::Str(context) = &b.value {
            let loc = b.loc.clone();
            let context = resolve(dir, context);
            *b = Node::map(vec![("context".into(), Node::str(context, &loc))], &loc);
        }
    }
    Ok(dropped)
}

/// `depends_on` as a mapping, each entry with its `condition` and `required`.
fn depends_on(n: &mut Node) -> Result<(), ImportError> {
    list_to_map(n, |loc| {
        Node::map(
            vec![
                ("condition".into(), Node::str("service_started", loc)),
                ("required".into(), Node::new(Value::Bool(true), loc.clone())),
            ],
            loc,
        )
    })?;
    for (_, d) in match &mut n.value {
        Value::Map(e) => e.as_mut_slice(),
        _ => &mut [],
    } {
        if d.get("condition").is_none() {
            let loc = d.loc.clone();
            d.set("condition", Node::str("service_started", &loc));
        }
        if d.get("required").is_none() {
            let loc = d.loc.clone();
            d.set("required", Node::new(Value::Bool(true), loc));
        }
    }
    Ok(())
}

/// `secrets: [NAME]` → `[{source: NAME, target: /run/secrets/NAME}]`.
fn secrets(n: &mut Node) {
    let items: Vec<Node> = n.items().to_vec();
    let mut out = Vec::new();
    for s in items {
        out.push(match &s.value {
            Value::Str(name) => Node::map(
                vec![
                    ("source".into(), Node::str(name.clone(), &s.loc)),
                    (
                        "target".into(),
                        Node::str(format!("/run/secrets/{name}"), &s.loc),
                    ),
                ],
                &s.loc,
            ),
            _ => s,
        });
    }
    n.value = Value::Seq(out);
}

/// `healthcheck.test` as a string → `["CMD-SHELL", …]`; `disable: true` → `test: ["NONE"]`.
fn healthcheck(h: &mut Node) {
    if let Some(t) = h.get_mut("test") {
        if let Value::Str(s) = &t.value {
            let loc = t.loc.clone();
            t.value = Value::Seq(vec![
                Node::str("CMD-SHELL", &loc),
                Node::str(s.clone(), &loc),
            ]);
        }
    }
    if h.get("disable")
        .is_some_and(|d| d.value == Value::Bool(true))
    {
        let loc = h.loc.clone();
        h.set(
            "test",
            Node::new(Value::Seq(vec![Node::str("NONE", &loc)]), loc.clone()),
        );
        h.remove("disable");
    }
}

/// `command: "a b"` → `["a", "b"]` as a POSIX shell splits it.
fn words(n: &mut Node) -> Result<(), ImportError> {
    if let Value::Str(s) = &n.value {
        let split = shlex::split(s).ok_or_else(|| {
            ImportError::at(&n.loc, format!("`{s}` has an unclosed quote"))
                .help("close the quote, or write the command as a list of words")
        })?;
        let loc = n.loc.clone();
        let used = n.used.clone();
        n.value = Value::Seq(
            split
                .into_iter()
                .map(|w| {
                    let mut word = Node::str(w, &loc);
                    word.used = used.clone();
                    word
                })
                .collect(),
        );
    }
    Ok(())
}

/// Reads a variable of the environment (`None`: unset).
type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `["K=V", "K"]` → `{K: V, K: null}`; map values become strings.
fn pairs(n: &mut Node, lookup: Option<Lookup<'_>>) -> Result<Vec<(String, Loc)>, ImportError> {
    let mut out: Vec<(String, Node)> = Vec::new();
    let mut dropped = Vec::new();
    let mut put = |k: String, v: Node| match out.iter_mut().find(|(e, _)| *e == k) {
        Some((_, old)) => *old = v,
        None => out.push((k, v)),
    };
    match &n.value {
        Value::Seq(items) => {
            for item in items {
                let Some(s) = item.scalar_string() else {
                    return Err(ImportError::at(&item.loc, "expected `KEY=VALUE`"));
                };
                match s.split_once('=') {
                    Some((k, v)) => {
                        let mut node = Node::str(v, &item.loc);
                        node.used = item.used.clone();
                        put(k.to_string(), node);
                    }
                    None => {
                        let value = lookup.and_then(|l| l(&s));
                        put(
                            s.clone(),
                            match value {
                                Some(v) => Node::str(v, &item.loc),
                                None => Node::new(Value::Null, item.loc.clone()),
                            },
                        );
                    }
                }
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                // Compose reads `x-` keys of a mapping as extensions, not entries (its JSON
                // prints them under `#extensions`).
                if k.starts_with("x-") || k.starts_with('#') {
                    dropped.push((k.clone(), v.loc.clone()));
                    continue;
                }
                let mut node = match v.scalar_string() {
                    Some(s) => Node::str(s, &v.loc),
                    None if v.is_null() => match lookup.and_then(|l| l(k)) {
                        Some(s) => Node::str(s, &v.loc),
                        None => Node::new(Value::Null, v.loc.clone()),
                    },
                    None => {
                        return Err(ImportError::at(
                            &v.loc,
                            format!(
                                "`{k}` must be a string, number or boolean, not {}",
                                v.kind()
                            ),
                        ));
                    }
                };
                node.used = v.used.clone();
                node.tag = v.tag;
                put(k.clone(), node);
            }
        }
        Value::Null => {}
        _ => {
            return Err(ImportError::at(
                &n.loc,
                format!(
                    "expected a list of `KEY=VALUE` or a mapping, not {}",
                    n.kind()
                ),
            ));
        }
    }
    n.value = Value::Map(out);
    Ok(dropped)
}

fn env_files(n: &mut Node, dir: &Path) -> Result<(), ImportError> {
    let items = match &n.value {
        Value::Seq(items) => items.clone(),
        _ => vec![n.clone()],
    };
    let mut out = Vec::new();
    for item in items {
        let (path, required) = match &item.value {
            Value::Str(p) => (p.clone(), true),
            Value::Map(_) => (
                item.get("path")
                    .and_then(Node::as_str)
                    .ok_or_else(|| {
                        ImportError::at(&item.loc, "an `env_file` entry needs a `path`")
                    })?
                    .to_string(),
                item.get("required")
                    .is_none_or(|r| r.value != Value::Bool(false)),
            ),
            _ => return Err(ImportError::at(&item.loc, "an `env_file` entry is a path")),
        };
        out.push(Node::map(
            vec![
                ("path".into(), Node::str(resolve(dir, &path), &item.loc)),
                (
                    "required".into(),
                    Node::new(Value::Bool(required), item.loc.clone()),
                ),
            ],
            &item.loc,
        ));
    }
    n.value = Value::Seq(out);
    Ok(())
}

fn list_to_map(n: &mut Node, default: impl Fn(&Loc) -> Node) -> Result<(), ImportError> {
    match &n.value {
        Value::Seq(items) => {
            let mut out = Vec::new();
            for i in items {
                let Some(name) = i.as_str() else {
                    return Err(ImportError::at(&i.loc, "expected a name"));
                };
                out.push((name.to_string(), default(&i.loc)));
            }
            n.value = Value::Map(out);
        }
        Value::Map(_) | Value::Null => {}
        _ => return Err(ImportError::at(&n.loc, "expected a list or a mapping")),
    }
    Ok(())
}

/// A `ports` entry → one mapping per port (a range is one mapping per port, as Compose prints it).
fn port(p: &Node) -> Result<Vec<Node>, ImportError> {
    let loc = &p.loc;
    let text = match &p.value {
        Value::Map(_) => return Ok(vec![long_port(p)?]),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        _ => {
            return Err(ImportError::at(
                loc,
                "a port is a string, a number or a mapping",
            ));
        }
    };
    let bad = |why: &str| {
        ImportError::at(loc, format!("`{text}` is not a port mapping ({why})"))
            .help("write it like `8080:80`, `127.0.0.1:8080:80/udp` or `9000-9001:9000-9001`")
    };
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, proto)) => (s, proto),
        None => (text.as_str(), "tcp"),
    };
    let (host_ip, rest) = if let Some(b) = spec.strip_prefix('[') {
        let (ip, r) = b.split_once("]:").ok_or_else(|| bad("unclosed `[`"))?;
        (Some(ip.to_string()), r.to_string())
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.as_slice() {
            [ip, h, c] => (Some((*ip).to_string()), format!("{h}:{c}")),
            _ if parts.len() > 3 => {
                // An unbracketed IPv6 address: everything before the last two fields.
                let n = parts.len();
                (Some(parts[..n - 2].join(":")), parts[n - 2..].join(":"))
            }
            _ => (None, spec.to_string()),
        }
    };
    let (published, target) = match rest.split_once(':') {
        Some((h, c)) => (Some(h.to_string()), c.to_string()),
        None => (None, rest.clone()),
    };
    let range = |s: &str| -> Result<(i64, i64), ImportError> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let a: i64 = a.parse().map_err(|_| bad("not a port number"))?;
        let b: i64 = b.parse().map_err(|_| bad("not a port number"))?;
        if !(0..=65535).contains(&a) || b < a || b > 65535 {
            return Err(bad("not a port range"));
        }
        Ok((a, b))
    };
    let (t0, t1) = range(&target)?;
    let published_range = match published.as_deref() {
        None | Some("") => None,
        Some(p) => Some(range(p)?),
    };
    let mut out = Vec::new();
    for (i, t) in (t0..=t1).enumerate() {
        let mut entries = vec![("mode".to_string(), Node::str("ingress", loc))];
        if let Some(ip) = host_ip.as_ref().filter(|ip| !ip.is_empty()) {
            entries.push(("host_ip".into(), Node::str(ip.clone(), loc)));
        }
        entries.push(("target".into(), Node::new(Value::Int(t), loc.clone())));
        if let Some((p0, p1)) = published_range {
            let published = if t0 == t1 && p0 != p1 {
                format!("{p0}-{p1}")
            } else {
                (p0 + i as i64).to_string()
            };
            entries.push(("published".into(), Node::str(published, loc)));
        }
        entries.push(("protocol".into(), Node::str(protocol, loc)));
        out.push(Node::map(entries, loc));
    }
    Ok(out)
}

/// A `volumes` entry → `{type, source, target, read_only, bind|volume: {...}}`.
fn volume(v: &Node, dir: &Path) -> Result<Node, ImportError> {
    let loc = &v.loc;
    if let Value::Map(_) = &v.value {
        return Ok(long_volume(v, dir));
    }
    let Some(text) = v.as_str() else {
        return Err(ImportError::at(loc, "a volume is a string or a mapping"));
    };
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] => (Some(*s), *t, None),
        [s, t, m] => (Some(*s), *t, Some(*m)),
        _ => {
            return Err(ImportError::at(loc, format!("`{text}` is not a volume"))
                .help("write `SOURCE:TARGET[:MODE]`, or use the long syntax"));
        }
    };
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ImportError::at(
            loc,
            format!("`{text}` is not a volume: an empty part between colons"),
        )
        .help("is a variable in it unset? Set it, or give it a default: `${VAR:-/path}`"));
    }
    let mut entries = Vec::new();
    let is_path = |s: &str| s.starts_with('/') || s.starts_with('.') || s.starts_with('~');
    let kind = match source {
        Some(s) if is_path(s) => "bind",
        _ => "volume",
    };
    entries.push(("type".to_string(), Node::str(kind, loc)));
    if let Some(s) = source {
        let s = if kind == "bind" {
            resolve(dir, s)
        } else {
            s.to_string()
        };
        entries.push(("source".into(), Node::str(s, loc)));
    }
    entries.push(("target".into(), Node::str(clean_target(target), loc)));
    let mut options: Vec<&str> = mode.map(|m| m.split(',').collect()).unwrap_or_default();
    if options.contains(&"ro") {
        entries.push((
            "read_only".into(),
            Node::new(Value::Bool(true), loc.clone()),
        ));
    }
    options.retain(|o| !matches!(*o, "ro" | "rw"));
    entries.push(mount_options(kind, &options, loc)?);
    Ok(Node::map(entries, loc))
}

/// A `ports` entry in the long syntax: `target` a number, `published` a string, `protocol` set.
fn long_port(p: &Node) -> Result<Node, ImportError> {
    let loc = &p.loc;
    let mut m = p.clone();
    if let Some(t) = m.get("target").and_then(Node::scalar_string) {
        let n: i64 = t
            .parse()
            .map_err(|_| ImportError::at(loc, format!("`{t}` is not a port")))?;
        m.set("target", Node::new(Value::Int(n), loc.clone()));
    }
    if let Some(pb) = m.get("published").and_then(Node::scalar_string) {
        m.set("published", Node::str(pb, loc));
    }
    if m.get("protocol").is_none() {
        m.set("protocol", Node::str("tcp", loc));
    }
    Ok(m)
}

/// A `volumes` entry in the long syntax: `target` cleaned, a bind mount's `source` absolute.
fn long_volume(v: &Node, dir: &Path) -> Node {
    let loc = &v.loc;
    let mut m = v.clone();
    if let Some(t) = m.get("target").and_then(Node::as_str) {
        let t = clean_target(t);
        m.set("target", Node::str(t, loc));
    }
    let kind = m
        .get("type")
        .and_then(Node::as_str)
        .unwrap_or("volume")
        .to_string();
    if kind == "bind" {
        if let Some(src) = m.get("source").and_then(Node::as_str) {
            let abs = resolve(dir, src);
            m.set("source", Node::str(abs, loc));
        }
    }
    m
}

/// The short syntax's mode options as a `bind` mapping (SELinux label, propagation) or a
/// `volume` mapping (`nocopy`).
fn mount_options(kind: &str, options: &[&str], loc: &Loc) -> Result<(String, Node), ImportError> {
    let mut extra = Vec::new();
    if kind == "bind" {
        extra.push((
            "create_host_path".to_string(),
            Node::new(Value::Bool(true), loc.clone()),
        ));
        for o in options {
            match *o {
                "z" | "Z" => extra.push(("selinux".into(), Node::str(*o, loc))),
                other => extra.push(("propagation".into(), Node::str(other, loc))),
            }
        }
        Ok(("bind".into(), Node::map(extra, loc)))
    } else {
        for o in options {
            match *o {
                "nocopy" => {
                    extra.push(("nocopy".into(), Node::new(Value::Bool(true), loc.clone())))
                }
                other => {
                    return Err(ImportError::at(
                        loc,
                        format!("`{other}` is not an option of a named volume"),
                    ));
                }
            }
        }
        Ok(("volume".into(), Node::map(extra, loc)))
    }
}

/// A container path as Compose cleans it: no trailing `/`, no `.` or `//`.
fn clean_target(target: &str) -> String {
    if !target.starts_with('/') {
        return target.to_string();
    }
    let cleaned = resolve(Path::new("/"), &format!(".{target}"));
    if cleaned.is_empty() {
        "/".into()
    } else {
        cleaned
    }
}

/// `dir/path` made absolute and lexically normal (`~` is the user's home, as Compose reads it).
/// An absolute path stays as it was written, as Compose keeps it.
pub fn resolve(dir: &Path, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let joined = if let Some(rest) = path.strip_prefix("~/") {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(rest)
    } else {
        dir.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::yaml::parse;

    fn canon(text: &str) -> Node {
        let mut n = parse(Path::new("/p/compose.yaml"), text).expect("yaml");
        let _ = service(&mut n, Path::new("/p"), &|k| {
            (k == "FROM_ENV").then(|| "e".to_string())
        })
        .expect("canon");
        n
    }

    #[test]
    fn ports_in_every_short_form() {
        let s = canon(
            "ports: [80, \"8080:80\", \"127.0.0.1:53:53/udp\", \"9000-9001:9000-9001\", \"[::1]:1:2\"]\n",
        );
        let got: Vec<String> = s
            .get("ports")
            .expect("ports")
            .items()
            .iter()
            .map(|p| {
                format!(
                    "{}|{}|{}|{}",
                    p.get("host_ip").and_then(Node::as_str).unwrap_or(""),
                    p.get("published").and_then(Node::as_str).unwrap_or(""),
                    p.get("target")
                        .and_then(Node::scalar_string)
                        .unwrap_or_default(),
                    p.get("protocol").and_then(Node::as_str).unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "||80|tcp",
                "|8080|80|tcp",
                "127.0.0.1|53|53|udp",
                "|9000|9000|tcp",
                "|9001|9001|tcp",
                "::1|1|2|tcp"
            ]
        );
    }

    #[test]
    fn volumes_environment_command() {
        let s = canon(
            "volumes: [\"./data:/d:ro\", \"db:/var/lib/db\", \"/anon\"]\nenvironment: [A=1, FROM_ENV, NOPE]\ncommand: sh -c 'echo \"a b\"'\n",
        );
        let v = s.get("volumes").expect("v").items();
        assert_eq!(v[0].get("source").and_then(Node::as_str), Some("/p/data"));
        assert_eq!(
            v[0].get("read_only").map(|n| n.value.clone()),
            Some(Value::Bool(true))
        );
        assert_eq!(v[1].get("type").and_then(Node::as_str), Some("volume"));
        assert!(v[2].get("source").is_none());
        let env = s.get("environment").expect("env");
        assert_eq!(env.get("A").and_then(Node::as_str), Some("1"));
        assert_eq!(env.get("FROM_ENV").and_then(Node::as_str), Some("e"));
        assert!(env.get("NOPE").expect("NOPE").is_null());
        let cmd: Vec<&str> = s
            .get("command")
            .expect("c")
            .items()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert_eq!(cmd, ["sh", "-c", "echo \"a b\""]);
    }
}
