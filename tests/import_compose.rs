//! `quadgen import compose` against Compose itself. For every stack of the corpus
//! (`../shared/corpus/compose/awesome-compose`), Debian's real docker-compose (2.26 and 2.40)
//! prints its normalized model (`config --format json`); the importer imports the same file (and,
//! separately, that JSON on "standard input"); quadgen builds the result; the real quadlet
//! generators (5.4.2 and the newest) convert it with no warning; and each service is compared
//! field by field with what podman would finally receive (the `podman run` argv after systemd's
//! rules, and the unit's Restart=/Requires=). A difference fails unless [`EXPLAINED`] lists it
//! with its reason; a refused file must be refused with a located reason of a known kind.

#[path = "support/compose.rs"]
mod compose;
#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use quadgen::compile::model::{Duration, Image};
use quadgen::compile::version::PodmanVersion;
use quadgen::import::{self, Disk, Imported, Input, Options, Refused};
use quadgen::unit::parse::ParsedUnit;
use serde_json::Value as Json;

fn corpus() -> PathBuf {
    corpus::compose()
}

/// Every awesome-compose stack: (project directory, compose file), sorted.
fn stacks() -> Vec<(PathBuf, PathBuf)> {
    let root = corpus().join("awesome-compose");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("the corpus is missing at {} ({e})", root.display()))
    {
        let dir = entry.expect("dir entry").path();
        for f in ["compose.yaml", "compose.yml"] {
            if dir.join(f).is_file() {
                let dir = dir.canonicalize().expect("canonical");
                out.push((dir.clone(), dir.join(f)));
            }
        }
    }
    out.sort();
    out
}

fn options() -> Options {
    Options {
        environment: compose::test_environment(),
        ..Options::default()
    }
}

/// Refusals the importer may make, each with why (anything else is a failure).
const REFUSALS: &[(&str, &str)] = &[
    (
        "has a character quadgen refuses in host paths",
        "a host path with `:`, `\\`, whitespace, quotes, `$` or `%` cannot be written safely into RequiresMountsFor= (quadgen refuses it in inventories too)",
    ),
    (
        "is built from source (`build:`) and names no `image`",
        "quadgen runs published images; building them is not an inventory feature (issue 8: a Quadlet .build unit only if proven end to end)",
    ),
];

/// Differences between Compose and quadgen that are deliberate, each with its reason.
/// (field, Compose's value or `*`, ours or `*`, reason)
/// A value ending in `*` matches by prefix.
const EXPLAINED: &[(&str, &str, &str, &str)] = &[(
    "restart",
    "",
    "on-failure",
    "no `restart` in Compose means `no`; quadgen's default is on-failure (RestartSec=10s), said in the output's header",
)];

fn matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

/// Service keys compared below, or checked to have been warned about.
const COMPARED: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "secrets",
    "networks",
    "network_mode",
    "depends_on",
    "healthcheck",
    "restart",
    "user",
    "labels",
    "devices",
    "container_name",
    "stop_grace_period",
    // which services exist at all is checked: an active profile is not dropped
    "profiles",
    // carried as inventory fields (or podman_args), compared below
    "cap_add",
    "cap_drop",
    "sysctls",
    "hostname",
    "working_dir",
    "read_only",
    "init",
    "privileged",
    "tty",
    "stdin_open",
    "shm_size",
    "extra_hosts",
    "dns",
    "dns_search",
    "dns_opt",
    "group_add",
    "tmpfs",
    "security_opt",
    "ulimits",
    "stop_signal",
    "userns_mode",
    "logging",
    "mem_limit",
    "cpus",
    "pids_limit",
    // its resource limits are compared; every other setting must be warned about (checked apart)
    "deploy",
];

/// The `deploy` settings the importer carries (as `memory`, `cpus`, `pids_limit`).
const DEPLOY_CARRIED: &[&str] = &[
    "deploy.resources.limits.memory",
    "deploy.resources.limits.cpus",
    "deploy.resources.limits.pids",
];

/// Every leaf of `v` under `path` (empty mappings and nulls have none).
fn leaves(path: &str, v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                leaves(&format!("{path}.{k}"), x, out);
            }
        }
        Json::Null => {}
        _ => out.push(path.to_string()),
    }
}

#[derive(Debug, Default)]
struct Tally {
    imported: Vec<String>,
    refused: Vec<(String, String)>,
    failures: Vec<String>,
    explained: BTreeMap<String, usize>,
    warnings: usize,
}

/// One project, checked against Compose: `files` with `compose_args` for docker-compose and
/// `options` for the importer.
struct Case<'a> {
    label: String,
    dir: PathBuf,
    files: Vec<PathBuf>,
    compose_args: &'a [&'a str],
    options: Options,
}

impl Case<'static> {
    /// The files `names` of the fixture directory `dir`, with the default options.
    fn of_fixture(label: &str, dir: &Path, names: &[&str]) -> Self {
        Case {
            label: label.into(),
            dir: dir.to_path_buf(),
            files: names.iter().map(|n| dir.join(n)).collect(),
            compose_args: &[],
            options: options(),
        }
    }
}

fn check_case(
    case: &Case<'_>,
    composes: &[compose::Compose],
    oracles: &[oracle::Oracle],
    tally: &mut Tally,
) -> Option<Imported> {
    let stack = &case.label;
    let files: Vec<&Path> = case.files.iter().map(PathBuf::as_path).collect();
    let configs: Vec<(String, Result<String, String>)> = composes
        .iter()
        .map(|c| {
            (
                c.version.clone(),
                c.config(&case.dir, &files, case.compose_args),
            )
        })
        .collect();
    let from_yaml = import::compose(&Input::Files(case.files.clone()), &case.options, &Disk);
    if let Some((version, Err(why))) = configs.iter().find(|(_, r)| r.is_err()) {
        // Compose itself refuses the file: so must the importer, at a line.
        if !configs.iter().all(|(_, r)| r.is_err()) {
            tally.failures.push(format!(
                "{stack}: only docker-compose {version} refuses it: {why}"
            ));
        }
        match &from_yaml {
            Ok(_) => tally.failures.push(format!(
                "{stack}: Compose refuses it ({}), the importer does not",
                why.trim()
            )),
            Err(refused) if refused.0.iter().all(|e| e.loc.line > 0) => tally.refused.push((
                stack.clone(),
                format!(
                    "Compose refuses it too: {}",
                    why.lines().last().unwrap_or_default()
                ),
            )),
            Err(refused) => tally
                .failures
                .push(format!("{stack}: refusal without a line:\n{refused}")),
        }
        return None;
    }
    let jsons: Vec<(String, Json)> = configs
        .into_iter()
        .map(|(v, r)| {
            (
                v,
                serde_json::from_str(&r.expect("config")).expect("compose JSON"),
            )
        })
        .collect();
    match from_yaml {
        Err(refused) => {
            check_refusal(stack, &refused, tally);
            None
        }
        Ok(imported) => {
            tally.warnings += imported.warnings.len();
            for (version, json) in &jsons {
                check_import(stack, "yaml", &imported, json, version, oracles, tally);
            }
            // The same project through Compose's own normalized JSON (`quadgen import compose -`).
            let (version, json) = jsons.last().expect("a compose");
            let text = serde_json::to_string(json).expect("json");
            match import::compose(
                &Input::Normalized {
                    name: PathBuf::from("<stdin>"),
                    text,
                },
                &options(),
                &Disk,
            ) {
                Ok(from_json) => {
                    check_import(stack, "json", &from_json, json, version, oracles, tally)
                }
                Err(r) => tally
                    .failures
                    .push(format!("{stack}: Compose's JSON refused:\n{r}")),
            }
            tally.imported.push(stack.clone());
            Some(imported)
        }
    }
}

fn report(corpus: &str, tally: &Tally) {
    eprintln!(
        "corpus {corpus}: {} imported, built and converted cleanly ({}), {} refused, {} warnings",
        tally.imported.len(),
        tally.imported.join(", "),
        tally.refused.len(),
        tally.warnings
    );
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (stack, reason) in &tally.refused {
        by_reason.entry(reason).or_default().push(stack);
    }
    for (reason, stacks) in by_reason {
        eprintln!(
            "  refused ({}): {reason}: {}",
            stacks.len(),
            stacks.join(", ")
        );
    }
    for (reason, n) in &tally.explained {
        eprintln!("  explained difference ({n}x): {reason}");
    }
    assert!(
        tally.failures.is_empty(),
        "{} unexplained difference(s):\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}

#[test]
fn awesome_compose_stacks_import_build_convert_and_match_compose() {
    let composes = compose::composes();
    let oracles = oracle::oracles();
    if composes.is_empty() || oracles.is_empty() {
        return;
    }
    let mut tally = Tally::default();
    for (dir, file) in stacks() {
        let label = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let case = Case {
            label,
            dir,
            files: vec![file],
            compose_args: &[],
            options: options(),
        };
        check_case(&case, &composes, &oracles, &mut tally);
    }
    report("awesome-compose", &tally);
    assert!(
        tally.imported.len() >= 13,
        "fewer stacks import than before: {:?}",
        tally.imported
    );
}

/// compose-go's own loader fixtures, each file on its own, plus the combinations they are made for
/// (`-f` overrides, `--env-file`).
#[test]
fn compose_go_fixtures_match_compose_or_are_refused_with_a_located_reason() {
    let composes = compose::composes();
    let oracles = oracle::oracles();
    if composes.is_empty() || oracles.is_empty() {
        return;
    }
    let root = corpus()
        .join("compose-go-testdata")
        .canonicalize()
        .expect("corpus");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut tally = Tally::default();
    for f in &files {
        let dir = f.parent().expect("dir").to_path_buf();
        let label = f
            .strip_prefix(&root)
            .expect("under root")
            .display()
            .to_string();
        let case = Case {
            label,
            dir,
            files: vec![f.clone()],
            compose_args: &[],
            options: options(),
        };
        check_case(&case, &composes, &oracles, &mut tally);
    }
    let simple = root.join("cli/testdata/simple");
    let env_dir = root.join("cli/testdata/env-file");
    let combos = [
        Case {
            label: "simple: -f compose.yaml -f compose-with-overrides.yaml".into(),
            dir: simple.clone(),
            files: vec![
                simple.join("compose.yaml"),
                simple.join("compose-with-overrides.yaml"),
            ],
            compose_args: &[],
            options: options(),
        },
        Case {
            label: "env-file: --env-file override.env".into(),
            dir: env_dir.clone(),
            files: vec![env_dir.join("compose-with-env-file.yaml")],
            compose_args: &["--env-file", "override.env"],
            options: Options {
                env_files: vec![env_dir.join("override.env")],
                ..options()
            },
        },
    ];
    for case in &combos {
        check_case(case, &composes, &oracles, &mut tally);
    }
    report("compose-go-testdata", &tally);
}

fn check_refusal(stack: &str, refused: &Refused, tally: &mut Tally) {
    for e in &refused.0 {
        if e.loc.line == 0 {
            tally
                .failures
                .push(format!("{stack}: refusal without a line: {e}"));
        }
        match REFUSALS.iter().find(|(m, _)| e.message.contains(m)) {
            Some((_, why)) => tally.refused.push((stack.to_string(), why.to_string())),
            None => tally
                .failures
                .push(format!("{stack}: unexpected refusal: {e}")),
        }
    }
    tally.refused.dedup();
}

/// Builds the import, converts it with every quadlet (no warning), and compares it with Compose.
fn check_import(
    stack: &str,
    via: &str,
    imported: &Imported,
    json: &Json,
    version: &str,
    oracles: &[oracle::Oracle],
    tally: &mut Tally,
) {
    let ctx = format!("{stack} ({via} vs docker-compose {version})");
    let inventory: toml::Table = toml::from_str(&imported.toml)
        .unwrap_or_else(|e| panic!("{ctx}: the import is not TOML: {e}\n{}", imported.toml));
    let compiled = quadgen::compile::compile(
        Path::new("imported.toml"),
        &imported.toml,
        PodmanVersion::DEFAULT,
    )
    .unwrap_or_else(|r| {
        panic!(
            "{ctx}: the import does not build:\n{}\n{}",
            r.render(false),
            imported.toml
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
    }
    let mut runs = Vec::new();
    for o in oracles {
        let run = o.dryrun(dir.path());
        run.assert_clean(o);
        runs.push(run);
    }
    let run = runs.first().expect("trixie's quadlet");
    let services = json["services"].as_object().expect("services");
    let containers = inventory
        .get("containers")
        .and_then(|c| c.as_table())
        .cloned()
        .unwrap_or_default();
    for (svc_name, svc) in services {
        // The container is named after the service (the DNS name other services use).
        let cname = svc_name.as_str();
        assert!(
            containers.contains_key(cname),
            "{ctx}: no container for service `{svc_name}`"
        );
        let unit = run.service(&format!("{cname}.service"));
        let mut diffs = Vec::new();
        compare_service(json, svc, unit, imported, cname, &mut diffs);
        compare_fields(json, svc, unit, &inventory, cname, &mut diffs);
        for (field, compose_v, ours) in diffs {
            let explained = EXPLAINED
                .iter()
                .find(|(f, c, o, _)| *f == field && matches(c, &compose_v) && matches(o, &ours));
            match explained {
                Some((_, _, _, why)) => *tally.explained.entry(why.to_string()).or_default() += 1,
                None => tally.failures.push(format!(
                    "{ctx}: service `{svc_name}`: {field}: Compose {compose_v:?}, quadgen {ours:?}"
                )),
            }
        }
        // Extension fields Compose found in `labels` or `environment` (it prints them as one
        // `#extensions` entry) were warned about.
        for field in ["labels", "environment"] {
            if svc[field].get("#extensions").is_some() {
                let warned = imported.warnings.iter().any(|w| {
                    w.service.as_deref() == Some(svc_name.as_str())
                        && (w.key.starts_with(&format!("{field}.x-"))
                            || w.key.starts_with(&format!("{field}.#")))
                });
                if !warned {
                    tally.failures.push(format!(
                        "{ctx}: service `{svc_name}`: extensions in `{field}` left out without a warning"
                    ));
                }
            }
        }
        // Every `deploy` setting but the limits was warned about.
        let mut deploy = Vec::new();
        leaves("deploy", &svc["deploy"], &mut deploy);
        for leaf in deploy
            .iter()
            .filter(|l| !DEPLOY_CARRIED.contains(&l.as_str()))
        {
            let warned = imported.warnings.iter().any(|w| {
                w.service.as_deref() == Some(svc_name.as_str()) && leaf.starts_with(&w.key)
            });
            if !warned {
                tally.failures.push(format!(
                    "{ctx}: service `{svc_name}`: `{leaf}` was dropped without a warning"
                ));
            }
        }
        // Nothing dropped silently: every other key Compose has for the service was warned about.
        for key in svc.as_object().expect("service").keys() {
            if COMPARED.contains(&key.as_str()) || svc[key].is_null() {
                continue;
            }
            let warned = imported.warnings.iter().any(|w| {
                w.service.as_deref() == Some(svc_name.as_str())
                    && w.key.split('.').next() == Some(key.as_str())
            });
            if !warned {
                tally.failures.push(format!(
                    "{ctx}: service `{svc_name}`: `{key}` was dropped without a warning"
                ));
            }
        }
    }
}

fn strings(v: &Json) -> Vec<String> {
    match v {
        Json::Array(items) => items.iter().map(scalar).collect(),
        Json::Null => Vec::new(),
        other => vec![scalar(other)],
    }
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Compose prints `$` as `$$` (its output is again a Compose file); the container gets one `$`.
fn undollar(s: &str) -> String {
    s.replace("$$", "$")
}

/// Field-by-field comparison of one Compose service with the podman argv quadlet generated.
/// Pushes (field, Compose's value, ours) for every difference.
fn compare_service(
    project: &Json,
    svc: &Json,
    unit: &ParsedUnit,
    imported: &Imported,
    cname: &str,
    diffs: &mut Vec<(String, String, String)>,
) {
    let argv = oracle::podman_argv(unit);
    let mut check = |field: &str, compose_v: String, ours: String| {
        if compose_v != ours {
            diffs.push((field.to_string(), compose_v, ours));
        }
    };
    let opt = |name: &str| -> Vec<String> {
        oracle::option_values(&argv, name)
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v.join("\n")
    };
    // image: Docker's resolution of a short name
    let image = scalar(&svc["image"]);
    let qualified = Image::parse(&image)
        .map(|i| {
            if i.fully_qualified {
                image.clone()
            } else {
                i.qualified
            }
        })
        .unwrap_or_default();
    let qualified =
        if !image.contains(':') && !image.contains('@') && !qualified.ends_with(":latest") {
            format!("{qualified}:latest")
        } else {
            qualified
        };
    let ours_image = argv
        .iter()
        .rev()
        .find(|a| **a == qualified)
        .cloned()
        .unwrap_or_else(|| "<not in argv>".into());
    check("image", qualified.clone(), ours_image);
    // command: the words after the image
    let after = if argv.contains(&qualified) {
        oracle::args_after_image(&argv, &qualified).to_vec()
    } else {
        Vec::new()
    };
    check(
        "command",
        strings(&svc["command"])
            .iter()
            .map(|s| undollar(s))
            .collect::<Vec<_>>()
            .join(" | "),
        after.join(" | "),
    );
    // entrypoint: one word as it is, several as podman's JSON list
    let ep = strings(&svc["entrypoint"])
        .iter()
        .map(|s| undollar(s))
        .collect::<Vec<_>>();
    let ours_ep = opt("--entrypoint")
        .first()
        .map(|e| match serde_json::from_str::<Vec<String>>(e) {
            Ok(words) => words,
            Err(_) => vec![e.clone()],
        })
        .unwrap_or_default();
    check("entrypoint", ep.join(" | "), ours_ep.join(" | "));
    // environment: Compose inlines env_file; podman gets --env and reads --env-file literally
    let moved: BTreeSet<&str> = imported
        .moved_secrets
        .iter()
        .filter(|m| m.container == cname)
        .map(|m| m.key.as_str())
        .collect();
    let mut compose_env: Vec<String> = Vec::new();
    for (k, v) in svc["environment"].as_object().into_iter().flatten() {
        if v.is_null() || k.starts_with('#') {
            continue;
        }
        if moved.contains(k.as_str()) {
            compose_env.push(format!("{k}=<in a secret env file>"));
        } else {
            compose_env.push(format!("{k}={}", undollar(&scalar(v))));
        }
    }
    // podman: env files in order (a later one wins), then --env over them
    let mut ours_env: BTreeMap<String, String> = BTreeMap::new();
    for f in opt("--env-file") {
        let keys_moved = imported.moved_secrets.iter().any(|m| m.env_file == f);
        if keys_moved {
            for k in &moved {
                ours_env.insert(k.to_string(), "<in a secret env file>".into());
            }
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("env file {f}: {e}"));
        for line in text.lines() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            ours_env.insert(k.to_string(), v.to_string());
        }
    }
    for e in opt("--env") {
        let (k, v) = e.split_once('=').unwrap_or((&e, ""));
        ours_env.insert(k.to_string(), v.to_string());
    }
    let ours_env: Vec<String> = ours_env
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    check("environment", sorted(compose_env), sorted(ours_env));
    // ports
    let mut ports = Vec::new();
    for p in svc["ports"].as_array().into_iter().flatten() {
        let ip = scalar(&p["host_ip"]);
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip
        };
        let published = scalar(&p["published"]);
        let mut s = match (ip.is_empty(), published.is_empty()) {
            (true, true) => scalar(&p["target"]),
            (true, false) => format!("{published}:{}", scalar(&p["target"])),
            (false, _) => format!("{ip}:{published}:{}", scalar(&p["target"])),
        };
        let proto = scalar(&p["protocol"]);
        if !proto.is_empty() && proto != "tcp" {
            s = format!("{s}/{proto}");
        }
        ports.push(s);
    }
    check("ports", sorted(ports), sorted(opt("--publish")));
    // volumes (named volumes by the name Compose gives them), and file secrets, which Compose
    // mounts read-only at their target
    let mut mounts = Vec::new();
    for v in svc["volumes"].as_array().into_iter().flatten() {
        if v["type"] == "tmpfs" {
            continue; // compared with `tmpfs` below
        }
        let source = scalar(&v["source"]);
        let source = match scalar(&v["type"]).as_str() {
            "volume" if !source.is_empty() => scalar(&project["volumes"][&source]["name"]),
            _ => source,
        };
        let mut opts = Vec::new();
        if v["read_only"] == Json::Bool(true) {
            opts.push("ro".to_string());
        }
        if let Some(s) = v["bind"]["selinux"].as_str() {
            opts.push(s.to_string());
        }
        if let Some(s) = v["bind"]["propagation"].as_str() {
            opts.push(s.to_string());
        }
        if v["volume"]["nocopy"] == Json::Bool(true) {
            opts.push("nocopy".into());
        }
        let mut m = if source.is_empty() {
            scalar(&v["target"])
        } else {
            format!("{source}:{}", scalar(&v["target"]))
        };
        if !opts.is_empty() {
            m = format!("{m}:{}", opts.join(","));
        }
        mounts.push(m);
    }
    check("volumes", sorted(mounts), sorted(opt("-v")));
    // depends_on: Requires= + After= on the dependency's service (Wants= when not required)
    let mut deps = Vec::new();
    let mut soft = Vec::new();
    for (d, spec) in svc["depends_on"].as_object().into_iter().flatten() {
        let dname = d;
        if spec["required"] == Json::Bool(false) {
            soft.push(format!("{dname}.service"))
        } else {
            deps.push(format!("{dname}.service"))
        }
    }
    let requires: Vec<String> = unit
        .all("Unit", "Requires")
        .iter()
        .flat_map(|r| r.split_whitespace())
        .filter(|r| !r.ends_with("-network.service") && !r.ends_with("-volume.service"))
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // (a set: quadlet adds `Requires=` for `--network container:X` beside quadgen's own)
    check("depends_on", sorted(deps), sorted(requires));
    let wants: Vec<String> = unit
        .all("Unit", "Wants")
        .iter()
        .flat_map(|r| r.split_whitespace())
        .filter(|w| w.ends_with(".service"))
        .map(str::to_string)
        .collect();
    check("depends_on (not required)", sorted(soft), sorted(wants));
    // healthcheck
    let test = strings(&svc["healthcheck"]["test"]);
    let compose_cmd = match test.split_first() {
        Some((k, rest)) if k == "CMD-SHELL" => undollar(&rest.join(" ")),
        Some((k, rest)) if k == "CMD" => {
            serde_json::to_string(&rest.iter().map(|s| undollar(s)).collect::<Vec<_>>())
                .expect("json")
        }
        _ => String::new(),
    };
    check(
        "healthcheck.test",
        compose_cmd.clone(),
        opt("--health-cmd").join(" "),
    );
    // `NONE` (or `disable: true`) also turns off the image's own check
    check(
        "healthcheck disabled",
        (test.first().map(String::as_str) == Some("NONE")
            || svc["healthcheck"]["disable"] == Json::Bool(true))
        .to_string(),
        argv.contains(&"--no-healthcheck".to_string()).to_string(),
    );
    if !compose_cmd.is_empty() {
        for (k, flag) in [
            ("interval", "--health-interval"),
            ("timeout", "--health-timeout"),
            ("start_period", "--health-start-period"),
        ] {
            let c = svc["healthcheck"][k]
                .as_str()
                .map(|d| Duration::parse(d).expect("compose duration"));
            let o = opt(flag)
                .first()
                .map(|d| Duration::parse(d).expect("podman duration"));
            if c.is_some() {
                check(
                    &format!("healthcheck.{k}"),
                    format!("{c:?}"),
                    format!("{o:?}"),
                );
            }
        }
        if !svc["healthcheck"]["retries"].is_null() {
            check(
                "healthcheck.retries",
                scalar(&svc["healthcheck"]["retries"]),
                opt("--health-retries").join(""),
            );
        }
    }
    // restart: systemd's Restart= for Compose's policy
    let restart = match scalar(&svc["restart"]).as_str() {
        "unless-stopped" => "always".to_string(),
        r if r.starts_with("on-failure") => "on-failure".to_string(),
        r => r.to_string(),
    };
    check(
        "restart",
        restart,
        unit.last("Service", "Restart")
            .unwrap_or_default()
            .to_string(),
    );
    check("user", scalar(&svc["user"]), opt("--user").join(""));
    // Compose keeps `x-` keys of a mapping as extensions (`#extensions`), not labels; the
    // importer leaves them out with a warning (checked in `check_import`).
    let labels: Vec<String> = svc["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with('#'))
        .map(|(k, v)| format!("{k}={}", undollar(&scalar(v))))
        .collect();
    let ours_labels: Vec<String> = opt("--label")
        .into_iter()
        .filter(|l| !l.starts_with("io.containers.autoupdate="))
        .collect();
    check("labels", sorted(labels), sorted(ours_labels));
    let devices: Vec<String> = svc["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| match d {
            Json::String(s) => s.clone(),
            other => [
                scalar(&other["source"]),
                scalar(&other["target"]),
                scalar(&other["permissions"]),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(":"),
        })
        .collect();
    check("devices", sorted(devices), sorted(opt("--device")));
    // stop_grace_period: podman's stop timeout, in whole seconds
    if let Some(g) = svc["stop_grace_period"].as_str() {
        let secs = Duration::parse(g)
            .expect("compose duration")
            .whole_secs_rounded_up();
        check(
            "stop_grace_period",
            secs.to_string(),
            opt("--stop-timeout").join(""),
        );
    }
    // the settings carried as podman flags
    for (key, flag) in [
        ("sysctls", "--sysctl"),
        ("hostname", "--hostname"),
        ("working_dir", "--workdir"),
    ] {
        let compose_v: Vec<String> = match &svc[key] {
            Json::Object(m) => m
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect(),
            other => strings(other),
        };
        check(key, sorted(compose_v), sorted(opt(flag)));
    }
    check(
        "shm_size",
        strings(&svc["shm_size"])
            .iter()
            .map(|s| bytes(s))
            .collect::<Vec<_>>()
            .join(""),
        opt("--shm-size")
            .iter()
            .map(|s| bytes(s))
            .collect::<Vec<_>>()
            .join(""),
    );
    // podman's `--add-host` takes `host:ip`; Compose prints `host=ip`
    let hosts: Vec<String> = strings(&svc["extra_hosts"])
        .iter()
        .map(|h| h.replacen('=', ":", 1))
        .collect();
    check("extra_hosts", sorted(hosts), sorted(opt("--add-host")));
    check("dns", sorted(strings(&svc["dns"])), sorted(opt("--dns")));
    // tmpfs: the key's and the `volumes` of type tmpfs, sizes in bytes
    let mut tmpfs = strings(&svc["tmpfs"]);
    for v in svc["volumes"].as_array().into_iter().flatten() {
        if v["type"] == "tmpfs" {
            let mut opts = Vec::new();
            if v["read_only"] == Json::Bool(true) {
                opts.push("ro".to_string());
            }
            if !v["tmpfs"]["size"].is_null() {
                opts.push(format!("size={}", scalar(&v["tmpfs"]["size"])));
            }
            if !v["tmpfs"]["mode"].is_null() {
                opts.push(format!("mode={}", octal(&v["tmpfs"]["mode"])));
            }
            let target = scalar(&v["target"]);
            tmpfs.push(match opts.is_empty() {
                true => target,
                false => format!("{target}:{}", opts.join(",")),
            });
        }
    }
    let in_bytes = |t: &String| -> String {
        let Some((path, opts)) = t.split_once(':') else {
            return t.clone();
        };
        let opts: Vec<String> = opts
            .split(',')
            .map(|o| match o.strip_prefix("size=") {
                Some(size) => format!("size={}", bytes(size)),
                None => o.to_string(),
            })
            .collect();
        format!("{path}:{}", opts.join(","))
    };
    check(
        "tmpfs",
        sorted(tmpfs.iter().map(in_bytes).collect()),
        sorted(opt("--tmpfs").iter().map(in_bytes).collect()),
    );
    for (key, flag) in [
        ("read_only", "--read-only"),
        ("init", "--init"),
        ("privileged", "--privileged"),
        ("tty", "--tty"),
        ("stdin_open", "--interactive"),
    ] {
        check(
            key,
            (svc[key] == Json::Bool(true)).to_string(),
            argv.contains(&flag.to_string()).to_string(),
        );
    }
}

/// The awesome-compose stacks refused because a service is only built from source, imported with
/// a second file naming the image each built service would be pushed as (what the refusal tells
/// the user to do, here generated from Compose's own model): they then build, convert and match
/// Compose too, with their file secrets, `stop_signal`s and read-only mounts.
#[test]
fn built_stacks_with_an_image_override_match_compose() {
    let composes = compose::composes();
    let oracles = oracle::oracles();
    if composes.is_empty() || oracles.is_empty() {
        return;
    }
    let overrides = tempfile::tempdir().expect("tempdir");
    let mut tally = Tally::default();
    let mut secrets = 0;
    for (dir, file) in stacks() {
        let Ok(json) = composes[0].config(&dir, &[&file], &[]) else {
            continue;
        };
        let json: Json = serde_json::from_str(&json).expect("compose JSON");
        let stack = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_ascii_lowercase();
        let mut text = String::from("services:\n");
        for (name, svc) in json["services"].as_object().into_iter().flatten() {
            if svc.get("build").is_some() && svc.get("image").is_none() {
                text.push_str(&format!(
                    "  {name}:\n    image: localhost/{stack}-{name}:latest\n"
                ));
            }
        }
        if text.lines().count() == 1 {
            continue;
        }
        let images = overrides.path().join(format!("{stack}.yaml"));
        std::fs::write(&images, text).expect("write the override");
        let case = Case {
            label: format!("{stack} -f images.yaml"),
            dir,
            files: vec![file, images],
            compose_args: &[],
            options: options(),
        };
        if let Some(imported) = check_case(&case, &composes, &oracles, &mut tally) {
            secrets += imported.toml.matches("\n[secrets.").count();
        }
    }
    report("awesome-compose built from source", &tally);
    assert!(
        tally.imported.len() >= 20,
        "fewer built stacks import than before: {:?}",
        tally.imported
    );
    assert!(
        secrets >= 8,
        "file secrets became [secrets.NAME]: {secrets}"
    );
}

/// A directory of `tests/fixtures/compose`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compose")
        .join(name)
}

/// Every Compose key the inventory has a field for, in each form Compose allows
/// (`tests/fixtures/compose/fields`): imported from the YAML and from Compose's JSON, built, and
/// each service's `podman run` line (from both real quadlets) matches Compose's model. What the
/// inventory refuses or has no field for stays a podman argument, said where; what podman cannot
/// get at all (a secret from Compose's environment, `deploy.replicas`) is a warning.
#[test]
fn keys_with_an_inventory_field_become_that_field_and_match_compose() {
    let composes = compose::composes();
    let oracles = oracle::oracles();
    if composes.is_empty() || oracles.is_empty() {
        return;
    }
    let dir = fixture("fields");
    let mut tally = Tally::default();
    let imported = check_case(
        &Case::of_fixture("fields", &dir, &["compose.yaml"]),
        &composes,
        &oracles,
        &mut tally,
    )
    .expect("imports");
    report("fields", &tally);
    let inventory: toml::Table = toml::from_str(&imported.toml).expect("TOML");
    let args = |c: &str| {
        inventory["containers"][c]
            .get("podman_args")
            .map(ToString::to_string)
    };
    assert_eq!(
        args("vpn").as_deref(),
        Some("[\"--security-opt=apparmor=unconfined\"]")
    );
    assert_eq!(
        args("app").as_deref(),
        Some("[\"--log-driver=json-file\", \"--tty\", \"--interactive\"]"),
        "{}",
        imported.toml
    );
    assert_eq!(args("cache"), None);
    assert!(
        imported.toml.contains("# `--log-driver=json-file` stays a podman argument: the inventory's `log_driver` refuses it: `json-file` is not a podman log driver"),
        "{}",
        imported.toml
    );
    // The secret file, relative in Compose, is the project directory's; its mode is octal.
    assert_eq!(
        inventory["secrets"]["fields_db_password"]["file"].as_str(),
        Some(dir.join("db_password.txt").to_str().expect("utf-8"))
    );
    assert_eq!(
        inventory["containers"]["vpn"]["secrets"][1]["mode"].as_str(),
        Some("0440")
    );
    let warned = |key: &str| imported.warnings.iter().any(|w| w.key == key);
    assert!(
        warned("secrets") && warned("deploy.replicas"),
        "{:?}",
        imported.warnings
    );
}

/// A stack with interpolation (every operator, `.env`, `$$`), `include`, `extends` from another
/// file (whose `env_file` is relative to it), a profile, a second `-f` file, short and long
/// syntax: imported three ways, each equal to what Compose makes of it.
#[test]
fn interpolation_include_extends_profiles_and_overrides_match_compose() {
    let composes = compose::composes();
    let oracles = oracle::oracles();
    if composes.is_empty() || oracles.is_empty() {
        return;
    }
    let dir = fixture("stack");
    let mut tally = Tally::default();
    let plain = check_case(
        &Case::of_fixture("stack", &dir, &["compose.yaml"]),
        &composes,
        &oracles,
        &mut tally,
    )
    .expect("imports");
    check_case(
        &Case::of_fixture(
            "stack -f override.yaml",
            &dir,
            &["compose.yaml", "override.yaml"],
        ),
        &composes,
        &oracles,
        &mut tally,
    )
    .expect("imports");
    let with_debug = check_case(
        &Case {
            compose_args: &["--profile", "debug"],
            options: Options {
                profiles: vec!["debug".into()],
                ..options()
            },
            ..Case::of_fixture("stack --profile debug", &dir, &["compose.yaml"])
        },
        &composes,
        &oracles,
        &mut tally,
    )
    .expect("imports");
    report("fixture", &tally);

    // The secret from .env never reaches the inventory; the user is told where to put it.
    for imported in [&plain, &with_debug] {
        assert!(!imported.toml.contains("hunter2"), "{}", imported.toml);
        assert_eq!(
            imported
                .moved_secrets
                .iter()
                .map(|m| (m.container.as_str(), m.key.as_str(), m.env_file.as_str()))
                .collect::<Vec<_>>(),
            [("db", "POSTGRES_PASSWORD", "/etc/quadgen/env/db.env")]
        );
    }
    let secret_warning = plain
        .warnings
        .iter()
        .find(|w| w.key == "environment.POSTGRES_PASSWORD")
        .expect("a warning for the secret");
    assert_eq!(
        (
            secret_warning.loc.line,
            secret_warning.loc.col,
            secret_warning.service.as_deref()
        ),
        (11, 26, Some("db")),
        "{secret_warning}"
    );
    // The unselected profile is a warning naming the service, and the service is absent.
    let profile = plain
        .warnings
        .iter()
        .find(|w| w.key == "profiles")
        .expect("profile warning");
    assert_eq!(profile.service.as_deref(), Some("debug"));
    assert!(profile.message.contains("--profile debug"), "{profile}");
    assert!(!plain.toml.contains("[containers.debug]"));
    assert!(with_debug.toml.contains("[containers.debug]"));
    // Services in file order (included ones after), the implicit names Compose uses.
    let order: Vec<&str> = plain
        .toml
        .lines()
        .filter_map(|l| {
            l.strip_prefix("[containers.")
                .and_then(|l| l.strip_suffix(']'))
        })
        .filter(|l| !l.contains('.'))
        .collect();
    assert_eq!(order, ["db", "app", "node-exporter"]);
    assert!(
        plain.toml.contains("[networks.homelab_back]"),
        "{}",
        plain.toml
    );
    assert!(plain.toml.contains("[volumes.homelab_pgdata]"));
    // What every service shares is in [defaults]; unless-stopped and the short image name say
    // what they became.
    assert!(
        plain.toml.contains("[defaults]\nrestart = \"always\""),
        "{}",
        plain.toml
    );
    assert!(
        plain
            .toml
            .contains("# restart: Compose: unless-stopped (systemd does not restart a unit you stopped); from [defaults]")
    );
    assert!(
        plain
            .toml
            .contains("image = \"docker.io/library/postgres:16.4\"   # Compose: postgres:16.4")
    );
    // The keys the inventory has fields for are those fields (what podman gets from them is
    // compared with Compose above), per-network aliases included: nothing left for podman_args.
    let inventory: toml::Table = toml::from_str(&plain.toml).expect("TOML");
    let app = &inventory["containers"]["app"];
    assert_eq!(app.get("podman_args"), None, "{}", plain.toml);
    for (field, value) in [
        ("cap_add", "[\"NET_ADMIN\"]"),
        ("tmpfs", "[\"/run/app\"]"),
        ("dns", "[\"10.0.0.1\"]"),
        ("shm_size", "\"256m\""),
        (
            "extra_hosts",
            "[\"printer.lan:10.0.0.9\", \"nas.lan:10.0.0.10\"]",
        ),
        (
            "networks",
            "[{ aliases = [\"api\"], name = \"homelab_back\" }, \"homelab_front\"]",
        ),
    ] {
        assert_eq!(app[field].to_string(), value, "{field}");
    }
}

/// A size (`512m`, `1.5G`, `268435456`) in bytes, as podman and Compose read it.
fn bytes(s: &str) -> String {
    let (n, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let factor: f64 = match unit.to_ascii_lowercase().trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("size unit {other}"),
    };
    ((n.parse::<f64>().expect("size") * factor) as u64).to_string()
}

/// A capability as podman reads it: any case, with or without `CAP_`.
fn capability(c: &str) -> String {
    let upper = c.to_ascii_uppercase();
    match upper.strip_prefix("CAP_") {
        Some(bare) => bare.to_string(),
        None => upper,
    }
}

/// `--network NAME[:ip=…,ip6=…,mac=…,alias=…]` → the name and its settings (`container:X` whole).
fn network_arg(arg: &str) -> (String, Vec<(String, String)>) {
    if arg.starts_with("container:") || !arg.contains(':') {
        return (arg.to_string(), Vec::new());
    }
    let (name, opts) = arg.split_once(':').expect("a colon");
    let settings = opts
        .split(',')
        .map(|o| {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (name.to_string(), settings)
}

/// An octal file mode from Compose's JSON (a number in 2.26, `"0400"` in 2.40) or podman's
/// `--secret …,mode=0400`.
fn octal(v: &Json) -> String {
    match v {
        Json::Number(n) => format!("{:04o}", n.as_u64().expect("mode")),
        Json::String(t) if !t.is_empty() => {
            format!("{:04o}", u32::from_str_radix(t, 8).expect("octal mode"))
        }
        _ => String::new(),
    }
}

/// The fields of issue 7 (security, resources, runtime), networks with their settings, and
/// secrets: Compose's model against the `podman run` argv quadlet generated.
fn compare_fields(
    project: &Json,
    svc: &Json,
    unit: &ParsedUnit,
    inventory: &toml::Table,
    cname: &str,
    diffs: &mut Vec<(String, String, String)>,
) {
    let argv = oracle::podman_argv(unit);
    let mut check = |field: &str, compose_v: String, ours: String| {
        if compose_v != ours {
            diffs.push((field.to_string(), compose_v, ours));
        }
    };
    let opt = |name: &str| -> Vec<String> {
        oracle::option_values(&argv, name)
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v.join("\n")
    };
    for (key, flag) in [("cap_add", "--cap-add"), ("cap_drop", "--cap-drop")] {
        let compose_v = strings(&svc[key]).iter().map(|c| capability(c)).collect();
        let ours = opt(flag).iter().map(|c| capability(c)).collect();
        check(key, sorted(compose_v), sorted(ours));
    }
    for (key, flag) in [
        ("dns_search", "--dns-search"),
        ("dns_opt", "--dns-option"),
        ("group_add", "--group-add"),
        ("userns_mode", "--userns"),
    ] {
        check(key, sorted(strings(&svc[key])), sorted(opt(flag)));
    }
    let signal = scalar(&svc["stop_signal"]).to_ascii_uppercase();
    let signal = match signal.as_str() {
        "" => String::new(),
        s if s.starts_with("SIG") => signal.clone(),
        s => format!("SIG{s}"),
    };
    check("stop_signal", signal, opt("--stop-signal").join(""));
    // logging
    check(
        "logging.driver",
        scalar(&svc["logging"]["driver"]),
        opt("--log-driver").join(""),
    );
    let log_opts = svc["logging"]["options"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect();
    check(
        "logging.options",
        sorted(log_opts),
        sorted(opt("--log-opt")),
    );
    // ulimits: a number is the soft and the hard limit
    let ulimits = svc["ulimits"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| match v {
            Json::Object(l) => format!("{k}={}:{}", scalar(&l["soft"]), scalar(&l["hard"])),
            n => format!("{k}={0}:{0}", scalar(n)),
        })
        .collect();
    let ours_ulimits = opt("--ulimit")
        .iter()
        .map(|u| match u.split_once(':') {
            Some(_) => u.clone(),
            None => {
                let (k, n) = u.split_once('=').expect("NAME=LIMIT");
                format!("{k}={n}:{n}")
            }
        })
        .collect();
    check("ulimits", sorted(ulimits), sorted(ours_ulimits));
    // security_opt, as podman reads each (`KEY:VALUE` is `KEY=VALUE`)
    let security = strings(&svc["security_opt"])
        .iter()
        .filter(|o| o.as_str() != "no-new-privileges:false")
        .map(|o| match o.as_str() {
            "no-new-privileges:true" | "no-new-privileges=true" => "no-new-privileges".to_string(),
            o if !o.contains('=') => o.replacen(':', "=", 1),
            o => o.to_string(),
        })
        .collect();
    check(
        "security_opt",
        sorted(security),
        sorted(opt("--security-opt")),
    );
    // resources: mem_limit or deploy's limit (Compose prints both in bytes)
    let limits = &svc["deploy"]["resources"]["limits"];
    let either = |a: &Json, b: &Json| if a.is_null() { scalar(b) } else { scalar(a) };
    let memory = either(&svc["mem_limit"], &limits["memory"]);
    let ours_memory = opt("--memory")
        .iter()
        .map(|m| bytes(m))
        .collect::<Vec<_>>()
        .join("");
    check("memory", memory, ours_memory);
    let cpus = either(&svc["cpus"], &limits["cpus"]);
    let number = |s: &str| {
        s.parse::<f64>()
            .map_or_else(|_| s.to_string(), |f| f.to_string())
    };
    check(
        "cpus",
        number(&cpus),
        opt("--cpus")
            .iter()
            .map(|c| number(c))
            .collect::<Vec<_>>()
            .join(""),
    );
    check(
        "pids_limit",
        either(&svc["pids_limit"], &limits["pids"]),
        opt("--pids-limit").join(""),
    );
    compare_networks(
        project,
        svc,
        &opt("--network"),
        &opt("--network-alias"),
        cname,
        &mut check,
    );
    compare_secrets(project, svc, &opt("--secret"), inventory, &mut check);
}

/// Networks by the names Compose gives them (`service:X` is podman's `container:X`), each with
/// its address, MAC and aliases (`container_name` is one on every network).
fn compare_networks(
    project: &Json,
    svc: &Json,
    ours: &[String],
    global_aliases: &[String],
    cname: &str,
    check: &mut impl FnMut(&str, String, String),
) {
    let ours: BTreeMap<String, Vec<(String, String)>> =
        ours.iter().map(|n| network_arg(n)).collect();
    if let Some(m) = svc["network_mode"].as_str() {
        let mode = match m.strip_prefix("service:") {
            Some(x) => format!("container:{x}"),
            None => m.to_string(),
        };
        let ours_mode: Vec<&str> = ours.keys().map(String::as_str).collect();
        check("network_mode", mode, ours_mode.join(","));
        return;
    }
    let mut names = Vec::new();
    for (k, settings) in svc["networks"].as_object().into_iter().flatten() {
        let name = scalar(&project["networks"][k]["name"]);
        let theirs = ours.get(&name).cloned().unwrap_or_default();
        let value = |key: &str| -> Vec<String> {
            theirs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect()
        };
        for (compose_key, key) in [
            ("ipv4_address", "ip"),
            ("ipv6_address", "ip6"),
            ("mac_address", "mac"),
        ] {
            check(
                &format!("networks.{k}.{compose_key}"),
                scalar(&settings[compose_key]),
                value(key).join(""),
            );
        }
        let mut aliases: BTreeSet<String> = strings(&settings["aliases"]).into_iter().collect();
        if let Some(c) = svc["container_name"].as_str().filter(|c| *c != cname) {
            aliases.insert(c.to_string());
        }
        let mut ours_aliases: BTreeSet<String> = value("alias").into_iter().collect();
        ours_aliases.extend(global_aliases.iter().cloned());
        check(
            &format!("networks.{k}.aliases"),
            aliases.into_iter().collect::<Vec<_>>().join(","),
            ours_aliases.into_iter().collect::<Vec<_>>().join(","),
        );
        names.push(name);
    }
    names.sort();
    check(
        "networks",
        names.join("\n"),
        ours.keys().cloned().collect::<Vec<_>>().join("\n"),
    );
}

/// File secrets: podman's `--secret NAME,target=…,uid=…,gid=…,mode=…`, with the inventory's
/// `[secrets.NAME] file`, against Compose's source file, target, uid, gid and mode.
fn compare_secrets(
    project: &Json,
    svc: &Json,
    ours: &[String],
    inventory: &toml::Table,
    check: &mut impl FnMut(&str, String, String),
) {
    let mut compose = Vec::new();
    for s in svc["secrets"].as_array().into_iter().flatten() {
        let source = scalar(&s["source"]);
        let Some(file) = project["secrets"][&source]["file"].as_str() else {
            continue;
        };
        compose.push(format!(
            "{file} at {} uid={} gid={} mode={}",
            scalar(&s["target"]),
            scalar(&s["uid"]),
            scalar(&s["gid"]),
            octal(&s["mode"])
        ));
    }
    let mut podman = Vec::new();
    for arg in ours {
        let mut parts = arg.split(',');
        let name = parts.next().unwrap_or_default();
        let opts: BTreeMap<&str, &str> = parts.filter_map(|p| p.split_once('=')).collect();
        let file = inventory
            .get("secrets")
            .and_then(|s| s.get(name))
            .and_then(|s| s.get("file"))
            .and_then(toml::Value::as_str)
            .unwrap_or("<no file>");
        let get = |k: &str| opts.get(k).copied().unwrap_or_default().to_string();
        // podman mounts a secret at /run/secrets/NAME unless told otherwise
        let target = opts
            .get("target")
            .map_or_else(|| format!("/run/secrets/{name}"), |t| t.to_string());
        podman.push(format!(
            "{file} at {target} uid={} gid={} mode={}",
            get("uid"),
            get("gid"),
            octal(&Json::String(get("mode")))
        ));
    }
    compose.sort();
    podman.sort();
    check("secrets", compose.join("\n"), podman.join("\n"));
}
