//! Moving a host from NixOS oci-containers to quadgen in one switch, on a real systemd 257 +
//! podman 5.4.2 (tests/support/nspawn.rs).
//!
//! The old side is the module's own: tests/fixtures/oci/switch.services.json holds what NixOS's
//! oci-containers module (evaluated with nixpkgs' lib, tests/fixtures/oci/README.md) renders for
//! tests/fixtures/oci/switch.nix: each `podman-NAME.service`'s start script, `preStop`,
//! `postStop`, service settings and ordering. They are installed here as NixOS would install them
//! (a script becomes an executable file run by `ExecStart=`, `preStop` `ExecStop=`, `postStop`
//! `ExecStopPost=`), plus the module's pre-start (`podman rm -f NAME || true`, `rm -f
//! /run/NAME/ctr-id`; a writeShellApplication, written here from the module source) and the
//! guide's network oneshot (`podman network create app`).
//!
//! Then the switch as switch-to-configuration does it: the units that leave are stopped and
//! removed, systemd reloads, and the new `quadgen-install` runs `quadgen install` of the inventory
//! `quadgen import oci-containers` made from the module's JSON. Checked as a user would: the
//! same container names, now under `NAME.service`; the old containers are gone (`--rm`); the
//! bind-mounted data is served as before; dependencies hold; and the README's advice about the
//! network the oneshot created (kept as it was, then recreated once with quadgen's settings).

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};
use serde_json::Value as Json;

const START: Duration = Duration::from_secs(90);

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oci")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A NixOS unit script: `#!/bin/sh -e` (NixOS: bash with `set -e`) and the text.
fn script(m: &Machine, path: &str, text: &str) {
    m.write_file(path, format!("#!/bin/sh -e\n{text}\n"));
    m.exec_ok(["chmod", "0755", path]);
}

/// `podman-NAME.service` as NixOS renders the module's service.
fn install_old_unit(m: &Machine, name: &str, svc: &Json) {
    let s = |k: &str| svc[k].as_str().unwrap_or_else(|| panic!("{k}")).to_string();
    let list = |k: &str| -> String {
        svc[k]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let dir = format!("/etc/oci/{name}");
    script(
        m,
        &format!("{dir}/pre-start"),
        &format!("podman rm -f {name} || true\nrm -f /run/'{name}'/ctr-id"),
    );
    script(m, &format!("{dir}/start"), &s("script"));
    script(m, &format!("{dir}/stop"), &s("preStop"));
    script(m, &format!("{dir}/post-stop"), &s("postStop"));
    let c = &svc["serviceConfig"];
    let unit = format!(
        "[Unit]\nAfter={after}\nWants={wants}\nRequires={requires}\n\n[Service]\n\
         Environment={env}\nType={ty}\nNotifyAccess={notify}\nRuntimeDirectory={rd}\n\
         TimeoutStartSec={tstart}\nTimeoutStopSec={tstop}\nRestart={restart}\n\
         ExecStartPre={dir}/pre-start\nExecStart={dir}/start\nExecStop={dir}/stop\n\
         ExecStopPost={dir}/post-stop\n\n[Install]\nWantedBy={wanted}\n",
        after = list("after"),
        wants = list("wants"),
        requires = list("requires"),
        env = c["Environment"].as_str().expect("Environment"),
        ty = c["Type"].as_str().expect("Type"),
        notify = c["NotifyAccess"].as_str().expect("NotifyAccess"),
        rd = c["RuntimeDirectory"].as_str().expect("RuntimeDirectory"),
        tstart = c["TimeoutStartSec"],
        tstop = c["TimeoutStopSec"],
        restart = s("restart"),
        wanted = list("wantedBy"),
    );
    m.write_file(
        &format!("/etc/systemd/system/{}.service", s("serviceName")),
        unit,
    );
}

fn container_ids(m: &Machine) -> Vec<String> {
    let out = m.run_ok(["podman", "ps", "-a", "--format", "{{.Names}} {{.ID}}"]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn one_switch_moves_the_containers_with_their_names_and_data() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[]);
    m.exec_ok(["mkdir", "-p", "/srv/web"]);
    m.write_file("/srv/web/index.html", "kept across the switch\n");
    m.run_ok(["podman", "network", "create", "app"]); // the guide's oneshot
    let services: Json = serde_json::from_str(&fixture("switch.services.json")).expect("json");
    for (name, svc) in services.as_object().expect("services") {
        install_old_unit(&m, name, svc);
    }
    m.daemon_reload();
    m.systemctl_ok(["start", "podman-api.service"]); // Requires= podman-web.service
    m.wait_active("podman-web.service", START);
    m.wait_active("podman-api.service", START);
    assert_eq!(
        m.http_get("http://127.0.0.1:8080/").as_deref(),
        Ok("kept across the switch\n")
    );
    let before = container_ids(&m);
    assert_eq!(before.len(), 2, "{before:?}");

    // The switch: switch-to-configuration stops the units that left, then reloads...
    let switch = std::time::Instant::now();
    m.systemctl_ok(["stop", "podman-api.service", "podman-web.service"]);
    m.remove("/etc/systemd/system/podman-web.service");
    m.remove("/etc/systemd/system/podman-api.service");
    let stopped = switch.elapsed();
    m.daemon_reload();
    assert!(
        container_ids(&m).is_empty(),
        "the old containers are removed at their stop"
    );
    // ...then starts the new quadgen-install.service: `quadgen install` of the imported inventory.
    m.write_file("/root/containers.json", fixture("switch.json"));
    let out = m.run([
        "quadgen",
        "import",
        "oci-containers",
        "/root/containers.json",
        "-o",
        "/root/inventory.toml",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = m.run(["quadgen", "install", "/root/inventory.toml"]);
    assert!(
        out.status.success(),
        "install failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        m.unit_report("web.service"),
        m.read_file("/root/inventory.toml")
    );
    m.wait_active("web.service", START);
    m.wait_active("api.service", START);
    eprintln!(
        "switch: old units stopped in {:?}; both new units active {:?} after the stop began",
        stopped,
        switch.elapsed()
    );
    let after = container_ids(&m);
    let names: Vec<&str> = after.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(names, ["api", "web"], "the same container names: {after:?}");
    assert!(
        after.iter().all(|a| !before.contains(a)),
        "new containers: {before:?} {after:?}"
    );
    assert_eq!(
        m.http_get("http://127.0.0.1:8080/").as_deref(),
        Ok("kept across the switch\n")
    );
    assert!(
        m.unit_property("api.service", "Requires")
            .split(' ')
            .any(|u| u == "web.service")
    );
    let env = m.container_env("web");
    assert!(env.iter().any(|e| e == "TAG=oci"), "{env:?}");

    // The oneshot's network is kept as it was (quadlet: `podman network create --ignore`)...
    let iface = |m: &Machine| {
        m.run_ok([
            "podman",
            "network",
            "inspect",
            "app",
            "--format",
            "{{.NetworkInterface}}",
        ])
        .trim()
        .to_string()
    };
    assert_ne!(iface(&m), "qg-app", "the existing network was kept");
    // ...until it is recreated once, as the README says.
    m.systemctl_ok(["stop", "api.service", "web.service"]);
    m.run_ok(["podman", "network", "rm", "app"]);
    m.systemctl_ok(["restart", "app-network.service"]);
    m.systemctl_ok(["start", "web.service", "api.service"]);
    m.wait_active("api.service", START);
    assert_eq!(iface(&m), "qg-app");
    assert_eq!(
        m.http_get("http://127.0.0.1:8080/").as_deref(),
        Ok("kept across the switch\n")
    );
    // busybox httpd as PID 1 ignores SIGTERM: each stop takes podman's 10 s stop timeout, longer
    // than the harness waits for a halt, so stop them first.
    m.systemctl_ok(["stop", "api.service", "web.service"]);
    m.halt().expect("clean halt");
}
