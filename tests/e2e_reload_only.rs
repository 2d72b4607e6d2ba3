//! Restart only when it matters, on a real systemd 257 + podman 5.4.2 (Debian trixie in
//! systemd-nspawn): a change the running container does not see (`description`) is applied by the
//! daemon-reload alone, and the same container's `InvocationID` and podman container ID stay;
//! a change it does see (an environment value) restarts it. See src/unit/change.rs.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const START: Duration = Duration::from_secs(90);

fn inventory(description: &str, tag: &str) -> String {
    format!(
        r#"[containers.web]
image = "{REGISTRY}/web:latest"
description = "{description}"
cmd = ["/bin/sleep", "100000"]
environment = {{ TAG = "{tag}" }}
stop_timeout = "2s"

[containers.web.quadlet.Container]
RunInit = "true"
"#
    )
}

/// How many times PID 1 finished a reload.
fn reloads(m: &Machine) -> usize {
    m.exec_ok(["journalctl", "_PID=1", "-o", "cat", "--no-pager"])
        .lines()
        .filter(|l| l.starts_with("Reloading finished"))
        .count()
}

fn container_id(m: &Machine) -> String {
    m.run_ok(["podman", "inspect", "--format", "{{.Id}}", "web"])
        .trim()
        .to_owned()
}

fn install(m: &Machine) -> String {
    let out = m.run(["quadgen", "install", INVENTORY]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "quadgen install failed:\n{text}");
    text
}

#[test]
fn a_new_description_reloads_without_restart_and_a_new_environment_restarts() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[]);
    m.push_image(&image);
    m.write_file(INVENTORY, inventory("first words", "1"));
    install(&m);
    m.wait_active("web.service", START);
    assert_eq!(m.unit_property("web.service", "Description"), "first words");
    let (invocation, id, reload) = (
        m.invocation_id("web.service"),
        container_id(&m),
        reloads(&m),
    );

    // The description only: one reload, systemd shows the new words, the container runs on.
    m.write_file(INVENTORY, inventory("second words", "1"));
    let out = install(&m);
    assert_eq!(
        m.unit_property("web.service", "Description"),
        "second words",
        "{out}"
    );
    assert_eq!(m.unit_property("web.service", "NeedDaemonReload"), "no");
    assert_eq!(reloads(&m), reload + 1, "exactly one daemon-reload\n{out}");
    assert_eq!(
        m.invocation_id("web.service"),
        invocation,
        "web.service was restarted for a new description\n{out}"
    );
    assert_eq!(container_id(&m), id, "the container was recreated\n{out}");
    assert!(
        m.is_active("web.service"),
        "{}",
        m.unit_report("web.service")
    );
    let status = m.run_ok(["quadgen", "status", INVENTORY]);
    assert!(status.contains("files: 1 as installed"), "{status}");

    // An environment value: the container must see it, so it restarts.
    m.write_file(INVENTORY, inventory("second words", "2"));
    let out = install(&m);
    m.wait_active("web.service", START);
    m.assert_restarted("web.service", &invocation);
    assert_ne!(container_id(&m), id, "{out}");
    assert!(
        m.container_env("web").contains(&"TAG=2".to_owned()),
        "the new environment runs\n{out}"
    );
}
