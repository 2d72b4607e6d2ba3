//! Pods on a real systemd 257 + podman 5.4.2 (Debian trixie in systemd-nspawn), rootful: two
//! members talk over 127.0.0.1, the pod's published ports reach them from the host, install and
//! status report every member's real state (a pod's service only `Wants=` its members, so its
//! start says nothing about them), a changed pod restarts its members, a changed member restarts
//! alone, a member that leaves the inventory is the only unit stopped and a new one the only
//! unit started.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const START: Duration = Duration::from_secs(90);

fn boot() -> Option<Machine> {
    Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen")))
}

/// Pod `shop` on network `shopnet`, publishing 8090 (`front`) and 8091 (`probe`), plus
/// `extra_ports`. `front` serves its image's page on 8080 and carries `front_tag`. `probe`'s main
/// process fetches that page over 127.0.0.1 and only then serves it on 8081 (its health check),
/// so the page on 8091 is what one member got from the other over the pod's localhost. `extra`
/// sleeps; `broken` dies a second after each start.
fn inventory(extra_ports: &str, front_tag: &str, extra: bool, broken: bool) -> String {
    let image = format!("{REGISTRY}/web:latest");
    let mut s = format!(
        r#"[defaults]
image = "{image}"
restart = "always"
stop_timeout = "2s"
networks = ["shopnet"]
[defaults.quadlet.Container]
RunInit = "true"

[networks.shopnet]
subnet = "10.89.60.0/24"

[pods.shop]
ports = ["127.0.0.1:8090:8080", "127.0.0.1:8091:8081"{extra_ports}]
networks = ["shopnet"]

[containers.front]
pod = "shop"
environment = {{ TAG = "{front_tag}" }}
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "1s", timeout = "2s", retries = 3 }}

[containers.probe]
pod = "shop"
cmd = ["/bin/sh", "-c", "mkdir -p /got; until wget -q -O /got/index.html http://127.0.0.1:8080/; do sleep 0.2; done; exec httpd -f -p 8081 -h /got"]
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8081/", interval = "1s", timeout = "2s", retries = 3 }}
"#
    );
    if extra {
        s.push_str("\n[containers.extra]\npod = \"shop\"\ncmd = [\"/bin/sleep\", \"100000\"]\n");
    }
    if broken {
        s.push_str(concat!(
            "\n[containers.broken]\npod = \"shop\"\n",
            "cmd = [\"/bin/sh\", \"-c\", \"sleep 1; exit 3\"]\n",
            "# still waiting for its restart when install and status look\n",
            "[containers.broken.quadlet.Service]\nRestartSec = \"120s\"\n",
        ));
    }
    s
}

/// Runs `quadgen ARGS… INVENTORY`: (exit code, stdout + stderr).
fn quadgen(m: &Machine, args: &[&str]) -> (i32, String) {
    let mut argv = vec!["quadgen"];
    argv.extend_from_slice(args);
    argv.push(INVENTORY);
    let out = m.run(argv);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn ids(m: &Machine, units: &[&str]) -> Vec<String> {
    units.iter().map(|u| m.invocation_id(u)).collect()
}

/// The one line of `quadgen status` about `service`.
fn status_line<'a>(status: &'a str, service: &str) -> &'a str {
    status
        .lines()
        .find(|l| l.trim_start().starts_with(service))
        .unwrap_or_else(|| panic!("no {service} in status:\n{status}"))
}

/// Both members serve: `front` on the pod's 8090, and on 8091 the page `probe` fetched from
/// `front` over 127.0.0.1 in its own main process.
fn assert_members_talk(m: &Machine) {
    m.wait_active("front.service", START);
    m.wait_active("probe.service", START);
    assert_eq!(m.http_get("http://127.0.0.1:8090/").as_deref(), Ok("v1\n"));
    assert_eq!(m.http_get("http://127.0.0.1:8091/").as_deref(), Ok("v1\n"));
}

#[test]
fn pod_members_share_localhost_and_install_reports_each_of_them() {
    let Some(m) = boot() else { return };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[("www/index.html", "v1\n")]);
    m.push_image(&image);

    // The plan names the pod's service.
    m.write_file(INVENTORY, inventory("", "1", true, true));
    let (code, plan) = quadgen(&m, &["plan"]);
    assert_eq!(code, 0, "{plan}");
    assert!(
        plan.contains("note: pod `shop.pod` runs as `shop-pod.service`: podman pod `shop`, infra container `shop-infra`, members broken.service, extra.service, front.service, probe.service"),
        "{plan}"
    );

    // First install: the pod and its members start; install names the member that died, and
    // only it, although the pod's own start succeeded.
    let (code, out) = quadgen(&m, &["install"]);
    assert_eq!(code, 4, "{out}");
    assert!(
        // ("died within N s", or "died before all start jobs were done" when the
        // health-gated members' starts outlast its one second)
        out.contains("error: start `broken.service` failed: it started, then died"),
        "{out}"
    );
    for ok in ["front", "probe", "extra", "shop-pod"] {
        assert!(!out.contains(&format!("`{ok}.service` failed")), "{out}");
    }
    assert_members_talk(&m);
    assert!(m.is_active("shop-pod.service") && m.is_active("extra.service"));
    let pods = m.run_ok(["podman", "pod", "ps", "--format", "{{.Name}}"]);
    assert_eq!(
        pods.trim(),
        "shop",
        "podman pod `shop`, named after the inventory"
    );
    let running = m.run_ok([
        "podman",
        "ps",
        "--filter",
        "pod=shop",
        "--format",
        "{{.Names}}",
    ]);
    let mut running: Vec<&str> = running.lines().collect();
    running.sort();
    assert_eq!(running, ["extra", "front", "probe", "shop-infra"]);

    // status shows every member's real state, the dying one as down.
    let (code, status) = quadgen(&m, &["status"]);
    assert_eq!(code, 5, "{status}");
    assert!(
        status_line(&status, "broken.service").contains("activating/auto-restart"),
        "{status}"
    );
    for up in [
        "front.service",
        "probe.service",
        "extra.service",
        "shop-pod.service",
    ] {
        assert!(
            status_line(&status, up).contains("active/running"),
            "{status}"
        );
    }
    for member in ["front", "probe", "extra", "broken"] {
        let line = status_line(&status, &format!("{member}.service"));
        assert!(line.contains("pod=shop"), "{status}");
    }

    // The pod changes (one more published port): it restarts, systemd restarts its members
    // with it (BindsTo=), and install reports them all again, the dying one included.
    let units = [
        "shop-pod.service",
        "front.service",
        "probe.service",
        "extra.service",
    ];
    let before = ids(&m, &units);
    m.write_file(
        INVENTORY,
        inventory(", \"127.0.0.1:8092:8080\"", "1", true, true),
    );
    let (code, out) = quadgen(&m, &["install"]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("`broken.service` failed"), "{out}");
    assert_members_talk(&m);
    assert_eq!(m.http_get("http://127.0.0.1:8092/").as_deref(), Ok("v1\n"));
    for (unit, id) in units.iter().zip(&before) {
        m.assert_restarted(unit, id);
    }

    // `broken` leaves the inventory: only it stops.
    m.write_file(
        INVENTORY,
        inventory(", \"127.0.0.1:8092:8080\"", "1", true, false),
    );
    let before = ids(&m, &units);
    let (code, out) = quadgen(&m, &["install"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(m.unit_property("broken.service", "LoadState"), "not-found");
    assert_eq!(
        ids(&m, &units),
        before,
        "nothing else was restarted:\n{out}"
    );
    let (code, status) = quadgen(&m, &["status"]);
    assert_eq!(code, 0, "every member is up:\n{status}");

    // A member changes: it restarts alone.
    m.write_file(
        INVENTORY,
        inventory(", \"127.0.0.1:8092:8080\"", "2", true, false),
    );
    let (code, out) = quadgen(&m, &["install"]);
    assert_eq!(code, 0, "{out}");
    m.wait_active("front.service", START);
    let after = ids(&m, &units);
    assert_ne!(after[1], before[1], "front restarted");
    assert_eq!(
        [&after[0], &after[2], &after[3]],
        [&before[0], &before[2], &before[3]],
        "the pod and the other members were not touched"
    );
    assert!(m.container_env("front").contains(&"TAG=2".to_string()));

    // A running member leaves: only it stops; its pod keeps serving.
    m.write_file(
        INVENTORY,
        inventory(", \"127.0.0.1:8092:8080\"", "2", false, false),
    );
    let before = ids(&m, &units[..3]);
    let (code, out) = quadgen(&m, &["install"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(m.unit_property("extra.service", "LoadState"), "not-found");
    assert_eq!(ids(&m, &units[..3]), before, "only extra stopped:\n{out}");
    assert!(
        !m.run_ok(["podman", "ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .any(|n| n == "extra")
    );
    assert_members_talk(&m);

    // A new member starts in the running pod; nothing else restarts.
    m.write_file(
        INVENTORY,
        inventory(", \"127.0.0.1:8092:8080\"", "2", true, false),
    );
    let (code, out) = quadgen(&m, &["install"]);
    assert_eq!(code, 0, "{out}");
    m.wait_active("extra.service", START);
    assert_eq!(ids(&m, &units[..3]), before, "only extra started:\n{out}");
    let in_pod = m.run_ok([
        "podman",
        "ps",
        "--filter",
        "pod=shop",
        "--format",
        "{{.Names}}",
    ]);
    assert!(in_pod.lines().any(|n| n == "extra"), "{in_pod}");
}

/// quadgen's pods keep running while a member restarts (`--exit-policy=continue`): with
/// quadlet's default (`stop`), the last member's exit would stop the pod, and with it
/// (`BindsTo=`) the member systemd was about to restart, leaving everything down.
#[test]
fn a_lone_member_that_crashes_is_restarted_in_its_running_pod() {
    let Some(m) = boot() else { return };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[("www/index.html", "v1\n")]);
    m.push_image(&image);
    m.exec_ok(["mkdir", "-p", "/srv/state"]);
    m.write_file(
        INVENTORY,
        format!(
            r#"[pods.solo]
ports = ["127.0.0.1:8095:8080"]

[containers.once]
image = "{image}"
pod = "solo"
stop_timeout = "2s"
volumes = ["/srv/state:/state"]
# Crashes once (a second after its first start), then serves.
cmd = ["/bin/sh", "-c", "if [ -e /state/crashed ]; then exec httpd -f -p 8080 -h /www; fi; touch /state/crashed; sleep 1; exit 3"]
[containers.once.quadlet.Container]
RunInit = "true"
[containers.once.quadlet.Service]
RestartSec = "1s"
"#
        ),
    );
    let (code, out) = quadgen(&m, &["install"]);
    // It may die within install's watch: either way the pod must survive it.
    assert!(code == 0 || code == 4, "{out}");
    let pod = m.invocation_id("solo-pod.service");
    let deadline = std::time::Instant::now() + START;
    while m.http_get("http://127.0.0.1:8095/").as_deref() != Ok("v1\n") {
        assert!(
            std::time::Instant::now() < deadline,
            "the member never came back\n{}\n{}",
            m.unit_report("once.service"),
            m.unit_report("solo-pod.service")
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(m.exists("/srv/state/crashed"), "it did crash once");
    assert_eq!(m.unit_property("once.service", "NRestarts"), "1");
    assert_eq!(
        m.invocation_id("solo-pod.service"),
        pod,
        "the pod kept running through its member's restart"
    );
}
