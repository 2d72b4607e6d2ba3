//! Property: random inventories (containers, networks and volumes with their options,
//! dependencies, health checks, mounts, raw keys, …) that quadgen accepts convert with no warning
//! on both real quadlets, and every inventory built only from valid values is accepted.
//!
//! Each field is one line in [`container_fields`], [`network_fields`] or [`volume_fields`]: its
//! name and a strategy for its TOML value. A field marked `Maybe` may be refused (it is valid only
//! together with others, or it is a combination quadlet is known to refuse): the property for it
//! is only "accepted implies converts". Many inventories are batched into one `quadlet -dryrun`.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use oracle::{Oracle, oracles, podman_argv};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, ValueTree};
use quadgen::compile::version::PodmanVersion;

/// Inventories per quadlet run.
const BATCH: usize = 6;

/// Whether quadgen must accept a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Must {
    Accept,
    /// Valid only in some combinations: accepted or refused, but converted if accepted.
    Maybe,
}
use Must::{Accept, Maybe};

/// What a field's strategy knows about the inventory around it.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    /// Prefix of every name of this inventory (`b3-`): inventories share one quadlet run.
    batch: usize,
    /// This entity's index among its kind.
    index: usize,
    networks: usize,
    volumes: usize,
}

impl Ctx {
    fn name(&self, kind: &str, index: usize) -> String {
        format!("b{}-{kind}{index}", self.batch)
    }
}

/// A field: its key, whether it must be accepted, and its TOML value given the context.
type Field = (&'static str, Must, fn(Ctx) -> BoxedStrategy<String>);

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: Vec<String>) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", quoted.join(", "))
}

fn table(pairs: Vec<(String, String)>) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", quoted(k), quoted(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

fn one_of(values: &[&'static str]) -> BoxedStrategy<String> {
    let values: Vec<&'static str> = values.to_vec();
    proptest::sample::select(values).prop_map(quoted).boxed()
}

fn words() -> BoxedStrategy<Vec<String>> {
    prop::collection::vec("[a-z0-9][a-z0-9=.-]{0,7}", 1..4).boxed()
}

fn pairs() -> BoxedStrategy<String> {
    prop::collection::btree_map("[A-Z][A-Z0-9_]{0,5}", "[a-zA-Z0-9 %$/:.-]{0,10}", 0..3)
        .prop_map(|m| table(m.into_iter().collect()))
        .boxed()
}

fn duration() -> BoxedStrategy<String> {
    one_of(&["5s", "30s", "2m", "1m30s", "1h"])
}

/// A subset (in order, maybe empty) of `0..n`.
fn subset(n: usize) -> BoxedStrategy<Vec<usize>> {
    prop::collection::vec(any::<bool>(), n)
        .prop_map(|keep| (0..keep.len()).filter(|i| keep[*i]).collect())
        .boxed()
}

fn container_fields() -> Vec<Field> {
    vec![
        ("description", Accept, |_| {
            "[A-Za-z0-9][A-Za-z0-9 .-]{0,12}[A-Za-z0-9]"
                .prop_map(|s| quoted(&s))
                .boxed()
        }),
        ("cmd", Accept, |_| words().prop_map(list).boxed()),
        ("entrypoint", Accept, |_| {
            one_of(&["/init", "/bin/sh", "/usr/bin/env"])
        }),
        ("environment", Accept, |_| pairs()),
        ("environment_files", Accept, |c| {
            Just(list(vec![format!("/etc/app/{}.env", c.index)])).boxed()
        }),
        ("ports", Accept, ports),
        ("volumes", Accept, mounts),
        ("networks", Accept, networks),
        ("user", Accept, |_| one_of(&["1000:1000", "nobody", "0"])),
        ("depends_on", Accept, depends_on),
        ("after", Accept, |_| {
            Just(list(vec!["mnt-backup.mount".into()])).boxed()
        }),
        ("requires", Accept, |_| {
            Just(list(vec!["network-online.target".into()])).boxed()
        }),
        ("wants", Accept, |_| {
            Just(list(vec!["time-sync.target".into()])).boxed()
        }),
        ("health", Accept, |_| health()),
        ("restart", Accept, |_| {
            one_of(&["always", "on-failure", "no", "on-abnormal"])
        }),
        ("stop_timeout", Accept, |_| duration()),
        ("start_timeout", Accept, |_| duration()),
        ("labels", Accept, |_| pairs()),
        ("devices", Accept, |_| {
            one_of(&["/dev/fuse", "/dev/net/tun"])
                .prop_map(|d| format!("[{d}]"))
                .boxed()
        }),
        ("pull", Accept, |_| {
            one_of(&["always", "missing", "never", "newer"])
        }),
        ("auto_update", Accept, |_| {
            one_of(&["registry", "local", "none"])
        }),
        ("auto_start", Accept, |_| {
            any::<bool>().prop_map(|b| b.to_string()).boxed()
        }),
        ("podman_args", Accept, |_| {
            Just(list(vec!["--shm-size=1g".into()])).boxed()
        }),
        ("quadlet", Accept, |_| {
            one_of_raw(&[
                "{ Container = { ShmSize = \"2g\", AddHost = [\"a.lan:10.0.0.1\", \"b.lan:10.0.0.2\"] } }",
                "{ Service = { LimitNOFILE = \"65536\" } }",
                "{ Unit = { Documentation = \"https://example.org\" } }",
            ])
        }),
        ("quadlet", Maybe, |_| {
            one_of_raw(&["{ Container = { Group = \"100\" } }"])
        }),
    ]
}

fn network_fields() -> Vec<Field> {
    vec![
        ("subnet", Accept, |c| {
            Just(quoted(&format!("10.{}.{}.0/24", 100 + c.batch, c.index))).boxed()
        }),
        ("gateway", Maybe, |c| {
            Just(quoted(&format!("10.{}.{}.1", 100 + c.batch, c.index))).boxed()
        }),
        ("internal", Accept, |_| {
            any::<bool>().prop_map(|b| b.to_string()).boxed()
        }),
        ("ipv6", Accept, |_| {
            any::<bool>().prop_map(|b| b.to_string()).boxed()
        }),
        ("dns", Accept, |_| {
            Just(list(vec!["9.9.9.9".into()])).boxed()
        }),
        ("driver", Accept, |_| one_of(&["bridge"])),
        ("options", Accept, |_| {
            Just(table(vec![("mtu".into(), "1400".into())])).boxed()
        }),
        ("labels", Accept, |_| pairs()),
        ("interface_name", Accept, |c| {
            Just(quoted(&format!("qgb{}n{}", c.batch, c.index))).boxed()
        }),
        ("quadlet", Maybe, |_| {
            one_of_raw(&[
                "{ Network = { IPRange = \"10.250.0.0/28\" } }",
                "{ Network = { IPAMDriver = \"host-local\" } }",
            ])
        }),
    ]
}

fn volume_fields() -> Vec<Field> {
    vec![
        ("driver", Accept, |_| one_of(&["local"])),
        ("options", Accept, |c| {
            prop_oneof![
                Just(table(vec![
                    ("type".into(), "tmpfs".into()),
                    ("device".into(), "tmpfs".into()),
                    ("o".into(), "size=64m".into())
                ])),
                Just(table(vec![
                    ("type".into(), "none".into()),
                    ("device".into(), format!("/srv/vol{}", c.index)),
                    ("o".into(), "bind".into())
                ])),
            ]
            .boxed()
        }),
        ("options", Maybe, |_| {
            prop_oneof![
                Just(table(vec![("type".into(), "tmpfs".into())])),
                Just(table(vec![("o".into(), "size=1g".into())])),
                Just(table(vec![("device".into(), "tmpfs".into())])),
            ]
            .boxed()
        }),
        ("labels", Accept, |_| pairs()),
        ("quadlet", Maybe, |_| {
            one_of_raw(&[
                "{ Volume = { Type = \"tmpfs\" } }",
                "{ Volume = { Copy = \"false\" } }",
                "{ Volume = { User = \"1000\", Group = \"1000\" } }",
            ])
        }),
    ]
}

/// One of these TOML values, written as they are.
fn one_of_raw(values: &[&'static str]) -> BoxedStrategy<String> {
    proptest::sample::select(values.to_vec())
        .prop_map(str::to_string)
        .boxed()
}

fn ports(c: Ctx) -> BoxedStrategy<String> {
    let base = 20000 + c.batch * 1000 + c.index * 10;
    prop::collection::vec(
        prop_oneof![
            Just("127.0.0.1:{p}:80"),
            Just("{p}:53/udp"),
            Just("{p}:8080")
        ],
        1..3,
    )
    .prop_map(move |forms| {
        list(
            forms
                .iter()
                .enumerate()
                .map(|(i, f)| f.replace("{p}", &(base + i).to_string()))
                .collect(),
        )
    })
    .boxed()
}

fn mounts(c: Ctx) -> BoxedStrategy<String> {
    let volumes = c.volumes;
    prop::collection::vec((0..3usize, 0..volumes.max(1), any::<bool>()), 1..4)
        .prop_map(move |picks| {
            let mounts = picks
                .iter()
                .enumerate()
                .map(|(i, &(form, volume, ro))| {
                    let options = if ro { ":ro" } else { "" };
                    match form {
                        0 if volumes > 0 => format!("{}:/mnt/v{i}{options}", c.name("vol", volume)),
                        1 => format!("/srv/app{}/{i}:/mnt/h{i}{options}", c.index),
                        _ => format!("/mnt/anon{i}"),
                    }
                })
                .collect();
            list(mounts)
        })
        .boxed()
}

fn networks(c: Ctx) -> BoxedStrategy<String> {
    subset(c.networks)
        .prop_map(move |picked| list(picked.iter().map(|&n| c.name("net", n)).collect()))
        .boxed()
}

fn depends_on(c: Ctx) -> BoxedStrategy<String> {
    // Only on earlier containers, so there is never a cycle.
    subset(c.index)
        .prop_map(move |picked| list(picked.iter().map(|&n| c.name("app", n)).collect()))
        .boxed()
}

fn health() -> BoxedStrategy<String> {
    (
        one_of(&["curl -f http://localhost/", "pg_isready", "true"]),
        prop::option::of(duration()),
        prop::option::of(duration()),
        prop::option::of(1..10u32),
        prop::option::of(duration()),
        prop::option::of(one_of(&["none", "kill", "restart", "stop"])),
    )
        .prop_map(|(cmd, interval, timeout, retries, start, on_failure)| {
            let mut items = vec![format!("cmd = {cmd}")];
            let mut add = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    items.push(format!("{k} = {v}"));
                }
            };
            add("interval", interval);
            add("timeout", timeout);
            add("retries", retries.map(|r| r.to_string()));
            add("start_period", start);
            add("on_failure", on_failure);
            format!("{{ {} }}", items.join(", "))
        })
        .boxed()
}

/// A field chosen for an entity: key, must, TOML value.
type Picked = (&'static str, Must, String);

/// Some of `fields`, each at most once, as `key = value` lines, and whether all must be accepted.
fn entity(fields: &[Field], c: Ctx) -> BoxedStrategy<(String, Must)> {
    let picks: Vec<BoxedStrategy<Option<Picked>>> = fields
        .iter()
        .map(|&(key, must, value)| {
            let weight = if must == Accept { 0.4 } else { 0.15 };
            prop::option::weighted(weight, value(c).prop_map(move |v| (key, must, v))).boxed()
        })
        .collect();
    picks
        .prop_map(|picked| {
            let mut seen = Vec::new();
            let mut text = String::new();
            let mut must = Accept;
            for (key, m, value) in picked.into_iter().flatten() {
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                text.push_str(&format!("{key} = {value}\n"));
                if m == Maybe {
                    must = Maybe;
                }
            }
            (text, must)
        })
        .boxed()
}

/// One inventory: its TOML and whether quadgen must accept it.
fn inventory(batch: usize) -> BoxedStrategy<(String, Must)> {
    (0..3usize, 0..3usize, 1..4usize)
        .prop_flat_map(move |(networks, volumes, containers)| {
            let ctx = move |index| Ctx {
                batch,
                index,
                networks,
                volumes,
            };
            let nets: Vec<_> = (0..networks)
                .map(|i| entity(&network_fields(), ctx(i)))
                .collect();
            let vols: Vec<_> = (0..volumes)
                .map(|i| entity(&volume_fields(), ctx(i)))
                .collect();
            let apps: Vec<_> = (0..containers)
                .map(|i| (entity(&container_fields(), ctx(i)), image()))
                .collect();
            (nets, vols, apps).prop_map(move |(nets, vols, apps)| {
                let c = ctx(0);
                let mut text = String::new();
                let mut must = Accept;
                let mut section = |header: String, (body, m): (String, Must)| {
                    text.push_str(&format!("[{header}]\n{body}\n"));
                    if m == Maybe {
                        must = Maybe;
                    }
                };
                for (i, n) in nets.into_iter().enumerate() {
                    section(format!("networks.{}", c.name("net", i)), n);
                }
                for (i, v) in vols.into_iter().enumerate() {
                    section(format!("volumes.{}", c.name("vol", i)), v);
                }
                for (i, ((body, m), image)) in apps.into_iter().enumerate() {
                    let body = format!("image = {}\n{body}", quoted(&image));
                    section(format!("containers.{}", c.name("app", i)), (body, m));
                }
                (text, must)
            })
        })
        .boxed()
}

fn image() -> BoxedStrategy<String> {
    proptest::sample::select(vec![
        "docker.io/library/postgres:16",
        "ghcr.io/example/app:1.2",
        "quay.io/example/tool:latest",
    ])
    .prop_map(str::to_string)
    .boxed()
}

/// Compiles every inventory for `target` into one directory; the names of the containers of the
/// accepted ones.
fn build(
    inventories: &[(String, Must)],
    target: PodmanVersion,
    dir: &Path,
) -> Result<Vec<String>, TestCaseError> {
    let mut containers = Vec::new();
    for (text, must) in inventories {
        match quadgen::compile::compile(Path::new("inv.toml"), text, target) {
            Ok(compiled) => {
                for f in &compiled.files {
                    std::fs::write(dir.join(&f.file_name), &f.text).expect("write unit");
                    if let Some(name) = f.file_name.strip_suffix(".container") {
                        containers.push(name.to_string());
                    }
                }
            }
            Err(rejected) => {
                prop_assert!(
                    *must == Maybe,
                    "a valid inventory was refused:\n{}\n{text}",
                    rejected.render(false)
                );
            }
        }
    }
    Ok(containers)
}

fn converts(dir: &Path, containers: &[String], o: &Oracle) -> Result<(), TestCaseError> {
    let run = o.dryrun(dir);
    prop_assert!(
        run.ok && run.problems().is_empty(),
        "quadlet {} complained:\n{}",
        o.version,
        run.problems().join("\n")
    );
    let units = std::fs::read_dir(dir).expect("read dir").count();
    prop_assert_eq!(run.services.len(), units, "one service per unit");
    for name in containers {
        let argv = podman_argv(run.service(&format!("{name}.service")));
        prop_assert!(
            argv.windows(2).any(|w| w[0] == "--name" && &w[1] == name),
            "{name}: {argv:?}"
        );
    }
    Ok(())
}

fn check(inventories: &[(String, Must)], os: &[Oracle]) -> Result<(), TestCaseError> {
    for (target, suites) in [
        (PodmanVersion::DEFAULT, &["trixie", "sid"][..]),
        (PodmanVersion::NEWEST, &["sid"][..]),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let containers = build(inventories, target, dir.path())?;
        if std::fs::read_dir(dir.path())
            .expect("read dir")
            .next()
            .is_none()
        {
            continue; // every inventory refused: nothing to convert
        }
        for o in os.iter().filter(|o| suites.contains(&o.suite)) {
            converts(dir.path(), &containers, o)?;
        }
    }
    Ok(())
}

fn batch() -> impl Strategy<Value = Vec<(String, Must)>> {
    (0..BATCH).map(inventory).collect::<Vec<_>>()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_inventories_quadgen_accepts_convert_cleanly(inventories in batch()) {
        let os = oracles();
        check(&inventories, &os)?;
    }
}

/// The strategies produce what they claim: valid inventories exist in the batch and are accepted.
#[test]
fn valid_fields_alone_make_an_accepted_inventory() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut accepted = 0;
    for _ in 0..20 {
        let value = inventory(0).new_tree(&mut runner).expect("tree").current();
        if value.1 == Accept {
            quadgen::compile::compile(Path::new("inv.toml"), &value.0, PodmanVersion::DEFAULT)
                .unwrap_or_else(|r| panic!("{}\n{}", r.render(false), value.0));
            accepted += 1;
        }
    }
    assert!(accepted > 0, "the strategies make valid inventories");
}
