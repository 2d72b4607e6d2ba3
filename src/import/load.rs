//! Loading a Compose project the way Compose does: the `-f` files in order, each parsed,
//! interpolated and canonicalized on its own, its `include`s and `extends` resolved, then merged
//! (mappings by key, lists appended, `ports`/`volumes`/`secrets`/`configs` unique by target,
//! `command`/`entrypoint`/`healthcheck.test` replaced, `!reset` and `!override` honoured), then the
//! project name and the active profiles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::canon;
use super::envfile;
use super::interpolate::{Source, Vars, interpolate};
use super::yaml::{self, Loc, MergeTag, Node, Value};
use super::{Files, ImportError, Input, Options, Refused, Warning};

/// A loaded project in Compose's long form.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// The directory relative paths were resolved against.
    pub dir: PathBuf,
    /// `services`, `networks`, `volumes`, `secrets`, `configs`, in Compose's long form.
    pub root: Node,
    /// The file named in the output header.
    pub source: PathBuf,
    pub warnings: Vec<Warning>,
    /// The variables interpolation read (for resolving env files the same way).
    pub vars: Vars,
    /// Read from Compose's normalized JSON: where a value came from (`.env` or not) is unknown.
    pub normalized: bool,
}

fn read(files: &dyn Files, path: &Path, from: &Loc) -> Result<String, ImportError> {
    match files.read(path) {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(ImportError::at(
            from,
            format!("`{}` does not exist", path.display()),
        )),
        Err(e) => Err(ImportError::at(
            from,
            format!("cannot read `{}`: {e}", path.display()),
        )),
    }
}

/// Loads the project `input` describes.
pub fn load(input: &Input, options: &Options, files: &dyn Files) -> Result<Project, Refused> {
    let mut vars = Vars::default();
    for (k, v) in &options.environment {
        vars.add_weaker(k, v, Source::Shell);
    }
    let mut warnings = Vec::new();
    let (root, dir, source) = match input {
        Input::Normalized { name, text } => {
            let mut root =
                yaml::parse(name, text).map_err(|e| ImportError::at(&e.loc, e.message))?;
            // Compose prints `$` as `$$` so that its output is again a Compose file.
            unescape_dollars(&mut root);
            let dir = PathBuf::from("/");
            (root, dir, name.clone())
        }
        Input::Files(paths) => load_files(paths, options, files, &mut vars, &mut warnings)?,
    };
    if !matches!(root.value, Value::Map(_)) {
        return Err(ImportError::at(&root.loc, "a Compose file is a mapping at the top").into());
    }
    let mut root = root;
    if matches!(input, Input::Normalized { .. }) {
        // Compose's output is already long form; canonicalizing again only fills defaults.
        let lookup = |_: &str| None;
        for (name, svc) in services_mut(&mut root) {
            let dropped = canon::service(svc, Path::new("/"), &lookup)?;
            warnings.extend(extension_warnings(name, dropped));
        }
    }
    let name = project_name(options, &vars, &root, &dir)?;
    check_cycles(&root)?;
    let profiles = active_profiles(options, &vars);
    // Compose's JSON holds only the services its profiles selected.
    if !matches!(input, Input::Normalized { .. }) {
        select_profiles(&mut root, &profiles, &mut warnings);
    }
    Ok(Project {
        name,
        dir,
        root,
        source,
        warnings,
        vars,
        normalized: matches!(input, Input::Normalized { .. }),
    })
}

/// The `-f` files: the env files' variables added to `vars`, then each file loaded and merged
/// onto the ones before. Returns the merged root, the project directory and the first file.
fn load_files(
    paths: &[PathBuf],
    options: &Options,
    files: &dyn Files,
    vars: &mut Vars,
    warnings: &mut Vec<Warning>,
) -> Result<(Node, PathBuf, PathBuf), Refused> {
    let Some(first) = paths.first() else {
        return Err(ImportError::at(&Loc::default(), "no compose file given").into());
    };
    let dir = first.parent().map(Path::to_path_buf).unwrap_or_default();
    add_env_file_vars(options, &dir, files, vars)?;
    let mut merged: Option<Node> = None;
    for path in paths {
        let root = load_file(path, &dir, vars, files, &mut vec![path.clone()], warnings)?;
        merged = Some(match merged {
            None => root,
            Some(base) => {
                merge(base, root, &[]).unwrap_or_else(|| Node::map(Vec::new(), &Loc::file(path)))
            }
        });
    }
    let root = merged.unwrap_or_else(|| Node::map(Vec::new(), &Loc::file(first)));
    Ok((root, dir, first.clone()))
}

/// Adds the variables of the env files (`--env-file`, else `.env` in `dir` if it exists) to
/// `vars`, weaker than those already there.
fn add_env_file_vars(
    options: &Options,
    dir: &Path,
    files: &dyn Files,
    vars: &mut Vars,
) -> Result<(), Refused> {
    let env_files: Vec<PathBuf> = if options.env_files.is_empty() {
        vec![dir.join(".env")]
    } else {
        options.env_files.clone()
    };
    let mut from_files: BTreeMap<String, (String, Source)> = BTreeMap::new();
    for f in &env_files {
        let text = match files.read(f) {
            Ok(Some(t)) => t,
            Ok(None) if options.env_files.is_empty() => continue,
            Ok(None) | Err(_) => {
                return Err(ImportError::at(
                    &Loc::file(f),
                    format!("cannot read the env file `{}`", f.display()),
                )
                .into());
            }
        };
        let entries = envfile::parse(&text, vars).map_err(|(line, m)| {
            ImportError::at(
                &Loc {
                    line,
                    col: 1,
                    ..Loc::file(f)
                },
                m,
            )
        })?;
        for e in entries {
            if let Some(v) = e.value {
                from_files.insert(e.key, (v, Source::EnvFile(f.display().to_string())));
            }
        }
    }
    for (k, (v, s)) in from_files {
        vars.add_weaker(&k, &v, s);
    }
    Ok(())
}

/// The project name: `--project-name`, `COMPOSE_PROJECT_NAME`, `name:` or the directory's name,
/// lowercased and with only the characters Compose allows.
fn project_name(
    options: &Options,
    vars: &Vars,
    root: &Node,
    dir: &Path,
) -> Result<String, Refused> {
    let name = options
        .project_name
        .clone()
        .or_else(|| vars.get("COMPOSE_PROJECT_NAME").map(|(v, _)| v.clone()))
        .or_else(|| root.get("name").and_then(Node::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let name: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    if name.is_empty() {
        return Err(ImportError::at(&root.loc, "the project has no name")
            .help("pass `--project-name NAME`")
            .into());
    }
    Ok(name)
}

/// The active profiles: `--profile`, then `COMPOSE_PROFILES`.
fn active_profiles(options: &Options, vars: &Vars) -> Vec<String> {
    let mut profiles: Vec<String> = options.profiles.clone();
    if let Some((p, _)) = vars.get("COMPOSE_PROFILES") {
        profiles.extend(
            p.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    }
    profiles
}

/// Services a service depends on: `depends_on`, and what Compose adds for `network_mode`, `ipc`
/// and `pid: service:X` and `volumes_from: [X]`, with where each is written.
pub fn dependencies(svc: &Node) -> Vec<(String, Loc)> {
    let mut out: Vec<(String, Loc)> = svc
        .get("depends_on")
        .map(|d| {
            d.entries()
                .iter()
                .map(|(k, v)| (k.clone(), v.loc.clone()))
                .collect()
        })
        .unwrap_or_default();
    for key in ["network_mode", "ipc", "pid"] {
        if let Some(n) = svc.get(key) {
            if let Some(other) = n.as_str().and_then(|m| m.strip_prefix("service:")) {
                out.push((other.to_string(), n.loc.clone()));
            }
        }
    }
    for v in svc.get("volumes_from").map(Node::items).unwrap_or_default() {
        if let Some(s) = v.as_str().filter(|s| !s.starts_with("container:")) {
            let name = s.split(':').next().unwrap_or_default();
            out.push((name.to_string(), v.loc.clone()));
        }
    }
    let mut seen = Vec::new();
    out.retain(|(n, _)| {
        let new = !seen.contains(n);
        seen.push(n.clone());
        new
    });
    out
}

/// A dependency cycle is refused, as Compose refuses it (before profiles are applied).
fn check_cycles(root: &Node) -> Result<(), ImportError> {
    let services = root.get("services").map(Node::entries).unwrap_or_default();
    fn visit(
        name: &str,
        services: &[(String, Node)],
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Result<(), ImportError> {
        if done.iter().any(|d| d == name) {
            return Ok(());
        }
        let Some((_, svc)) = services.iter().find(|(n, _)| n == name) else {
            return Ok(());
        };
        path.push(name.to_string());
        for (dep, loc) in dependencies(svc) {
            if let Some(start) = path.iter().position(|p| *p == dep) {
                let mut cycle: Vec<&str> = path.iter().skip(start).map(String::as_str).collect();
                cycle.push(&dep);
                return Err(ImportError::at(
                    &loc,
                    format!("dependency cycle: {}", cycle.join(" → ")),
                )
                .help("remove one of these dependencies"));
            }
            visit(&dep, services, path, done)?;
        }
        path.pop();
        done.push(name.to_string());
        Ok(())
    }
    let mut done = Vec::new();
    for (name, _) in services {
        visit(name, services, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

fn extension_warnings(service: &str, dropped: Vec<(String, Loc)>) -> Vec<Warning> {
    dropped
        .into_iter()
        .map(|(key, loc)| Warning {
            loc,
            service: Some(service.to_string()),
            key,
            message:
                "not carried: Compose reads an `x-` key here as an extension field, not an entry"
                    .into(),
        })
        .collect()
}

fn services_mut(root: &mut Node) -> Vec<(&String, &mut Node)> {
    match root.get_mut("services").map(|s| &mut s.value) {
        Some(Value::Map(entries)) => entries.iter_mut().map(|(k, v)| (&*k, v)).collect(),
        _ => Vec::new(),
    }
}

/// Drops services whose profiles are not active, each with a warning.
fn select_profiles(root: &mut Node, active: &[String], warnings: &mut Vec<Warning>) {
    let Some(services) = root.get_mut("services") else {
        return;
    };
    let Value::Map(entries) = &mut services.value else {
        return;
    };
    entries.retain(|(name, svc)| {
        let profiles: Vec<String> = svc
            .get("profiles")
            .map(|p| p.items().iter().filter_map(Node::scalar_string).collect())
            .unwrap_or_default();
        let keep = profiles.is_empty()
            || profiles.iter().any(|p| active.contains(p) || active.iter().any(|a| a == "*"));
        if !keep {
            warnings.push(Warning {
                loc: svc.get("profiles").map_or(svc.loc.clone(), |p| p.loc.clone()),
                service: Some(name.clone()),
                key: "profiles".into(),
                message: format!(
                    "not imported: its profiles ({}) are not active; pass `--profile {}` to import it",
                    profiles.join(", "),
                    profiles.first().map(String::as_str).unwrap_or_default()
                ),
            });
        }
        keep
    });
}

/// One compose file with its includes and extends resolved, canonical. `dir` resolves its
/// relative paths; `stack` holds the files being loaded (a cycle is an error).
fn load_file(
    path: &Path,
    dir: &Path,
    vars: &Vars,
    files: &dyn Files,
    stack: &mut Vec<PathBuf>,
    warnings: &mut Vec<Warning>,
) -> Result<Node, ImportError> {
    let text = read(files, path, &Loc::file(path))?;
    let root = yaml::parse(path, &text).map_err(|e| ImportError::at(&e.loc, e.message))?;
    let empty = match &root.value {
        Value::Null => true,
        Value::Map(entries) => entries.is_empty(),
        _ => false,
    };
    if empty {
        return Err(ImportError::at(
            &Loc {
                line: 1,
                col: 1,
                ..Loc::file(path)
            },
            "the compose file is empty",
        ));
    }
    let mut root = root;
    if !matches!(root.value, Value::Map(_)) {
        return Err(ImportError::at(
            &root.loc,
            "a Compose file is a mapping at the top",
        ));
    }
    interpolate_tree(&mut root, vars, warnings)?;
    let lookup = |k: &str| vars.get(k).map(|(v, _)| v.clone());
    for (name, svc) in services_mut(&mut root) {
        let dropped = canon::service(svc, dir, &lookup)?;
        warnings.extend(extension_warnings(name, dropped));
    }
    if let Some(include) = root.remove("include") {
        for entry in include.items() {
            if let Some(inc) = include_entry(entry, path, dir, vars, files, stack, warnings)? {
                add_included(&mut root, &inc)?;
            }
        }
    }
    resolve_extends(&mut root, path, dir, vars, files, stack, warnings)?;
    Ok(root)
}

/// The services, networks, volumes, secrets and configs of an `include` entry (its files
/// loaded and merged); `None` when it names no file.
fn include_entry(
    entry: &Node,
    path: &Path,
    dir: &Path,
    vars: &Vars,
    files: &dyn Files,
    stack: &mut Vec<PathBuf>,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Node>, ImportError> {
    let (paths, project_dir) = include_paths(entry, dir, warnings)?;
    let mut included: Option<Node> = None;
    for (p, loc) in &paths {
        let file = PathBuf::from(canon::resolve(path.parent().unwrap_or(dir), p));
        if stack.contains(&file) {
            return Err(ImportError::at(
                loc,
                format!(
                    "`{}` includes itself (through {})",
                    file.display(),
                    stack
                        .iter()
                        .map(|s| s.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" → ")
                ),
            ));
        }
        let sub_dir = project_dir
            .clone()
            .map(PathBuf::from)
            .unwrap_or_else(|| file.parent().map(Path::to_path_buf).unwrap_or_default());
        stack.push(file.clone());
        let sub = load_file(&file, &sub_dir, vars, files, stack, warnings).map_err(|e| {
            if e.loc.line == 0 {
                ImportError::at(loc, e.message)
            } else {
                e
            }
        })?;
        stack.pop();
        included = Some(match included {
            None => sub,
            Some(b) => merge(b, sub, &[]).unwrap_or_else(|| Node::map(Vec::new(), loc)),
        });
    }
    Ok(included)
}

/// An `include` entry's files, each with where it is named, and its `project_directory`.
type IncludePaths = (Vec<(String, Loc)>, Option<String>);

/// An `include` entry's files (with where each is named) and its `project_directory`.
fn include_paths(
    entry: &Node,
    dir: &Path,
    warnings: &mut Vec<Warning>,
) -> Result<IncludePaths, ImportError> {
    let (paths, project_dir) = match &entry.value {
        Value::Str(p) => (vec![(p.clone(), entry.loc.clone())], None),
        Value::Map(_) => {
            let p = entry
                .get("path")
                .ok_or_else(|| ImportError::at(&entry.loc, "an `include` entry needs a `path`"))?;
            let ps = match &p.value {
                Value::Str(s) => vec![(s.clone(), p.loc.clone())],
                _ => p
                    .items()
                    .iter()
                    .filter_map(|i| i.as_str().map(|s| (s.to_string(), i.loc.clone())))
                    .collect(),
            };
            if entry.get("env_file").is_some() {
                warnings.push(Warning {
                    loc: entry.loc.clone(),
                    service: None,
                    key: "include.env_file".into(),
                    message:
                        "not read: the included file is interpolated with the project's variables"
                            .into(),
                });
            }
            (
                ps,
                entry
                    .get("project_directory")
                    .and_then(Node::as_str)
                    .map(|d| canon::resolve(dir, d)),
            )
        }
        _ => {
            return Err(ImportError::at(
                &entry.loc,
                "an `include` entry is a path or a mapping",
            ));
        }
    };
    Ok((paths, project_dir))
}

/// Adds what an include defines to `root`; a name defined in both is an error.
fn add_included(root: &mut Node, inc: &Node) -> Result<(), ImportError> {
    for section in ["services", "networks", "volumes", "secrets", "configs"] {
        for (k, v) in inc.get(section).map(Node::entries).unwrap_or_default() {
            if root.get(section).and_then(|s| s.get(k)).is_some() {
                return Err(ImportError::at(
                    &v.loc,
                    format!("`{section}.{k}` is defined both here and in the file including it"),
                )
                .help("rename one of them, or use `extends` to build on the included one"));
            }
            if root.get(section).is_none() {
                root.set(section, Node::map(Vec::new(), &v.loc));
            }
            if let Some(s) = root.get_mut(section) {
                s.set(k, v.clone());
            }
        }
    }
    Ok(())
}

fn interpolate_tree(
    node: &mut Node,
    vars: &Vars,
    warnings: &mut Vec<Warning>,
) -> Result<(), ImportError> {
    match &mut node.value {
        Value::Str(s) => {
            let r = interpolate(s, vars).map_err(|m| ImportError::at(&node.loc, m))?;
            *s = r.text;
            for u in r.used.iter().filter(|u| u.blank) {
                warnings.push(Warning {
                    loc: node.loc.clone(),
                    service: None,
                    key: format!("${{{}}}", u.name),
                    message: format!(
                        "the variable `{}` is not set: an empty string is used, as Compose does",
                        u.name
                    ),
                });
            }
            node.used = r.used;
        }
        Value::Seq(items) => {
            for i in items {
                interpolate_tree(i, vars, warnings)?;
            }
        }
        Value::Map(entries) => {
            // Values only, never keys; extension fields (`x-…`) too, as Compose does.
            for (_, v) in entries {
                interpolate_tree(v, vars, warnings)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn unescape_dollars(node: &mut Node) {
    match &mut node.value {
        Value::Str(s) => *s = s.replace("$$", "$"),
        Value::Seq(items) => items.iter_mut().for_each(unescape_dollars),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, v)| unescape_dollars(v)),
        _ => {}
    }
}

/// Resolves `extends` of every service in `root` (a file at `path`).
fn resolve_extends(
    root: &mut Node,
    path: &Path,
    dir: &Path,
    vars: &Vars,
    files: &dyn Files,
    stack: &mut Vec<PathBuf>,
    warnings: &mut Vec<Warning>,
) -> Result<(), ImportError> {
    let names: Vec<String> = root
        .get("services")
        .map(|s| s.entries().iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    for name in names {
        let mut seen = Vec::new();
        let resolved = extended(
            root, &name, path, dir, vars, files, stack, warnings, &mut seen,
        )?;
        if let Some(s) = root.get_mut("services") {
            s.set(&name, resolved);
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn extended(
    root: &Node,
    name: &str,
    path: &Path,
    dir: &Path,
    vars: &Vars,
    files: &dyn Files,
    stack: &mut Vec<PathBuf>,
    warnings: &mut Vec<Warning>,
    seen: &mut Vec<(PathBuf, String)>,
) -> Result<Node, ImportError> {
    let services = root.get("services");
    let Some(svc) = services.and_then(|s| s.get(name)) else {
        let loc = services.map_or_else(|| root.loc.clone(), |s| s.loc.clone());
        return Err(ImportError::at(
            &loc,
            format!("no service `{name}` in `{}`", path.display()),
        ));
    };
    let mut svc = svc.clone();
    let Some(ext) = svc.remove("extends") else {
        return Ok(svc);
    };
    let key = (path.to_path_buf(), name.to_string());
    if seen.contains(&key) {
        return Err(ImportError::at(
            &ext.loc,
            format!("`extends` of service `{name}` loops back to itself"),
        ));
    }
    seen.push(key);
    let (base_name, file) = extends_target(&ext)?;
    let base = match file {
        None => extended(
            root, &base_name, path, dir, vars, files, stack, warnings, seen,
        )?,
        Some(f) => {
            let file = PathBuf::from(canon::resolve(path.parent().unwrap_or(dir), &f));
            if stack.contains(&file) && file != path {
                return Err(ImportError::at(
                    &ext.loc,
                    format!("`extends` loops through `{}`", file.display()),
                ));
            }
            let other_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
            stack.push(file.clone());
            let other =
                load_file(&file, &other_dir, vars, files, stack, warnings).map_err(|e| {
                    if e.loc.line == 0 {
                        ImportError::at(&ext.loc, e.message)
                    } else {
                        e
                    }
                })?;
            stack.pop();
            other
                .get("services")
                .and_then(|s| s.get(&base_name))
                .cloned()
                .ok_or_else(|| {
                    ImportError::at(
                        &ext.loc,
                        format!("no service `{base_name}` in `{}`", file.display()),
                    )
                })?
        }
    };
    Ok(merge(base, svc, &["services", name]).unwrap_or_else(|| Node::map(Vec::new(), &ext.loc)))
}

/// What `extends` names: the base service, and the file it is in (`None`: this file).
fn extends_target(ext: &Node) -> Result<(String, Option<String>), ImportError> {
    let target = match &ext.value {
        Value::Str(s) => (s.clone(), None),
        Value::Map(_) => (
            ext.get("service")
                .and_then(Node::as_str)
                .ok_or_else(|| ImportError::at(&ext.loc, "`extends` needs a `service`"))?
                .to_string(),
            ext.get("file").and_then(Node::as_str).map(str::to_string),
        ),
        _ => {
            return Err(ImportError::at(
                &ext.loc,
                "`extends` is a service name or a mapping",
            ));
        }
    };
    Ok(target)
}

/// Merges `over` onto `base` by Compose's rules; `path` is where they sit (`services.web.ports`).
/// `None`: the value was reset.
pub fn merge(base: Node, over: Node, path: &[&str]) -> Option<Node> {
    match over.tag {
        Some(MergeTag::Reset) => return None,
        Some(MergeTag::Override) => return Some(over),
        None => {}
    }
    let in_service = path.len() == 2 && path.first() == Some(&"services");
    let last = path.last().copied().unwrap_or_default();
    match (base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let b = merge_maps(b, o, path, in_service);
            Some(Node {
                value: Value::Map(b),
                loc: over.loc,
                used: over.used,
                tag: None,
            })
        }
        (Value::Seq(b), Value::Seq(o)) => {
            let b = merge_seqs(b, o, path, last);
            Some(Node {
                value: Value::Seq(b),
                loc: over.loc,
                used: over.used,
                tag: None,
            })
        }
        (_, value) => Some(Node {
            value,
            loc: over.loc,
            used: over.used,
            tag: None,
        }),
    }
}

/// Merges mapping entries `o` onto `b`: by key, `command`, `entrypoint` and `healthcheck.test`
/// replaced whole, a `!reset` entry removed.
fn merge_maps(
    mut b: Vec<(String, Node)>,
    o: Vec<(String, Node)>,
    path: &[&str],
    in_service: bool,
) -> Vec<(String, Node)> {
    for (k, v) in o {
        let mut child: Vec<&str> = path.to_vec();
        child.push(&k);
        let replaced_whole =
            (path.len() == 2 && in_service && matches!(k.as_str(), "command" | "entrypoint"))
                || (path.len() == 3 && path.get(2) == Some(&"healthcheck") && k == "test");
        match b.iter().position(|(e, _)| *e == k) {
            Some(i) => {
                let (_, old) = b.remove(i);
                let new = if replaced_whole {
                    Some(v)
                } else {
                    merge(old, v, &child)
                };
                if let Some(n) = new {
                    b.insert(i, (k, n));
                }
            }
            None if v.tag == Some(MergeTag::Reset) => {}
            None => b.push((k, v)),
        }
    }
    b
}

/// Merges list items `o` onto `b`: appended, except that `ports`, `volumes`, `secrets` and
/// `configs` of a service are unique by target (a later one replaces), and others not repeated.
fn merge_seqs(mut b: Vec<Node>, o: Vec<Node>, path: &[&str], last: &str) -> Vec<Node> {
    let unique = path.len() == 3
        && path.first() == Some(&"services")
        && matches!(last, "ports" | "volumes" | "secrets" | "configs");
    for item in o {
        let key = |n: &Node| -> String {
            if last == "ports" {
                ["host_ip", "target", "published", "protocol"]
                    .iter()
                    .map(|k| n.get(k).and_then(Node::scalar_string).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("|")
            } else {
                n.get("target")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default()
            }
        };
        let existing = if unique {
            b.iter().position(|e| key(e) == key(&item))
        } else {
            b.iter().position(|e| e.value == item.value)
        };
        match existing {
            Some(i) if unique => {
                if let Some(e) = b.get_mut(i) {
                    *e = item;
                }
            }
            Some(_) => {}
            None => b.push(item),
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Files held in memory.
    struct Mem(BTreeMap<PathBuf, String>);

    impl Files for Mem {
        fn read(&self, path: &Path) -> std::io::Result<Option<String>> {
            Ok(self.0.get(path).cloned())
        }
    }

    fn mem(files: &[(&str, &str)]) -> Mem {
        Mem(files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect())
    }

    fn load_files(files: &[(&str, &str)], order: &[&str]) -> Result<Project, Refused> {
        let input = Input::Files(order.iter().map(PathBuf::from).collect());
        load(&input, &Options::default(), &mem(files))
    }

    fn service<'a>(p: &'a Project, name: &str) -> &'a Node {
        p.root
            .get("services")
            .and_then(|s| s.get(name))
            .expect("service")
    }

    fn strs(n: Option<&Node>) -> Vec<String> {
        n.map(|n| n.items().iter().filter_map(Node::scalar_string).collect())
            .unwrap_or_default()
    }

    // The expectations are what docker-compose 2.26 and 2.40 print for the same two files.
    #[test]
    fn later_files_merge_by_compose_rules() {
        let base = "services:\n  web:\n    image: a\n    command: [x, y]\n    environment: {A: '1', B: '2'}\n    ports: ['80:80', '443:443']\n    volumes: ['vol1:/data', './c:/conf']\n    dns: [1.1.1.1]\n    labels: {keep: 'me', drop: 'me'}\nvolumes:\n  vol1:\n  vol2:\n";
        let over = "services:\n  web:\n    command: z\n    environment: [B=3, C=4]\n    ports: ['80:80', '8080:8080']\n    volumes: ['vol2:/data']\n    dns: [8.8.8.8]\n    labels:\n      drop: !reset null\n    healthcheck: !override\n      test: [CMD, true]\n";
        let p = load_files(
            &[("/p/compose.yaml", base), ("/p/over.yaml", over)],
            &["/p/compose.yaml", "/p/over.yaml"],
        )
        .expect("loads");
        let web = service(&p, "web");
        assert_eq!(strs(web.get("command")), ["z"], "command is replaced");
        let env: Vec<(String, String)> = web
            .get("environment")
            .expect("env")
            .entries()
            .iter()
            .map(|(k, v)| (k.clone(), v.scalar_string().unwrap_or_default()))
            .collect();
        let want: Vec<(String, String)> = [("A", "1"), ("B", "3"), ("C", "4")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(env, want, "maps merge by key");
        let ports: Vec<String> = web
            .get("ports")
            .expect("ports")
            .items()
            .iter()
            .map(|p| {
                p.get("published")
                    .and_then(Node::scalar_string)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(ports, ["80", "443", "8080"], "ports are unique");
        let volumes: Vec<String> = web
            .get("volumes")
            .expect("volumes")
            .items()
            .iter()
            .map(|v| {
                format!(
                    "{}:{}",
                    v.get("source").and_then(Node::as_str).unwrap_or_default(),
                    v.get("target").and_then(Node::as_str).unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            volumes,
            ["vol2:/data", "/p/c:/conf"],
            "volumes are unique by target; paths resolve against the project directory"
        );
        assert_eq!(
            strs(web.get("dns")),
            ["1.1.1.1", "8.8.8.8"],
            "other lists append"
        );
        let labels: Vec<&str> = web
            .get("labels")
            .expect("labels")
            .entries()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(labels, ["keep"], "!reset removes");
        assert_eq!(p.name, "p");
    }

    #[test]
    fn cycles_are_refused_where_they_are_written() {
        let e = load_files(
            &[(
                "/p/compose.yaml",
                "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
            )],
            &["/p/compose.yaml"],
        )
        .expect_err("extends cycle");
        assert!(e.0[0].message.contains("loops back"), "{e}");
        assert_eq!(e.0[0].loc.line, 3);

        let e = load_files(
            &[
                (
                    "/p/compose.yaml",
                    "include: [other.yaml]\nservices:\n  a:\n    image: x\n",
                ),
                (
                    "/p/other.yaml",
                    "include:\n  - compose.yaml\nservices:\n  b:\n    image: y\n",
                ),
            ],
            &["/p/compose.yaml"],
        )
        .expect_err("include cycle");
        assert!(e.0[0].message.contains("includes itself"), "{e}");
        assert_eq!(
            (e.0[0].loc.file.as_path(), e.0[0].loc.line),
            (Path::new("/p/other.yaml"), 2)
        );

        let e = load_files(
            &[("/p/compose.yaml", "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: y\n    depends_on: [a]\n")],
            &["/p/compose.yaml"],
        )
        .expect_err("dependency cycle");
        assert!(e.0[0].message.contains("a → b → a"), "{e}");
    }
}
