//! `quadgen export kubernetes` as a user runs it: the YAML (golden files, reviewed), every
//! document checked by the Kubernetes OpenAPI schemas of a stated release (PyPI's
//! kubernetes-validate, offline, strict), every note both on stderr and in the file, refusals
//! with their place in the inventory, and `-o` never replacing a file it did not write.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;

/// The release the output is validated against (also named in the file's header).
const KUBERNETES: &str = "1.33";

fn quadgen() -> Command {
    let mut c = Command::cargo_bin("quadgen").expect("binary");
    c.env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// The target Podman of every export here: the newest, so every field is available (a pod's
/// `hostname` needs 5.5); the output does not depend on it.
const TARGET: [&str; 2] = ["--podman", "5.8"];

/// (stdout, stderr) of a successful export of `inventory` (relative to the crate).
fn export(inventory: &str, extra: &[&str]) -> (String, String) {
    let out = quadgen()
        .args(["export", "kubernetes", inventory])
        .args(TARGET)
        .args(extra)
        .output()
        .expect("run quadgen");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "export failed:\n{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

const INVENTORIES: [&str; 4] = [
    "examples/homelab.toml",
    "examples/vpn-media.toml",
    "tests/export/rich.toml",
    "tests/export/options.toml",
];

#[path = "support/skip.rs"]
mod skip;

fn validator() -> Option<PathBuf> {
    let bin = skip::cache_dir().join("kubernetes-validate/bin/kubernetes-validate");
    if bin.is_file() {
        return Some(bin);
    }
    skip::skip_or_fail(
        "QUADGEN_SKIP_ORACLE",
        &format!("no kubernetes-validate at `{}`", bin.display()),
        "run `bash tests/provision.sh kubernetes`",
    );
    None
}

/// Runs kubernetes-validate (strict: unknown fields are errors) on `yaml`; (passed, output).
fn validate(bin: &Path, yaml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("export.yaml");
    std::fs::write(&file, yaml).expect("write");
    // In a network namespace of its own when we may make one (root): the check is offline.
    let offline = StdCommand::new("unshare")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = if offline {
        let mut c = StdCommand::new("unshare");
        c.args(["-n", "--"]).arg(bin);
        c
    } else {
        StdCommand::new(bin)
    };
    let out = cmd
        .args(["--strict", "--kubernetes-version", KUBERNETES])
        .arg(&file)
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `kind/name` of every document, lowercased as kubernetes-validate prints it.
fn documents(yaml: &str) -> Vec<String> {
    yaml.split("\n---\n")
        .skip(1)
        .map(|doc| {
            let field = |key: &str| {
                doc.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_string()
            };
            let name = doc
                .lines()
                .skip_while(|l| *l != "metadata:")
                .find_map(|l| l.strip_prefix("  name: "))
                .unwrap_or_default();
            format!("{}/{name}", field("kind: ").to_lowercase())
        })
        .collect()
}

#[test]
fn exports_match_the_reviewed_golden_files() {
    for inventory in INVENTORIES {
        let (yaml, _) = export(inventory, &[]);
        let name = Path::new(inventory)
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("stem");
        insta::assert_snapshot!(format!("kubernetes_{name}"), yaml);
    }
}

#[test]
fn every_document_validates_against_the_kubernetes_schemas() {
    let Some(bin) = validator() else { return };
    for inventory in INVENTORIES {
        for namespace in [None, Some("homelab")] {
            let extra: Vec<&str> = namespace
                .map(|ns| vec!["--namespace", ns])
                .unwrap_or_default();
            let (yaml, _) = export(inventory, &extra);
            let (ok, report) = validate(&bin, &yaml);
            assert!(ok, "{inventory} does not validate:\n{report}");
            let docs = documents(&yaml);
            assert!(docs.len() >= 4, "{inventory}: too few documents: {docs:?}");
            for doc in &docs {
                assert!(
                    report.contains(&format!(
                        "passed for resource {doc} against version {KUBERNETES}"
                    )),
                    "{inventory}: {doc} was not validated:\n{report}"
                );
            }
            if let Some(ns) = namespace {
                let count = yaml.matches(&format!("\n  namespace: {ns}\n")).count();
                assert_eq!(count, docs.len(), "every object is in namespace {ns}");
            }
        }
    }
}

#[test]
fn the_schema_oracle_rejects_what_kubernetes_would() {
    let Some(bin) = validator() else { return };
    let (yaml, _) = export("examples/homelab.toml", &[]);
    // A typo in a field name, and a wrong type: each must fail, or the check above proves nothing.
    for (from, to) in [
        (
            "      terminationGracePeriodSeconds:",
            "      terminationGracePeriod:",
        ),
        ("  replicas: 1\n", "  replicas: one\n"),
        (
            "        - containerPort: 5800\n",
            "        - containerPort: \"5800\"\n",
        ),
    ] {
        assert!(yaml.contains(from), "{from:?} not in the export");
        let broken = yaml.replacen(from, to, 1);
        let (ok, report) = validate(&bin, &broken);
        assert!(
            !ok,
            "kubernetes-validate accepted a broken document ({to:?}):\n{report}"
        );
    }
}

#[test]
fn every_note_is_on_stderr_and_in_the_file() {
    for inventory in INVENTORIES {
        let (yaml, stderr) = export(inventory, &[]);
        let in_file: Vec<&str> = yaml
            .lines()
            .filter_map(|l| l.strip_prefix("# NOTE "))
            .collect();
        let on_stderr: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("note: "))
            .filter(|l| !l.starts_with("create Secret"))
            .collect();
        assert!(!in_file.is_empty());
        assert_eq!(in_file, on_stderr, "{inventory}: file and stderr disagree");
    }
}

#[test]
fn what_kubernetes_cannot_mean_is_never_silent() {
    let (yaml, _) = export("examples/homelab.toml", &[]);
    let notes = |subject: &str| -> String {
        yaml.lines()
            .filter(|l| l.starts_with(&format!("# NOTE {subject}:")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ha = notes("container `homeassistant`");
    assert!(ha.contains("host's network"), "{ha}");
    assert!(ha.contains("`/dev/ttyUSB0`"), "{ha}");
    assert!(
        ha.contains("`/var/lib/homeassistant` and `/run/dbus`"),
        "{ha}"
    );
    assert!(notes("container `app`").contains("starts after `postgres`"));
    assert!(notes("container `kopia`").contains("`mnt-backup.mount`"));
    assert!(notes("container `postgres`").contains("no Service"));
    assert!(notes("network `app`").contains("NetworkPolicy"));

    let (rich, _) = export("tests/export/rich.toml", &[]);
    for expected in [
        "container `cache`: restart `on-failure`",
        "container `worker`: restart `no`",
        "container `worker`: auto-update `local`",
        "container `worker`: raw quadlet keys `ShmSize=512m`",
        "container `worker`: health `on_failure = \"stop\"`",
        "container `cache`: user `redis` is a name",
        "container `isolated`: has no network",
        "container `api`: mount options `z` of `/uploads`",
        "volume `media`: its podman volume options",
        "volume `shared`: mounted by `api` and `worker`",
        "network `lan`: `driver` and `options` not carried",
        "container `edge`: port ranges `40000-40100:40000-40100/udp` are longer than 64 ports",
        "container `cache`: a value holds `$(` or `$$`",
    ] {
        assert!(
            rich.contains(&format!("# NOTE {expected}")),
            "missing note: {expected}"
        );
    }
    // Kubernetes expands `$(…)` in commands, args, env and exec probes: escaped in all four.
    for escaped in [
        "- --greeting=$$(NAME) costs $$$5\n",
        "  value: Hello $$(USER)\n",
        "- test \"$$(redis-cli ping)\" = PONG\n",
    ] {
        assert!(rich.contains(escaped), "not escaped: {escaped}");
    }
    assert!(
        !rich.contains("containerPort: 40000"),
        "a long range is not listed port by port"
    );
}

#[test]
fn secrets_are_referenced_never_inlined() {
    let (yaml, stderr) = export("examples/homelab.toml", &["--namespace", "homelab"]);
    assert!(
        !yaml.contains("kind: Secret"),
        "no Secret object is written"
    );
    assert!(yaml.contains(
        "#   kubectl create secret generic app-db-env -n homelab --from-env-file=/run/secrets/app-db.env"
    ));
    assert!(stderr.contains("create Secret `kopia-env` from `/run/secrets/kopia.env`"));
    // db and app share one file: one Secret, referenced by both.
    assert_eq!(yaml.matches("            name: app-db-env\n").count(), 2);
}

#[test]
fn same_inventory_same_bytes() {
    for inventory in INVENTORIES {
        assert_eq!(export(inventory, &[]).0, export(inventory, &[]).0);
    }
}

#[test]
fn names_kubernetes_cannot_carry_are_refused_with_their_place() {
    let tmp = tempfile::tempdir().expect("tmp");
    let inventory = tmp.path().join("inv.toml");
    std::fs::write(
        &inventory,
        "[volumes.Pg_Data]\n\n[containers.home_assistant]\nimage = \"docker.io/library/busybox:1\"\n",
    )
    .expect("write");
    let out_file = tmp.path().join("out.yaml");
    let out = quadgen()
        .args(["export", "kubernetes"])
        .arg(&inventory)
        .arg("-o")
        .arg(&out_file)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("inv.toml:3:13"), "{stderr}");
    assert!(
        stderr.contains("`home_assistant` cannot name a Kubernetes Service"),
        "{stderr}"
    );
    assert!(stderr.contains("inv.toml:1:10"), "{stderr}");
    assert!(
        stderr.contains("`Pg_Data` cannot name a Kubernetes PersistentVolumeClaim"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!out_file.exists(), "nothing is written on a refusal");

    let bad_ns = quadgen()
        .args([
            "export",
            "kubernetes",
            "examples/homelab.toml",
            "--namespace",
            "Home_Lab",
        ])
        .output()
        .expect("run");
    assert_eq!(bad_ns.status.code(), Some(1));
    assert!(bad_ns.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&bad_ns.stderr)
            .contains("`Home_Lab` is not a Kubernetes namespace name")
    );
}

#[test]
fn out_file_is_written_atomically_and_only_over_our_own() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("homelab.yaml");
    let (stdout, _) = export("examples/homelab.toml", &[]);
    for _ in 0..2 {
        let (printed, stderr) = export(
            "examples/homelab.toml",
            &["-o", file.to_str().expect("utf8")],
        );
        assert!(printed.is_empty(), "with -o nothing goes to stdout");
        assert!(stderr.contains("wrote 11 Kubernetes objects"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), stdout);
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("homelab.yaml")]);

    let foreign = tmp.path().join("mine.yaml");
    std::fs::write(&foreign, "apiVersion: v1\nkind: ConfigMap\n").expect("write");
    let out = quadgen()
        .args(["export", "kubernetes", "examples/homelab.toml", "-o"])
        .arg(&foreign)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("was not written by `quadgen export kubernetes`")
    );
    assert_eq!(
        std::fs::read_to_string(&foreign).expect("read"),
        "apiVersion: v1\nkind: ConfigMap\n"
    );
}

/// The YAML documents, parsed.
fn parsed(yaml: &str) -> Vec<serde_json::Value> {
    yaml.split("\n---\n")
        .skip(1)
        .map(|doc| serde_norway::from_str(doc).expect("yaml document"))
        .collect()
}

/// The pod spec of Deployment `name`.
fn pod_spec<'a>(docs: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Deployment {name}"));
    &deployment["spec"]["template"]["spec"]
}

#[test]
fn container_options_land_in_the_fields_kubernetes_reads() {
    let (yaml, _) = export("tests/export/options.toml", &[]);
    let docs = parsed(&yaml);
    let web = pod_spec(&docs, "web");
    let c = &web["containers"][0];
    let security = &c["securityContext"];
    assert_eq!(
        security["capabilities"]["add"],
        serde_json::json!(["NET_BIND_SERVICE", "CHOWN"])
    );
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["seccompProfile"]["type"], "Unconfined");
    assert_eq!(security["seLinuxOptions"]["type"], "container_t");
    // podman's `1.5g` is 1.5 GiB: 1536 MiB exactly.
    assert_eq!(c["resources"]["limits"]["memory"], "1536Mi");
    assert_eq!(c["resources"]["limits"]["cpu"], "500m");
    assert_eq!(c["workingDir"], "/usr/share/nginx");
    let volume = |spec: &serde_json::Value, path: &str| -> serde_json::Value {
        let mount = spec["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .flat_map(|c| c["volumeMounts"].as_array().cloned().unwrap_or_default())
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("nothing mounted at {path}"));
        let source = spec["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("volume")
            .clone();
        serde_json::json!({ "mount": mount, "volume": source })
    };
    let shm = volume(web, "/dev/shm");
    assert_eq!(
        shm["volume"]["emptyDir"],
        serde_json::json!({"medium": "Memory", "sizeLimit": "256Mi"})
    );
    let cache = volume(web, "/var/cache/nginx");
    assert_eq!(cache["volume"]["emptyDir"]["sizeLimit"], "64Mi");
    for writable in ["/run", "/tmp", "/var/tmp"] {
        assert_eq!(
            volume(web, writable)["volume"]["emptyDir"]["medium"],
            "Memory"
        );
    }
    // A mounted secret: the one key as a file at podman's target; an env secret: secretKeyRef.
    let tls = volume(web, "/run/secrets/tls");
    assert_eq!(tls["mount"]["subPath"], "tls");
    assert_eq!(tls["volume"]["secret"]["secretName"], "tls");
    assert_eq!(tls["volume"]["secret"]["defaultMode"], 0o444);
    assert_eq!(
        c["env"][0],
        serde_json::json!({"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api-token", "key": "api-token"}}})
    );

    let pg = pod_spec(&docs, "pg");
    assert_eq!(pg["hostname"], "database");
    assert_eq!(pg["dnsPolicy"], "None");
    assert_eq!(
        pg["dnsConfig"]["nameservers"],
        serde_json::json!(["10.0.0.53", "10.0.0.54"])
    );
    assert_eq!(
        pg["hostAliases"][0],
        serde_json::json!({"ip": "10.0.0.9", "hostnames": ["backup", "backup.lan"]})
    );
    assert_eq!(
        pg["securityContext"]["supplementalGroups"],
        serde_json::json!([70])
    );
    assert_eq!(
        pg["securityContext"]["sysctls"][1]["name"],
        "net.ipv4.tcp_keepalive_time"
    );
    assert_eq!(
        pg["containers"][0]["env"][0],
        serde_json::json!({"name": "TZ", "value": "Europe/Berlin"})
    );
    let password = volume(pg, "/etc/postgres/password");
    assert_eq!(password["volume"]["secret"]["defaultMode"], 0o400);
    // Only search domains and options: the cluster's DNS stays (no dnsPolicy: ClusterFirst).
    let tool = pod_spec(&docs, "tool");
    assert!(tool.get("dnsPolicy").is_none(), "{tool}");
    assert_eq!(
        tool["dnsConfig"]["searches"],
        serde_json::json!(["corp.example"])
    );
    // A pod member's secret with a relative target lands under /run/secrets, as with podman.
    let shop = pod_spec(&docs, "shop");
    assert_eq!(shop["hostname"], "shop");
    assert_eq!(
        volume(shop, "/run/secrets/certs/tls.pem")["volume"]["secret"]["secretName"],
        "tls"
    );
    assert_eq!(
        shop["volumes"].as_array().expect("volumes").len(),
        2,
        "one volume per Secret"
    );

    assert!(yaml.contains(
        "#   kubectl create secret generic db-password --from-file=db_password=/run/keys/db-password\n"
    ));
}

#[test]
fn options_kubernetes_has_no_place_for_are_noted() {
    let (yaml, _) = export("tests/export/options.toml", &[]);
    for expected in [
        "container `web`: `pids_limit = 200` is not carried",
        "container `web`: tmpfs `/var/cache/nginx` is a memory-backed emptyDir: its options `mode=1777`",
        "container `pg`: ulimits `nofile=65535:65535` are not carried",
        "container `pg`: stop signal `SIGINT` is not carried",
        "container `pg`: `init = true` is not carried",
        "container `pg`: extra host `gw:host-gateway` is not carried",
        "container `pg`: group_add `keep-groups` not carried",
        "container `pg`: sysctls `kernel.shmmax` are unsafe to Kubernetes",
        "container `pg`: its addresses `10.89.20.5` on network `backend` are not carried",
        "container `pg`: its aliases `postgres` and `database` on network `backend`",
        "container `pg`: secret `db_password`: `uid`/`gid` are not carried",
        "container `pg`: `dns` is written as `dnsPolicy: None`",
        "container `tool`: seccomp profile `/etc/containers/seccomp-tool.json` is a file on this host",
        "container `tool`: `timezone = \"local\"` is not carried",
        "container `tool`: `security_label_disable` is not carried",
        "container `tool`: userns `auto` is not carried",
        "container `tool`: cpus `1.2345` is rounded up",
        "container `shop-app`: `hostname` and `sysctls` not carried",
    ] {
        assert!(
            yaml.contains(&format!("# NOTE {expected}")),
            "missing note: {expected}"
        );
    }
    assert!(!yaml.contains("not carried yet"));
}

#[test]
fn the_schema_oracle_checks_the_option_fields_too() {
    let Some(bin) = validator() else { return };
    let (yaml, _) = export("tests/export/options.toml", &[]);
    for (from, to) in [
        (
            "readOnlyRootFilesystem: true",
            "readOnlyRootFileSystem: true",
        ),
        (
            "        supplementalGroups:\n        - 70\n",
            "        supplementalGroups:\n        - staff\n",
        ),
        ("          secretName: tls\n", "          secret: tls\n"),
        ("      dnsPolicy: None\n", "      dnsPolicy: [None]\n"),
    ] {
        assert!(yaml.contains(from), "{from:?} not in the export");
        let (ok, report) = validate(&bin, &yaml.replacen(from, to, 1));
        assert!(!ok, "kubernetes-validate accepted {to:?}:\n{report}");
    }
}

/// `network_mode = "container:gluetun"` keeps its meaning: the client becomes a second container
/// of gluetun's pod (one network namespace, as under podman), not a Deployment with a network of
/// its own whose traffic would bypass the tunnel.
#[test]
fn a_container_on_anothers_network_is_a_second_container_of_its_pod() {
    let (yaml, stderr) = export("examples/vpn-media.toml", &[]);
    assert_eq!(
        documents(&yaml),
        [
            "service/gluetun",
            "deployment/gluetun",
            "service/jellyfin",
            "deployment/jellyfin"
        ]
    );
    let docs: Vec<serde_json::Value> = yaml
        .split("\n---\n")
        .filter(|d| d.contains("kind: Deployment") && d.contains("name: gluetun"))
        .map(|d| serde_norway::from_str(d).expect("YAML"))
        .collect();
    let names: Vec<&str> = docs[0]["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["gluetun", "qbittorrent"]);
    assert!(
        stderr.contains("container `qbittorrent`: shares `gluetun`'s network namespace (`network_mode`): written as a second container of `gluetun`'s pod"),
        "{stderr}"
    );
}
