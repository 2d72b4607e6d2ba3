//! The units quadgen ships for hosts without NixOS (`units/`, `quadgen host-units install`), end
//! to end on a real systemd 257 + podman 5.4.2 (Debian trixie) booted in systemd-nspawn
//! (tests/support/nspawn.rs), set up exactly as the README's "Other systemd hosts" section says:
//!
//! * `systemd-analyze verify` is clean on them in that system (real binaries, real podman units);
//! * the `podman-auto-update.timer` drop-in replaces podman's schedule instead of adding to it;
//! * writing `/etc/quadgen/inventory.toml` makes `quadgen-install.path` run the install, and every
//!   later change re-installs (the changed container restarts with the new settings);
//! * `quadgen-prune.service` prunes old unused images but never a volume, even one that no
//!   container uses and that is old enough for the prune's filter: the same prune with `--volumes`
//!   deletes that very volume.
//!
//! Needs root and the provisioned machine root (`sudo bash tests/provision.sh`);
//! `QUADGEN_SKIP_E2E=1` turns "cannot run here" into a loud SKIPPED line.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

#[path = "support/host_e2e.rs"]
mod host_e2e;

use host_e2e::{Steps, publish_web, wait_for, wait_http, web_image};
use nspawn::Machine;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const INVENTORY: &str = "/etc/quadgen/inventory.toml";
const URL: &str = "http://127.0.0.1:8080/";

/// Units `quadgen host-units install` writes, as `systemd-analyze verify` takes them (the drop-in
/// through the podman unit it extends).
const VERIFY: [&str; 5] = [
    "/etc/systemd/system/quadgen-install.service",
    "/etc/systemd/system/quadgen-install.path",
    "/etc/systemd/system/quadgen-prune.service",
    "/etc/systemd/system/quadgen-prune.timer",
    "/usr/lib/systemd/system/podman-auto-update.timer",
];

/// The inventory: web with `GREETING` in its environment. `slow`: httpd starts 2 s late, so the
/// start (which waits for the first healthy check) takes that long.
fn inventory(greeting: &str, slow: bool) -> String {
    let slow = if slow {
        "entrypoint = \"/bin/sh\"\ncmd = [\"-c\", \"sleep 2; exec httpd -f -p 8080 -h /www\"]\n"
    } else {
        ""
    };
    format!(
        r#"[containers.web]
image = "{0}"
ports = ["127.0.0.1:8080:8080"]
environment = {{ GREETING = "{greeting}" }}
{slow}health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "1s", timeout = "2s", retries = 2, start_period = "10s" }}

[containers.web.quadlet.Container]
RunInit = "true"

# A network whose only container is not running: a prune must leave it alone.
[networks.idle]

[containers.idle]
image = "{0}"
networks = ["idle"]
auto_start = false
auto_update = "none"
"#,
        web_image()
    )
}

/// Waits until quadgen-install.service has run again (its `InvocationID` is no longer
/// `id_before`) and finished; panics if that run failed.
fn wait_install_run(m: &Machine, id_before: &str) {
    wait_for(
        "quadgen-install.service run by quadgen-install.path",
        Duration::from_secs(60),
        || {
            let id = m.invocation_id("quadgen-install.service");
            let state = m.unit_property("quadgen-install.service", "ActiveState");
            (id != id_before && (state == "inactive" || state == "failed")).then_some(())
        },
    );
    assert_eq!(
        m.unit_property("quadgen-install.service", "Result"),
        "success",
        "{}",
        m.unit_report("quadgen-install.service")
    );
}

/// Makes volume `name` look created a year ago, so that `until=24h` filters select it: podman has
/// no way to set a volume's creation time, so the year of its `CreatedAt` is rewritten in podman's
/// database (same length: the SQLite page stays valid). Call only while no podman command runs.
fn age_volume(m: &Machine, name: &str) {
    let db = "/var/lib/containers/storage/db.sql";
    for journal in ["-wal", "-shm", "-journal"] {
        assert!(
            !m.exists(&format!("{db}{journal}")),
            "{db}{journal} exists: a podman command is running, cannot edit its database"
        );
    }
    let inspect: Value =
        serde_json::from_str(&m.run_ok(["podman", "volume", "inspect", name])).expect("JSON");
    let created = inspect[0]["CreatedAt"]
        .as_str()
        .expect("CreatedAt")
        .to_owned();
    let year: u32 = created[..4].parse().expect("year");
    let aged = format!("{}{}", year - 1, &created[4..]);
    let read = m.exec(["cat", db]);
    assert!(read.status.success(), "cannot read {db}");
    let bytes = read.stdout;
    let at: Vec<usize> = bytes
        .windows(created.len())
        .enumerate()
        .filter(|(_, w)| *w == created.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at.len(),
        1,
        "`{created}` should occur once in podman's database"
    );
    let mut patched = bytes;
    patched[at[0]..at[0] + aged.len()].copy_from_slice(aged.as_bytes());
    m.write_file(db, patched);
    let old = m.run_ok(["podman", "volume", "ls", "--quiet", "--filter", "until=24h"]);
    assert!(
        old.lines().any(|l| l == name),
        "volume {name} is not older than 24 h for podman after aging it:\n{old}"
    );
}

/// Builds an unused image created in 2020 (`podman build --timestamp`), which the prune's
/// `until=24h` filter selects.
fn build_old_image(m: &Machine, tag: &str) {
    m.write_file(
        "/root/old-image/Containerfile",
        "FROM scratch\nCOPY busybox /bin/busybox\n",
    );
    m.exec_ok(["cp", "/usr/bin/busybox", "/root/old-image/busybox"]);
    m.run_ok([
        "podman",
        "build",
        "--quiet",
        "--network=none",
        "--timestamp=1600000000",
        "--tag",
        tag,
        "/root/old-image",
    ]);
}

/// `quadgen status INVENTORY` says the installed units are what the inventory renders.
fn assert_installed(m: &Machine) {
    let status = m.run_ok(["quadgen", "status", INVENTORY]);
    assert!(
        status.starts_with(&format!(
            "installed from `{INVENTORY}`\nfiles: 3 as installed\n"
        )),
        "{status}"
    );
}

fn image_exists(m: &Machine, image: &str) -> bool {
    m.run(["podman", "image", "exists", image]).status.success()
}

#[test]
fn host_units_install_on_change_schedule_updates_and_prune_without_volumes() {
    let mut steps = Steps::new("host-units");
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    steps.step("boot");
    publish_web(&m, "v1", &[("www/index.html", "v1\n")]);
    steps.step("build + push v1");

    // The README's steps for other hosts, except that the inventory comes later (so the path unit
    // is what installs it).
    m.run_ok(["quadgen", "host-units", "install"]);
    let verify = m.exec(
        ["systemd-analyze", "verify"]
            .into_iter()
            .chain(VERIFY.iter().copied()),
    );
    assert!(
        verify.status.success() && verify.stdout.is_empty() && verify.stderr.is_empty(),
        "systemd-analyze verify {VERIFY:?}: {:?}\n{}{}",
        verify.status,
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    steps.step("host-units install + systemd-analyze verify");
    m.daemon_reload();
    m.systemctl_ok([
        "enable",
        "--now",
        "quadgen-install.path",
        "quadgen-install.service",
        "quadgen-prune.timer",
        "podman-auto-update.timer",
    ]);
    for unit in [
        "quadgen-install.path",
        "quadgen-prune.timer",
        "podman-auto-update.timer",
    ] {
        assert!(m.is_active(unit), "{}", m.unit_report(unit));
    }
    // Enabled for boot too: multi-user.target pulls the install in (its condition skips it while
    // there is no inventory).
    assert_eq!(
        m.systemctl_ok(["is-enabled", "quadgen-install.service"])
            .trim(),
        "enabled"
    );
    assert_eq!(
        m.unit_property("quadgen-install.service", "ConditionResult"),
        "no",
        "started without an inventory, the install must be skipped by its condition"
    );
    assert!(!m.is_active("web.service"));

    // The drop-in's schedule replaces podman's own (OnCalendar= accumulates across files).
    let timer = "podman-auto-update.timer";
    assert_eq!(
        m.unit_property(timer, "DropInPaths"),
        "/etc/systemd/system/podman-auto-update.timer.d/quadgen.conf"
    );
    let calendar = m.unit_property(timer, "TimersCalendar");
    assert_eq!(
        calendar.matches("OnCalendar=").count(),
        1,
        "podman's schedule was not replaced: {calendar}"
    );
    assert!(
        calendar.starts_with("{ OnCalendar=*-*-* 00:00:00 ;"),
        "{calendar}"
    );
    assert_eq!(m.unit_property(timer, "RandomizedDelayUSec"), "15min");
    let timers = m.systemctl_ok(["list-timers", "--all", "--no-legend", timer]);
    assert!(
        timers.contains("podman-auto-update.timer")
            && timers.contains("podman-auto-update.service"),
        "{timers}"
    );
    // Editing the drop-in is how a user changes the schedule.
    let dropin = "/etc/systemd/system/podman-auto-update.timer.d/quadgen.conf";
    let text = m.read_file(dropin);
    assert!(text.contains("\nOnCalendar=daily\n"), "{text}");
    m.write_file(
        dropin,
        text.replace("\nOnCalendar=daily\n", "\nOnCalendar=Mon *-*-* 03:30\n"),
    );
    m.daemon_reload();
    let calendar = m.unit_property(timer, "TimersCalendar");
    assert!(
        calendar.starts_with("{ OnCalendar=Mon *-*-* 03:30:00 ;")
            && calendar.matches("OnCalendar=").count() == 1,
        "{calendar}"
    );
    let prune_calendar = m.unit_property("quadgen-prune.timer", "TimersCalendar");
    assert!(
        prune_calendar.starts_with("{ OnCalendar=Mon *-*-* 00:00:00 ;"),
        "{prune_calendar}"
    );
    steps.step("enable + timer checks");

    // For the prune further down, before any container runs (aging edits podman's database): a
    // volume no container uses, with data, old enough for `until=24h`; and an old unused image.
    m.run_ok(["podman", "volume", "create", "precious"]);
    m.write_file(
        "/var/lib/containers/storage/volumes/precious/_data/file",
        "kept\n",
    );
    age_volume(&m, "precious");
    build_old_image(&m, "localhost/qg-old:2020");
    steps.step("old volume + old image");

    // Writing the inventory installs it.
    let install_id = m.invocation_id("quadgen-install.service");
    m.write_file(INVENTORY, inventory("one", false));
    wait_install_run(&m, &install_id);
    m.wait_active("web.service", Duration::from_secs(30));
    steps.step("write inventory -> path unit -> web active");
    wait_http(&m, URL, "v1\n", Duration::from_secs(10));
    assert!(
        m.container_env("web").contains(&"GREETING=one".to_owned()),
        "{:?}",
        m.container_env("web")
    );
    let journal = m.journal("quadgen-install.service");
    assert!(
        journal.contains("quadgen-install.service: Deactivated successfully"),
        "{journal}"
    );

    // Changing it re-installs: web restarts with the new environment.
    let web_id = m.invocation_id("web.service");
    let install_id = m.invocation_id("quadgen-install.service");
    m.write_file(INVENTORY, inventory("two", false));
    wait_install_run(&m, &install_id);
    m.wait_active("web.service", Duration::from_secs(30));
    steps.step("change inventory -> path unit -> web restarted");
    m.assert_restarted("web.service", &web_id);
    let env = m.container_env("web");
    assert!(env.contains(&"GREETING=two".to_owned()), "{env:?}");
    assert!(!env.iter().any(|e| e == "GREETING=one"), "{env:?}");
    wait_http(&m, URL, "v1\n", Duration::from_secs(10));
    assert_installed(&m);

    // A change saved while an install runs is installed too (the path unit does not watch while
    // its service runs): save, and save again while web restarts.
    let install_id = m.invocation_id("quadgen-install.service");
    m.write_file(INVENTORY, inventory("three", true));
    wait_for(
        "web.service restarting for the first change",
        Duration::from_secs(30),
        || (m.unit_property("web.service", "ActiveState") == "activating").then_some(()),
    );
    m.write_file(INVENTORY, inventory("four", true));
    wait_install_run(&m, &install_id);
    m.wait_active("web.service", Duration::from_secs(30));
    steps.step("change saved during a running install -> installed too");
    let env = m.container_env("web");
    assert!(env.contains(&"GREETING=four".to_owned()), "{env:?}");
    assert_installed(&m);
    let journal = m.journal("quadgen-install.service");
    assert!(
        journal.contains("changed during the install: installing it again"),
        "{journal}"
    );

    // The prune service: the old unused image goes; the image in use, the volume and the
    // network of a stopped container stay.
    assert!(image_exists(&m, "localhost/qg-old:2020"));
    m.systemctl_ok(["start", "idle-network.service"]);
    assert!(
        m.run(["podman", "network", "exists", "idle"])
            .status
            .success()
    );
    m.systemctl_ok(["start", "quadgen-prune.service"]);
    steps.step("quadgen-prune.service");
    assert_eq!(
        m.unit_property("quadgen-prune.service", "Result"),
        "success"
    );
    assert!(
        !image_exists(&m, "localhost/qg-old:2020"),
        "the prune did not remove an unused image from 2020\n{}",
        m.unit_report("quadgen-prune.service")
    );
    assert!(
        image_exists(&m, &web_image()),
        "the image web runs was pruned"
    );
    assert!(m.is_active("web.service"));
    let volumes = m.run_ok(["podman", "volume", "ls", "--quiet"]);
    assert!(
        volumes.lines().any(|l| l == "precious"),
        "quadgen-prune.service deleted volume `precious`:\n{}",
        m.unit_report("quadgen-prune.service")
    );
    assert_eq!(
        m.read_file("/var/lib/containers/storage/volumes/precious/_data/file"),
        "kept\n"
    );
    assert!(
        m.run(["podman", "network", "exists", "idle"])
            .status
            .success(),
        "quadgen-prune.service removed the network of a stopped container"
    );
    // Control: `podman system prune --volumes` deletes that very volume, and its data, and the
    // idle network while its service still says active: what quadgen's prune must not do.
    m.run_ok([
        "podman",
        "system",
        "prune",
        "--all",
        "--filter",
        "until=24h",
        "--force",
        "--volumes",
    ]);
    let volumes = m.run_ok(["podman", "volume", "ls", "--quiet"]);
    assert!(
        !volumes.lines().any(|l| l == "precious"),
        "control failed: `--volumes` kept the aged volume, so the check above proved nothing"
    );
    // The network is younger than `until=24h`; a day later that prune would take it too.
    m.run_ok(["podman", "system", "prune", "--all", "--force"]);
    assert!(
        !m.run(["podman", "network", "exists", "idle"])
            .status
            .success(),
        "control failed: `system prune` kept the idle network, so the check above proved nothing"
    );
    assert!(
        m.is_active("idle-network.service"),
        "the network service still claims the network"
    );
    steps.step("prune checks + control");
    steps.finish();
}
