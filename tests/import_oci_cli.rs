//! `quadgen import oci-containers` as a user runs it: standard input, `-o`, the refusal of
//! images loaded from the Nix store, located JSON errors, and the warning for every option not
//! carried (with its comment in the output, which `quadgen check` accepts).

use assert_cmd::Command;

fn quadgen() -> Command {
    let mut c = Command::cargo_bin("quadgen").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn homelab() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/oci/homelab.json"
    ))
    .expect("fixture")
}

#[test]
fn reads_standard_input_and_writes_an_inventory_that_checks() {
    let a = quadgen()
        .args(["import", "oci-containers", "-"])
        .write_stdin(homelab())
        .assert()
        .success();
    let out = stdout(&a);
    let err = stderr(&a);
    assert!(out.contains("[containers.jdownloader]"), "{out}");
    assert!(
        out.contains("# was podman-kopia.service; now kopia.service"),
        "{out}"
    );
    assert!(
        !out.contains("correct horse"),
        "a secret reached the inventory:\n{out}"
    );
    assert!(
        err.contains("<stdin>:1:1203: warning: service `kopia`: `environment.KOPIA_PASSWORD`: its value looks secret"),
        "{err}"
    );
    // The guide's `--shm-size`, `hostname` and `--cap-add` land in their fields: nothing is
    // left for `podman_args` (3 words before those fields existed).
    let t: toml::Table = toml::from_str(&out).expect("TOML");
    assert_eq!(
        t["containers"]["jdownloader"]["shm_size"].as_str(),
        Some("1g")
    );
    assert_eq!(t["containers"]["kopia"]["hostname"].as_str(), Some("kopia"));
    assert_eq!(
        t["containers"]["kopia"]["cap_add"][0].as_str(),
        Some("SYS_ADMIN")
    );
    assert!(!out.contains("podman_args"), "{out}");
    assert!(!err.contains("podman_args"), "{err}");
    assert!(
        err.contains("`systemd.services`: not in this JSON: your `systemd.services.{podman-jdownloader,podman-kopia,podman-netbootxyz}` settings"),
        "{err}"
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("inventory.toml");
    std::fs::write(&file, &out).expect("write");
    quadgen().arg("check").arg(&file).assert().success();
}

#[test]
fn writes_with_o_and_never_overwrites_without_force() {
    let tmp = tempfile::tempdir().expect("tmp");
    let json = tmp.path().join("containers.json");
    std::fs::write(&json, homelab()).expect("write");
    let out = tmp.path().join("inventory.toml");
    let a = quadgen()
        .args(["import", "oci-containers"])
        .arg(&json)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert!(stdout(&a).is_empty());
    assert!(stderr(&a).contains("wrote `"), "{}", stderr(&a));
    let first = std::fs::read_to_string(&out).expect("written");
    assert!(first.contains("[networks.media]"), "{first}");
    std::fs::write(&out, "# mine\n").expect("write");
    let a = quadgen()
        .args(["import", "oci-containers"])
        .arg(&json)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure();
    assert!(stderr(&a).contains("pass --force"), "{}", stderr(&a));
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "# mine\n");
    quadgen()
        .args(["import", "oci-containers", "--force"])
        .arg(&json)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&out).expect("replaced"), first);
}

#[test]
fn an_image_from_the_nix_store_is_refused_with_a_hint_and_nothing_is_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("inventory.toml");
    let json = r#"{
  "app": {
    "image": "app:latest",
    "imageFile": "/nix/store/0000-docker-image-app.tar.gz",
    "imageStream": null
  }
}"#;
    let a = quadgen()
        .args(["import", "oci-containers", "-", "-o"])
        .arg(&out)
        .write_stdin(json)
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(
        err.contains(
            "<stdin>:4:18: error: container `app` loads its image from the Nix store (`imageFile`)"
        ),
        "{err}"
    );
    assert!(err.contains("help: push the image to a registry"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!out.exists());
}

#[test]
fn malformed_json_is_located() {
    let a = quadgen()
        .args(["import", "oci-containers", "-"])
        .write_stdin("{\n  \"web\": {\n    \"image\": \"nginx\",,\n  }\n}\n")
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(err.contains("<stdin>:3:22: error: not valid JSON"), "{err}");
    assert!(
        err.contains("help: give the output of `nix eval --json"),
        "{err}"
    );
    let a = quadgen()
        .args(["import", "oci-containers", "-"])
        .write_stdin(r#"{"image": "nginx", "ports": []}"#)
        .assert()
        .code(1);
    assert!(
        stderr(&a).contains("this is one container's options"),
        "{}",
        stderr(&a)
    );
}

/// Every option not carried: a warning naming the container, the option and why, and a
/// `# not carried:` (or a note) comment in that container's table; the result still builds.
#[test]
fn every_option_not_carried_is_a_warning_and_a_comment() {
    let json = r#"{
  "vpn": {
    "image": "ghcr.io/example/vpn:1",
    "autoStart": false,
    "login": { "registry": "ghcr.io", "username": "me", "passwordFile": "/run/secrets/ghcr" },
    "podman": { "sdnotify": "healthy", "user": "media" },
    "preRunExtraOptions": ["--log-level=debug"],
    "autoRemoveOnStop": false,
    "capabilities": { "NET_ADMIN": true, "MKNOD": false, "SYS_TIME": null },
    "extraOptions": [
      "--annotation", "a=b",
      "--network=host",
      "--sysctl", "net.ipv4.ip_forward=1",
      "--restart=always",
      "-e", "MODE=wg",
      "--label", "io.containers.autoupdate=local"
    ],
    "somethingNew": 1
  }
}"#;
    let a = quadgen()
        .args(["import", "oci-containers", "-"])
        .write_stdin(json)
        .assert()
        .success();
    let err = stderr(&a);
    let out = stdout(&a);
    for (key, why) in [
        (
            "login",
            "not carried: quadgen does not log in to registries",
        ),
        (
            "podman.sdnotify",
            "not carried: `healthy` without --health-cmd",
        ),
        ("podman.user", "not carried: quadgen's units are rootful"),
        ("preRunExtraOptions", "GlobalArgs="),
        (
            "autoRemoveOnStop",
            "not carried: quadlet always runs the container with --rm",
        ),
        (
            "extraOptions: --annotation a=b",
            "no inventory field: kept in podman_args",
        ),
        (
            "extraOptions: --network=host",
            "podman refuses the sysctl `net.ipv4.ip_forward` with the host's network",
        ),
        (
            "extraOptions: --restart=always",
            "dropped: systemd restarts the unit",
        ),
        (
            "somethingNew",
            "not carried: an option this importer does not know",
        ),
    ] {
        let line = format!("warning: service `vpn`: `{key}`: ");
        let hit = err.lines().find(|l| l.contains(&line));
        assert!(
            hit.is_some_and(|l| l.contains(why)),
            "no warning `{key}` … `{why}`:\n{err}"
        );
        assert!(
            out.contains(&format!(
                "# {}",
                if why.starts_with("not carried") {
                    format!("not carried: {key}")
                } else {
                    key.to_string()
                }
            )),
            "no comment for {key}:\n{out}"
        );
    }
    let t: toml::Table = toml::from_str(&out).expect("TOML");
    let vpn = &t["containers"]["vpn"];
    assert_eq!(vpn["auto_start"].as_bool(), Some(false));
    assert_eq!(vpn["auto_update"].as_str(), Some("local"));
    assert_eq!(vpn["network_mode"].as_str(), Some("host"));
    assert_eq!(vpn["cap_add"][0].as_str(), Some("NET_ADMIN"));
    assert_eq!(vpn["cap_drop"][0].as_str(), Some("MKNOD"));
    assert_eq!(vpn["environment"]["MODE"].as_str(), Some("wg"));
    let args: Vec<&str> = vpn["podman_args"]
        .as_array()
        .expect("podman_args")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(
        args,
        ["--annotation", "a=b", "--sysctl=net.ipv4.ip_forward=1"]
    );
    assert_eq!(
        vpn["quadlet"]["Container"]["GlobalArgs"][0].as_str(),
        Some("--log-level=debug")
    );
    assert!(
        !err.contains("SYS_TIME"),
        "a null capability is the runtime's default:\n{err}"
    );
}
