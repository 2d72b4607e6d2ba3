//! Auto-update with rollback, end to end, on a real systemd 257 + podman 5.4.2 (Debian trixie)
//! booted in systemd-nspawn (tests/support/nspawn.rs): a container installed by `quadgen install`
//! is updated by podman's own `podman-auto-update.service` when a new image is pushed, and a broken
//! image is rolled back, the service staying up on the previous one. `quadgen status --json`
//! reports each result from the journal.
//!
//! No mocks: the registry is Debian's docker-registry on 127.0.0.1:5000 inside the machine, every
//! new image is pulled from it for real, and the unit run is the stock
//! `podman-auto-update.service` shipped by Debian's podman.
//!
//! The inventory leaves `pull` at quadgen's default: with registry auto-update that is
//! `Pull=missing`, because with `Pull=newer` podman's rollback restart pulls the broken image
//! straight back from the registry (the registry's digest differs from the re-tagged local
//! image), the restart fails and the service is left down (seen here before the default changed).
//!
//! Needs root and the provisioned machine root (`sudo bash tests/provision.sh`);
//! `QUADGEN_SKIP_E2E=1` turns "cannot run here" into a loud SKIPPED line.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

#[path = "support/host_e2e.rs"]
mod host_e2e;

use host_e2e::{Steps, container_image, publish_web, wait_http, web_image};
use nspawn::Machine;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const URL: &str = "http://127.0.0.1:8080/";

/// The inventory: one web container with a health check that fails fast (1 s interval, 2
/// retries), so a bad image fails its start within seconds. `RunInit` because busybox httpd as
/// PID 1 ignores SIGTERM. `extra` is added to the container's table.
fn inventory(extra: &str) -> String {
    format!(
        r#"[containers.web]
image = "{}"
ports = ["127.0.0.1:8080:8080"]
{extra}
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "1s", timeout = "2s", retries = 2 }}

[containers.web.quadlet.Container]
RunInit = "true"
"#,
        web_image()
    )
}

/// Runs the stock `podman-auto-update.service` once, as its timer would, and returns how long
/// `systemctl start` took (it returns when `podman auto-update` has finished).
fn run_auto_update(m: &Machine) -> Duration {
    let start = std::time::Instant::now();
    let out = m.systemctl(["start", "podman-auto-update.service"]);
    assert!(
        out.status.success(),
        "systemctl start podman-auto-update.service failed\n{}",
        m.unit_report("podman-auto-update.service")
    );
    start.elapsed()
}

/// `quadgen status --json`'s `last_auto_update` of web.service.
fn last_auto_update(m: &Machine) -> Value {
    let json = m.run_ok(["quadgen", "status", "--json"]);
    let status: Value = serde_json::from_str(&json).expect("quadgen status --json prints JSON");
    let units = status["units"].as_array().expect("units array");
    let web = units
        .iter()
        .find(|u| u["service"] == "web.service")
        .unwrap_or_else(|| panic!("no web.service in quadgen status:\n{json}"));
    assert_eq!(web["image"], web_image().as_str(), "{json}");
    assert_eq!(web["auto_update"], "registry", "{json}");
    web["last_auto_update"].clone()
}

#[test]
fn auto_update_updates_to_v2_and_rolls_back_broken_v3() {
    update_then_roll_back("auto-update", "");
}

/// v1 installed, v2 pushed and auto-updated, broken v3 pushed and rolled back.
fn update_then_roll_back(test: &'static str, extra: &str) {
    let mut steps = Steps::new(test);
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    steps.step("boot");

    // v1 in the registry only; quadgen install starts web, which pulls it.
    let v1 = publish_web(&m, "v1", &[("www/index.html", "v1\n")]);
    steps.step("build + push v1");
    m.write_file("/root/inventory.toml", inventory(extra));
    m.run_ok(["quadgen", "install", "/root/inventory.toml"]);
    steps.step("quadgen install (pull v1, start until healthy)");
    assert!(
        m.is_active("web.service"),
        "{}",
        m.unit_report("web.service")
    );
    // What makes the rollback possible: the start waits for the first healthy check.
    let unit = m.systemctl_ok(["cat", "web.service"]);
    assert!(unit.contains("--sdnotify=healthy"), "{unit}");
    assert!(unit.contains("io.containers.autoupdate=registry"), "{unit}");
    wait_http(&m, URL, "v1\n", Duration::from_secs(10));
    assert_eq!(container_image(&m, "web"), v1);
    assert_eq!(
        m.unit_property("web.service", "ExecMainStatus"),
        "0",
        "web.service's start did not finish cleanly"
    );
    let before = last_auto_update(&m);
    assert!(
        before.is_null(),
        "no auto-update ran yet, status says {before}"
    );

    // v2 pushed: the real podman-auto-update.service pulls it and restarts web.
    let v2 = publish_web(&m, "v2", &[("www/index.html", "v2\n")]);
    steps.step("build + push v2");
    let inv_v1 = m.invocation_id("web.service");
    let took = run_auto_update(&m);
    steps.step("podman-auto-update.service (v1 -> v2)");
    m.assert_restarted("web.service", &inv_v1);
    assert_eq!(m.http_get(URL).as_deref(), Ok("v2\n"));
    assert_eq!(container_image(&m, "web"), v2);
    let last = last_auto_update(&m);
    assert_eq!(last["updated"], "true", "{last}");
    assert_eq!(last["image"], web_image().as_str(), "{last}");
    // When, as `journalctl -o short-iso` shows the run's table row (the machine runs in UTC).
    let row_time = m
        .exec_ok([
            "journalctl",
            "--unit=podman-auto-update.service",
            "--output=short-iso",
            "--no-pager",
            "--grep=web.service .* registry",
        ])
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .unwrap_or_default();
    assert_eq!(last["when"], row_time.as_str(), "{last}");
    assert!(
        took < Duration::from_secs(30),
        "the update took {took:?} (pull + restart until healthy)"
    );

    // Broken v3 (no index.html: 404, so the health check fails): podman auto-update restarts web
    // on it, the start fails within the health settings' bound, and podman rolls back to v2.
    let v3 = publish_web(&m, "v3", &[("www/other.html", "broken\n")]);
    steps.step("build + push broken v3");
    let inv_v2 = m.invocation_id("web.service");
    let took = run_auto_update(&m);
    steps.step("podman-auto-update.service (v3 unhealthy -> rolled back to v2)");
    let journal = m.journal("podman-auto-update.service");
    m.assert_restarted("web.service", &inv_v2);
    assert_eq!(m.http_get(URL).as_deref(), Ok("v2\n"));
    assert_eq!(
        container_image(&m, "web"),
        v2,
        "web does not run v2 after the rollback"
    );
    assert_ne!(v3, v2);
    let last = last_auto_update(&m);
    assert_eq!(last["updated"], "rolled back", "{last}\n{journal}");
    assert!(
        took < Duration::from_secs(60),
        "the failed update and rollback took {took:?}"
    );
    // What a person reads.
    let text = m.run_ok(["quadgen", "status"]);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("web.service"))
        .unwrap_or_else(|| panic!("no web.service line:\n{text}"));
    assert!(line.contains("active/running"), "{text}");
    assert!(line.contains("auto-update=registry"), "{text}");
    assert!(line.ends_with(": rolled back"), "{text}");
    steps.step("checks");
    steps.finish();
}
