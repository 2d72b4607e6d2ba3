//! `quadgen import compose` as a user runs it: what is written where, exit codes, located
//! refusals, and the output `quadgen check` accepts.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use assert_cmd::Command;

fn quadgen() -> Command {
    let mut c = Command::cargo_bin("quadgen").expect("binary");
    c.env("NO_COLOR", "1")
        .env_remove("COMPOSE_PROFILES")
        .env_remove("COMPOSE_PROJECT_NAME");
    c
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Writes `yaml` as `compose.yaml` (and `files`, as name and text) into a new directory and runs
/// `quadgen import compose -o inventory.toml` there: the directory, the output path, the run.
fn import_in_tmp(
    yaml: &str,
    files: &[(&str, &str)],
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    assert_cmd::assert::Assert,
) {
    let tmp = tempfile::tempdir().expect("tmp");
    for (name, text) in files {
        std::fs::write(tmp.path().join(name), text).expect("write");
    }
    std::fs::write(tmp.path().join("compose.yaml"), yaml).expect("write");
    let out = tmp.path().join("inventory.toml");
    let a = quadgen()
        .current_dir(tmp.path())
        .args(["import", "compose", "-o"])
        .arg(&out)
        .assert();
    (tmp, out, a)
}

fn fixture() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/compose/stack"
    ))
}

#[test]
fn writes_an_inventory_that_checks_and_never_overwrites_without_force() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("inventory.toml");
    let a = quadgen()
        .current_dir(fixture())
        .args(["import", "compose", "-o"])
        .arg(&out)
        .assert()
        .success();
    let err = stderr(&a);
    assert!(
        err.contains("compose.yaml:11:26: warning: service `db`: `environment.POSTGRES_PASSWORD`"),
        "{err}"
    );
    assert!(err.contains("wrote `"), "{err}");
    let text = std::fs::read_to_string(&out).expect("written");
    assert!(
        !text.contains("hunter2"),
        "a secret from .env reached the inventory:\n{text}"
    );
    quadgen().arg("check").arg(&out).assert().success();

    // `-f` names the files as Compose's does, in order: the override's command wins.
    let a = quadgen()
        .current_dir(fixture())
        .args([
            "import",
            "compose",
            "-f",
            "compose.yaml",
            "-f",
            "override.yaml",
        ])
        .assert()
        .success();
    let merged: toml::Table =
        toml::from_str(&String::from_utf8_lossy(&a.get_output().stdout)).expect("TOML");
    assert_eq!(
        merged["containers"]["app"]["cmd"].as_array().map(Vec::len),
        Some(4),
        "{merged:?}"
    );
    assert_eq!(
        merged["containers"]["app"]["environment"]["EXTRA"].as_str(),
        Some("from the override")
    );

    // A second import does not replace the file, unless told to.
    std::fs::write(&out, "# my edits\n").expect("edit");
    let a = quadgen()
        .current_dir(fixture())
        .args(["import", "compose", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    assert!(
        stderr(&a).contains("exists; pass --force"),
        "{}",
        stderr(&a)
    );
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "# my edits\n");
    quadgen()
        .current_dir(fixture())
        .args(["import", "compose", "--force", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&out).expect("replaced"), text);
}

#[test]
fn refusals_are_located_and_write_nothing() {
    let (tmp, out, a) = import_in_tmp(
        "services:\n  web:\n    build: ./src\n  db:\n    image: postgres:${PG:?set PG in .env}\n",
        &[],
    );
    let a = a.code(1);
    let err = stderr(&a);
    assert!(
        err.contains(
            "compose.yaml:5:12: error: required variable PG is missing a value: set PG in .env"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!out.exists());

    std::fs::write(tmp.path().join(".env"), "PG=16\n").expect("env");
    let a = quadgen()
        .current_dir(tmp.path())
        .args(["import", "compose", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(
        err.contains("compose.yaml:3:12: error: service `web` is built from source (`build:`) and names no `image`"),
        "{err}"
    );
    assert!(err.contains("help: quadgen runs published images"), "{err}");
    assert!(!out.exists());
}

#[test]
fn reads_composes_normalized_json_on_standard_input() {
    // What `docker compose config --format json` prints (`$` doubled, long syntax, absolute paths).
    let json = r#"{"name":"demo","networks":{"default":{"name":"demo_default","ipam":{}}},
      "services":{"web":{"command":["echo","$$HOME"],"entrypoint":null,
        "environment":{"API_TOKEN":"abc","MODE":"prod"},"image":"nginx",
        "networks":{"default":null},
        "ports":[{"mode":"ingress","target":80,"published":"8080","protocol":"tcp"}],
        "restart":"unless-stopped"}}}"#;
    let a = quadgen()
        .args(["import", "compose", "-"])
        .write_stdin(json)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let inv: toml::Table = toml::from_str(&out).expect("TOML");
    let web = &inv["containers"]["web"];
    assert_eq!(
        web["image"].as_str(),
        Some("docker.io/library/nginx:latest")
    );
    assert_eq!(web["cmd"][1].as_str(), Some("$HOME"), "{out}");
    assert_eq!(web["ports"][0].as_str(), Some("8080:80"));
    assert_eq!(web["networks"][0].as_str(), Some("demo_default"));
    assert_eq!(web["restart"].as_str(), Some("always"));
    // Compose's JSON does not say where a value came from: secret-looking ones stay out.
    assert!(!out.contains("abc"), "{out}");
    assert_eq!(web["environment"]["MODE"].as_str(), Some("prod"));
    assert!(
        stderr(&a).contains("`environment.API_TOKEN`"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn a_secret_from_env_outside_environment_is_refused_at_its_place() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join(".env"), "DB_PASSWORD=hunter2\n").expect("env");
    std::fs::write(
        tmp.path().join("compose.yaml"),
        "services:\n  app:\n    image: docker.io/library/busybox:1\n    command: [\"--password\", \"${DB_PASSWORD}\"]\n",
    )
    .expect("write");
    let a = quadgen()
        .current_dir(tmp.path())
        .args(["import", "compose"])
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(
        err.contains("compose.yaml:4:29: error: service `app`: `command` would write the secret-looking `DB_PASSWORD` from .env into the inventory"),
        "{err}"
    );
    assert!(a.get_output().stdout.is_empty(), "nothing on stdout");
    // The same as one string: the words keep where their text came from.
    std::fs::write(
        tmp.path().join("compose.yaml"),
        "services:\n  app:\n    image: docker.io/library/busybox:1\n    command: run --password=${DB_PASSWORD}\n",
    )
    .expect("write");
    let a = quadgen()
        .current_dir(tmp.path())
        .args(["import", "compose"])
        .assert()
        .code(1);
    assert!(
        stderr(&a).contains("compose.yaml:4:14: error: service `app`: `command` would write"),
        "{}",
        stderr(&a)
    );
}

/// Imports a corpus stack with the CLI (`-o`), builds it with the CLI, and returns each
/// container's `podman run` argv from the real quadlet of every target.
fn imported_argv(stack: &str, service: &str) -> Vec<(String, Vec<String>, String)> {
    let file = corpus::compose()
        .join("awesome-compose")
        .join(stack)
        .join("compose.yaml");
    let tmp = tempfile::tempdir().expect("tmp");
    let inventory = tmp.path().join("inventory.toml");
    let a = quadgen()
        .args(["import", "compose", "-f"])
        .arg(&file)
        .arg("-o")
        .arg(&inventory)
        .assert()
        .success();
    let units = tmp.path().join("units");
    quadgen()
        .arg("build")
        .arg(&inventory)
        .arg("-o")
        .arg(&units)
        .assert()
        .success();
    let text = std::fs::read_to_string(&inventory).expect("written");
    oracle::oracles()
        .into_iter()
        .map(|o| {
            let run = o.dryrun(&units);
            run.assert_clean(&o);
            let argv = oracle::podman_argv(run.service(&format!("{service}.service")));
            (o.version.clone(), argv, format!("{}\n{text}", stderr(&a)))
        })
        .collect()
}

/// Real compose files that use keys the inventory has fields for: they become those fields, and
/// podman gets what Compose gives Docker, with no escape-hatch `podman_args` left.
#[test]
fn corpus_keys_with_inventory_fields_reach_podman_through_those_fields() {
    // wireguard: cap_add, and sysctls in the list form
    for (v, argv, text) in imported_argv("wireguard", "wireguard") {
        assert!(!text.contains("podman_args"), "{text}");
        assert!(
            text.contains("cap_add = [\"NET_ADMIN\", \"SYS_MODULE\"]"),
            "{text}"
        );
        assert_eq!(
            oracle::option_values(&argv, "--cap-add"),
            ["cap_net_admin", "cap_sys_module"],
            "{v}: {argv:?}"
        );
        assert_eq!(
            oracle::option_values(&argv, "--sysctl"),
            ["net.ipv4.conf.all.src_valid_mark=1"],
            "{v}: {argv:?}"
        );
    }
    // pihole: a static address on a network with a subnet (and the other service's cap_add)
    for (v, argv, text) in imported_argv("pihole-cloudflared-DoH", "cloudflared") {
        assert!(!text.contains("podman_args"), "{text}");
        assert_eq!(
            oracle::option_values(&argv, "--network"),
            ["pihole-cloudflared-doh_dns-net:ip=172.20.0.2"],
            "{v}: {argv:?}"
        );
    }
}

/// A value the inventory refuses stays a podman argument, and the user is told why at the line.
#[test]
fn a_value_the_inventory_refuses_stays_a_podman_argument_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("compose.yaml"),
        "services:\n  app:\n    image: docker.io/library/busybox:1\n    logging:\n      driver: json-file\n    cap_add: [NET_ADMIN]\n",
    )
    .expect("write");
    let a = quadgen()
        .current_dir(tmp.path())
        .args(["import", "compose"])
        .assert()
        .success();
    let err = stderr(&a);
    assert!(
        err.contains("compose.yaml:5:15: warning: service `app`: `logging.driver`: `--log-driver=json-file` stays a podman argument: the inventory's `log_driver` refuses it: `json-file` is not a podman log driver"),
        "{err}"
    );
    let inv: toml::Table =
        toml::from_str(&String::from_utf8_lossy(&a.get_output().stdout)).expect("TOML");
    let app = &inv["containers"]["app"];
    assert_eq!(
        app["podman_args"][0].as_str(),
        Some("--log-driver=json-file")
    );
    assert_eq!(app["cap_add"][0].as_str(), Some("NET_ADMIN"));
}

/// `network_mode: service:X` shares X's network: `network_mode = "container:X"`, and the
/// service's own `ports` (which Docker refuses there too) are a warning, so the import builds.
#[test]
fn a_service_on_another_services_network_builds_without_its_ports() {
    let (_tmp, out, a) = import_in_tmp(
        "services:\n  vpn:\n    image: docker.io/library/busybox:1\n  app:\n    image: docker.io/library/busybox:1\n    network_mode: service:vpn\n    ports: [\"8080:80\"]\n",
        &[],
    );
    let a = a.success();
    assert!(
        stderr(&a).contains("compose.yaml:7:12: warning: service `app`: `ports`: not carried: the container shares another's network (`container:vpn`)"),
        "{}",
        stderr(&a)
    );
    let inv: toml::Table =
        toml::from_str(&std::fs::read_to_string(&out).expect("written")).expect("TOML");
    assert_eq!(
        inv["containers"]["app"]["network_mode"].as_str(),
        Some("container:vpn")
    );
    quadgen().arg("check").arg(&out).assert().success();
}

/// Compose lets an option repeat (`security_opt`, a list of `sysctls`); the inventory has one key
/// each. The later one wins, as in Docker, and the import builds.
#[test]
fn repeated_options_become_one_key_the_later_one_winning() {
    let (_tmp, out, a) = import_in_tmp(
        "services:\n  app:\n    image: docker.io/library/busybox:1\n    security_opt: [\"no-new-privileges\", \"no-new-privileges:true\", \"label=type:a_t\", \"label=type:b_t\"]\n    sysctls: [\"net.core.somaxconn=1024\", \"net.core.somaxconn=4096\"]\n  off:\n    image: docker.io/library/busybox:1\n    security_opt: [\"no-new-privileges\", \"no-new-privileges=false\"]\n",
        &[],
    );
    a.success();
    let text = std::fs::read_to_string(&out).expect("written");
    let inv: toml::Table = toml::from_str(&text).expect("one key each");
    let app = &inv["containers"]["app"];
    assert_eq!(app["no_new_privileges"].as_bool(), Some(true), "{text}");
    assert_eq!(app["security_label_type"].as_str(), Some("b_t"), "{text}");
    assert_eq!(app["sysctls"]["net.core.somaxconn"].as_str(), Some("4096"));
    assert!(
        inv["containers"]["off"].get("no_new_privileges").is_none(),
        "{text}"
    );
    quadgen().arg("check").arg(&out).assert().success();
}

/// A secret listed twice, or two secrets at one target, would be two mounts at one path: the
/// first is carried, the others are not (with a warning), and the import builds.
#[test]
fn secrets_that_collide_are_imported_so_that_the_inventory_builds() {
    let (_tmp, out, a) = import_in_tmp(
        "services:\n  app:\n    image: docker.io/library/busybox:1\n    secrets: [a, a, {source: b, target: a}]\nsecrets:\n  a: {file: ./a.txt}\n  b: {file: ./b.txt}\n",
        &[("a.txt", "a"), ("b.txt", "b")],
    );
    let a = a.success();
    let text = std::fs::read_to_string(&out).expect("written");
    let inv: toml::Table = toml::from_str(&text).expect("TOML");
    let secrets = inv["containers"]["app"]["secrets"]
        .as_array()
        .expect("secrets");
    assert_eq!(secrets.len(), 1, "{text}");
    let err = stderr(&a);
    assert_eq!(
        err.matches("not carried: another of its secrets is already at `/run/secrets/a`")
            .count(),
        2,
        "{err}"
    );
    assert!(inv["containers"]["app"].get("volumes").is_none(), "{text}");
    quadgen().arg("check").arg(&out).assert().success();
}

#[test]
fn a_bind_mount_source_missing_on_this_host_is_a_warning() {
    // Compose creates a missing bind-mount source as a directory; podman refuses to start.
    let yaml = "services:\n  web:\n    image: docker.io/library/nginx:1.27\n    volumes:\n      - ./data:/data\n      - ./nginx.conf:/etc/nginx/nginx.conf:ro\n";
    let (tmp, out, a) = import_in_tmp(yaml, &[("nginx.conf", "events {}\n")]);
    let err = stderr(&a.success());
    let data = tmp.path().join("data");
    let want = format!(
        "warning: container `web` bind-mounts `{}`, which does not exist on this host",
        data.display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(!err.contains("nginx.conf`, which does not exist"), "{err}");
    assert!(err.contains("(1 warning;"), "{err}");
    std::fs::create_dir(&data).expect("data");
    let a = quadgen()
        .current_dir(tmp.path())
        .args(["import", "compose", "--force", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert!(!stderr(&a).contains("does not exist"), "{}", stderr(&a));
}
