//! `quadgen import oci-containers` against NixOS's own module. The fixture
//! (tests/fixtures/oci/homelab.json) is what `nix eval --json …oci-containers.containers` prints
//! for the seed guide's homelab (jdownloader, kopia, netbootxyz, with the guide's extraOptions and
//! its NFS dependency), produced by evaluating the real module with nixpkgs' lib.evalModules
//! (tests/nixos/oci-containers-eval.nix; tests/fixtures/oci/README.md). The same evaluation
//! rendered each `podman-NAME.service`'s start script: that is the oci-containers side
//! (homelab.services.json). The importer's inventory is built, both real quadlets convert it with
//! no warning, and the `podman run` argv each unit gives podman (after systemd's rules) must carry
//! the same image, environment, env files, ports, volumes, network, labels, devices, health check
//! and command as the module's own `podman run` line.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::collections::BTreeSet;
use std::path::Path;

use quadgen::compile::version::PodmanVersion;
use serde_json::Value as Json;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oci")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The module's start script (`exec podman \` + one word per line, shell-quoted with
/// escapeShellArg) → podman's argv, as bash would run it.
fn module_argv(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    let words = shlex::split(&joined).expect("the module's script is shell words");
    assert_eq!(words.first().map(String::as_str), Some("exec"), "{script}");
    words[1..].to_vec()
}

/// Values of a flag in any of its spellings (`-e`, `--env`), both `--x v` and `--x=v` forms.
fn values(argv: &[String], names: &[&str]) -> BTreeSet<String> {
    names
        .iter()
        .flat_map(|n| oracle::option_values(argv, n))
        .map(str::to_string)
        .collect()
}

/// The image podman runs: short names as Docker (and NixOS's default registries.conf, docker.io
/// first) resolve them.
fn resolved(image: &str) -> String {
    quadgen::import::map::qualified_image(image)
        .expect("image")
        .unwrap_or_else(|| image.to_string())
}

#[test]
fn the_seed_homelab_runs_the_same_podman_command_under_quadgen() {
    let oracles = oracle::oracles();
    if oracles.is_empty() {
        return;
    }
    let json = fixture("homelab.json");
    let services: Json = serde_json::from_str(&fixture("homelab.services.json")).expect("json");
    let containers_json: Json = serde_json::from_str(&json).expect("json");
    let imported = quadgen::import::oci_containers(Path::new("homelab.json"), &json)
        .unwrap_or_else(|r| panic!("refused:\n{r}"));
    let compiled = quadgen::compile::compile(
        Path::new("imported.toml"),
        &imported.toml,
        PodmanVersion::DEFAULT,
    )
    .unwrap_or_else(|r| panic!("does not build:\n{}\n{}", r.render(false), imported.toml));
    let dir = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
    }
    let mut runs = Vec::new();
    for o in &oracles {
        let run = o.dryrun(dir.path());
        run.assert_clean(o);
        runs.push(run);
    }
    let moved: BTreeSet<String> = imported
        .moved_secrets
        .iter()
        .map(|m| format!("{}.{}", m.container, m.key))
        .collect();
    assert_eq!(
        moved,
        BTreeSet::from(["kopia.KOPIA_PASSWORD".to_string()]),
        "the secret-looking value is moved out"
    );
    assert!(
        !imported.toml.contains("correct horse"),
        "{}",
        imported.toml
    );
    // The network the guide's oneshot created: quadlet creates it with `--ignore`, so an
    // existing one is kept (the output's comment and the README say so).
    for run in &runs {
        let create = run
            .service("media-network.service")
            .last("Service", "ExecStart")
            .expect("ExecStart")
            .to_string();
        assert!(create.contains("network create --ignore"), "{create}");
    }
    let containers = services.as_object().expect("services");
    assert_eq!(containers.len(), 3);
    for run in &runs {
        for (name, svc) in containers {
            let theirs = module_argv(svc["script"].as_str().expect("script"));
            let unit = run.service(&format!("{name}.service"));
            let ours = oracle::podman_argv(unit);
            eprintln!("{name}:\n  oci-containers: {theirs:?}\n  quadgen:        {ours:?}");
            let image = containers_json[name]["image"].as_str().expect("image");
            same_run(name, image, &theirs, &ours, &moved);
            same_order(name, svc, unit);
        }
    }
}

/// The flags that decide what runs: equal on both sides.
fn same_run(name: &str, image: &str, theirs: &[String], ours: &[String], moved: &BTreeSet<String>) {
    let image_pos = theirs
        .iter()
        .rposition(|w| w == image)
        .expect("the module's image");
    let ours_image = resolved(image);
    assert!(
        ours.contains(&ours_image),
        "{name}: image {ours_image} not in {ours:?}"
    );
    assert_eq!(
        oracle::args_after_image(ours, &ours_image),
        &theirs[image_pos + 1..],
        "{name}: cmd"
    );
    let env_theirs: BTreeSet<String> = values(theirs, &["-e", "--env"])
        .into_iter()
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or_default();
            !moved.contains(&format!("{name}.{k}"))
        })
        .collect();
    assert_eq!(
        env_theirs,
        values(ours, &["-e", "--env"]),
        "{name}: environment"
    );
    let mut files_theirs = values(theirs, &["--env-file"]);
    if moved.iter().any(|m| m.starts_with(&format!("{name}."))) {
        files_theirs.insert(format!("/etc/quadgen/env/{name}.env"));
    }
    assert_eq!(
        files_theirs,
        values(ours, &["--env-file"]),
        "{name}: env files"
    );
    for (what, names) in [
        ("ports", &["-p", "--publish"][..]),
        ("volumes", &["-v", "--volume"]),
        ("network", &["--network", "--net"]),
        ("labels", &["-l", "--label"]),
        ("devices", &["--device"]),
        ("user", &["-u", "--user"]),
        ("hostname", &["-h", "--hostname"]),
        ("shm size", &["--shm-size"]),
        ("health cmd", &["--health-cmd"]),
        ("health interval", &["--health-interval"]),
        ("health timeout", &["--health-timeout"]),
        ("health retries", &["--health-retries"]),
        ("health start period", &["--health-start-period"]),
    ] {
        assert_eq!(values(theirs, names), values(ours, names), "{name}: {what}");
    }
    // Podman reads `SYS_ADMIN` and quadlet's `cap_sys_admin` as the same capability.
    for flag in ["--cap-add", "--cap-drop"] {
        assert_eq!(
            capabilities(theirs, flag),
            capabilities(ours, flag),
            "{name}: {flag}"
        );
    }
    assert_eq!(
        values(ours, &["--name"]),
        BTreeSet::from([name.to_string()]),
        "{name}: container name"
    );
}

/// A flag's capabilities in podman's own form (`CAP_SYS_ADMIN`).
fn capabilities(argv: &[String], flag: &str) -> BTreeSet<String> {
    values(argv, &[flag])
        .iter()
        .flat_map(|v| v.split(','))
        .map(|c| {
            let upper = c.to_ascii_uppercase();
            if upper.starts_with("CAP_") || upper == "ALL" {
                upper
            } else {
                format!("CAP_{upper}")
            }
        })
        .collect()
}

/// `dependsOn` → Requires=/After= on the dependency's service (renamed without `podman-`).
fn same_order(name: &str, svc: &Json, unit: &quadgen::unit::parse::ParsedUnit) {
    let list = |k: &str| -> BTreeSet<String> {
        svc[k]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Json::as_str)
            .filter_map(|u| u.strip_prefix("podman-"))
            .map(str::to_string)
            .collect()
    };
    let words = |k: &str| -> BTreeSet<String> {
        unit.all("Unit", k)
            .iter()
            .flat_map(|v| v.split_whitespace())
            .map(str::to_string)
            .collect()
    };
    for dep in list("requires") {
        assert!(words("Requires").contains(&dep), "{name}: Requires {dep}");
        assert!(words("After").contains(&dep), "{name}: After {dep}");
    }
}

/// A VPN setup as oci-containers users write it: a gluetun-like container with the flags the
/// inventory now has fields for (capabilities, sysctls, security options, limits, DNS, …, an
/// alias and a MAC on its one network), a client sharing its network (`--network=container:vpn`)
/// and one on the host's network. The module passes `extraOptions` to `podman run` verbatim
/// (after the flags it derives: `--hostname=`, `-w`, `--privileged`, `--cap-add=`), so those
/// words are the oci-containers side.
const VPN: &str = r#"{
  "vpn": {
    "image": "docker.io/qmcgaw/gluetun:v3",
    "hostname": "vpn",
    "workdir": "/gluetun",
    "capabilities": { "NET_ADMIN": true },
    "networks": ["media"],
    "devices": ["/dev/net/tun"],
    "extraOptions": [
      "--cap-add=SYS_TIME,net_raw", "--cap-drop", "MKNOD",
      "--sysctl", "net.ipv4.conf.all.src_valid_mark=1,net.ipv6.conf.all.disable_ipv6=0",
      "--security-opt", "no-new-privileges", "--security-opt=label=disable",
      "--security-opt=seccomp=unconfined",
      "--read-only", "--tmpfs", "/run:size=64m,mode=1777", "--shm-size=256m",
      "--ulimit", "nofile=65535:65535", "--dns=9.9.9.9", "--dns-search=home.lan",
      "--dns-option=ndots:2", "--add-host=nas.lan:10.0.0.2", "--group-add=video", "--init",
      "--stop-signal=SIGINT", "--tz=Europe/Berlin", "--log-driver=k8s-file",
      "--log-opt=max-size=10m", "-m", "512m", "--cpus=1.5", "--pids-limit=200",
      "--network-alias=gw", "--mac-address=92:d0:c6:0a:29:33"
    ]
  },
  "torrent": {
    "image": "docker.io/linuxserver/qbittorrent:latest",
    "dependsOn": ["vpn"],
    "extraOptions": ["--network=container:vpn", "--userns=auto"]
  },
  "edge": {
    "image": "docker.io/library/caddy:2",
    "privileged": true,
    "extraOptions": ["--network=host", "--log-opt", "tag=edge"]
  }
}"#;

/// The values podman reads for a flag (any of `names`), a string slice split at its commas.
fn reads(argv: &[String], names: &[&str], slice: bool) -> BTreeSet<String> {
    values(argv, names)
        .into_iter()
        .flat_map(|v| {
            if slice {
                v.split(',').map(str::to_string).collect()
            } else {
                vec![v]
            }
        })
        .collect()
}

#[test]
fn flags_with_fields_reach_podman_through_quadlet_keys_on_both_quadlets() {
    let oracles = oracle::oracles();
    if oracles.is_empty() {
        return;
    }
    let imported = quadgen::import::oci_containers(Path::new("vpn.json"), VPN)
        .unwrap_or_else(|r| panic!("refused:\n{r}"));
    let notes: Vec<String> = imported
        .warnings
        .iter()
        .filter(|w| w.key != "systemd.services")
        .map(ToString::to_string)
        .collect();
    assert!(notes.is_empty(), "{notes:#?}\n{}", imported.toml);
    assert!(
        !imported.toml.contains("podman_args"),
        "every flag has its field:\n{}",
        imported.toml
    );
    let json: Json = serde_json::from_str(VPN).expect("json");
    for (target, suites) in [
        (PodmanVersion::DEFAULT, &["trixie", "sid"][..]),
        (PodmanVersion::new(5, 8), &["sid"]),
    ] {
        let compiled =
            quadgen::compile::compile(Path::new("imported.toml"), &imported.toml, target)
                .unwrap_or_else(|r| {
                    panic!("does not build:\n{}\n{}", r.render(false), imported.toml)
                });
        let covered: Vec<&str> = compiled
            .warnings
            .iter()
            .map(|w| w.message.as_str())
            .filter(|m| m.contains("podman argument"))
            .collect();
        assert!(covered.is_empty(), "{covered:?}");
        let dir = tempfile::tempdir().expect("tempdir");
        for f in &compiled.files {
            std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
        }
        for o in oracles.iter().filter(|o| suites.contains(&o.suite)) {
            let run = o.dryrun(dir.path());
            run.assert_clean(o);
            let v = format!("{} for {target:?}", o.version);
            let theirs: Vec<String> = json["vpn"]["extraOptions"]
                .as_array()
                .expect("extraOptions")
                .iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .chain(
                    [
                        "--hostname=vpn",
                        "-w",
                        "/gluetun",
                        "--cap-add=NET_ADMIN",
                        "--device=/dev/net/tun",
                    ]
                    .map(String::from),
                )
                .collect();
            let ours = oracle::podman_argv(run.service("vpn.service"));
            eprintln!("{v}: vpn: {ours:?}");
            same_flags(&v, &theirs, &ours);
            let torrent = oracle::podman_argv(run.service("torrent.service"));
            assert_eq!(
                values(&torrent, &["--network"]),
                BTreeSet::from(["container:vpn".to_string()]),
                "{v}: {torrent:?}"
            );
            assert_eq!(
                values(&torrent, &["--userns"]),
                BTreeSet::from(["auto".to_string()])
            );
            let edge = oracle::podman_argv(run.service("edge.service"));
            assert_eq!(
                values(&edge, &["--network"]),
                BTreeSet::from(["host".to_string()]),
                "{v}: {edge:?}"
            );
            assert!(edge.contains(&"--privileged".to_string()), "{v}: {edge:?}");
            assert_eq!(
                values(&edge, &["--log-opt"]),
                BTreeSet::from(["tag=edge".to_string()])
            );
        }
    }
}

/// The vpn container's flags, as podman reads them on both sides.
fn same_flags(v: &str, theirs: &[String], ours: &[String]) {
    for flag in ["--cap-add", "--cap-drop"] {
        assert_eq!(
            capabilities(theirs, flag),
            capabilities(ours, flag),
            "{v}: {flag}"
        );
    }
    for (names, slice) in [
        (&["--sysctl"][..], true),
        (&["--security-opt"], false),
        (&["--tmpfs"], false),
        (&["--shm-size"], false),
        (&["--ulimit"], true),
        (&["--dns"], true),
        (&["--dns-search"], true),
        (&["--dns-option"], true),
        (&["--add-host"], true),
        (&["--group-add"], true),
        (&["--stop-signal"], false),
        (&["--tz"], false),
        (&["--log-driver"], false),
        (&["--log-opt"], true),
        (&["-m", "--memory"], false),
        (&["--cpus"], false),
        (&["--pids-limit"], false),
        (&["-h", "--hostname"], false),
        (&["-w", "--workdir"], false),
        (&["--device"], false),
    ] {
        let want = reads(theirs, names, slice);
        assert!(!want.is_empty(), "{names:?}: the case sets it");
        assert_eq!(want, reads(ours, names, slice), "{v}: {names:?}: {ours:?}");
    }
    for switch in ["--read-only", "--init"] {
        assert!(ours.iter().any(|w| w == switch), "{v}: {switch}: {ours:?}");
    }
    // `--network=media --network-alias=gw --mac-address=…` is one network with its options.
    let network = values(ours, &["--network"]);
    let network: Vec<&String> = network.iter().collect();
    assert_eq!(network.len(), 1, "{v}: {network:?}");
    let (name, opts) = network[0].split_once(':').expect("network options");
    assert_eq!(name, "media", "{v}");
    let mut opts: Vec<&str> = opts.split(',').collect();
    opts.sort_unstable();
    assert_eq!(opts, ["alias=gw", "mac=92:d0:c6:0a:29:33"], "{v}");
}
