//! A pod exported to Kubernetes, played by a real consumer: `podman kube play` (podman 5.4.2 in
//! the nspawn machine) runs the exported Deployment as one pod whose members share localhost,
//! as they did under quadgen's own units.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::{Duration, Instant};

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const EXPORTED: &str = "/root/kubernetes.yaml";

fn inventory() -> String {
    let image = format!("{REGISTRY}/web:latest");
    format!(
        r#"[defaults]
image = "{image}"
restart = "always"
stop_timeout = "2s"

[pods.shop]
ports = ["127.0.0.1:8090:8080", "127.0.0.1:8091:8081"]

[containers.front]
pod = "shop"
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "2s", timeout = "2s", retries = 3 }}

# Serves on 8081 the page it fetched from `front` over 127.0.0.1.
[containers.probe]
pod = "shop"
cmd = ["/bin/sh", "-c", "mkdir -p /got; until wget -q -O /got/index.html http://127.0.0.1:8080/; do sleep 0.2; done; exec httpd -f -p 8081 -h /got"]
"#
    )
}

#[test]
fn kube_play_runs_an_exported_pod_whose_members_share_localhost() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[("www/index.html", "v1\n")]);
    m.push_image(&image);
    m.write_file(INVENTORY, inventory());

    // Under quadgen's units: the page on 8091 is the one `probe` got from `front`.
    let out = m.run(["quadgen", "install", INVENTORY]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    m.wait_active("probe.service", Duration::from_secs(90));
    let deadline = Instant::now() + Duration::from_secs(60);
    while m.http_get("http://127.0.0.1:8091/").as_deref() != Ok("v1\n") {
        assert!(
            Instant::now() < deadline,
            "{}",
            m.unit_report("probe.service")
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    m.run_ok(["quadgen", "uninstall"]);

    // The export, played: one pod with both members in it.
    let out = m.run(["quadgen", "export", "kubernetes", INVENTORY, "-o", EXPORTED]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    m.run_ok(["podman", "kube", "play", EXPORTED]);
    let pods = m.run_ok(["podman", "pod", "ps", "--format", "{{.Name}}"]);
    assert_eq!(pods.trim(), "shop-pod", "one pod for the Deployment `shop`");
    let mut members: Vec<String> = m
        .run_ok([
            "podman",
            "ps",
            "--filter",
            "pod=shop-pod",
            "--format",
            "{{.Names}}",
        ])
        .lines()
        .filter(|n| !n.ends_with("-infra"))
        .map(str::to_owned)
        .collect();
    members.sort();
    assert_eq!(members, ["shop-pod-front", "shop-pod-probe"]);
    // `front` reaches `probe`'s server on 127.0.0.1, which serves what `probe`'s main process
    // fetched from `front` on 127.0.0.1: one localhost, both ways.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = m.run([
            "podman",
            "exec",
            "shop-pod-front",
            "wget",
            "-q",
            "-O",
            "-",
            "http://127.0.0.1:8081/",
        ]);
        if got.status.success() && got.stdout == b"v1\n" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "probe never served front's page: {got:?}\n{}",
            m.run_ok(["podman", "logs", "shop-pod-probe"])
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
