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
        ("capabilities", &["--cap-add", "--cap-drop"]),
        ("shm size", &["--shm-size"]),
        ("health cmd", &["--health-cmd"]),
        ("health interval", &["--health-interval"]),
        ("health timeout", &["--health-timeout"]),
        ("health retries", &["--health-retries"]),
        ("health start period", &["--health-start-period"]),
    ] {
        assert_eq!(values(theirs, names), values(ours, names), "{name}: {what}");
    }
    assert_eq!(
        values(ours, &["--name"]),
        BTreeSet::from([name.to_string()]),
        "{name}: container name"
    );
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
