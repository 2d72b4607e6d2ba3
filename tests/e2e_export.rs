//! `quadgen export kubernetes`, played by a real consumer: `podman kube play` on the real
//! podman 5.4.2 of the nspawn machine (Debian trixie, systemd 257) runs the exported inventory.
//! The same inventory is first installed with `quadgen install`, and what podman runs under each
//! (image, entrypoint, command, environment, mounts) must be the same. Under `kube play` the
//! containers must start, pass their probes, and reach each other by the names they used under
//! quadgen.
//!
//! Findings (podman 5.4.2): `kube play` runs a Deployment as the pod `NAME-pod` with the
//! container `NAME-pod-NAME`, on `podman-default-kube-network` (DNS enabled) where the container
//! is also reachable by its name in the YAML, so `http://web:8080/` still answers. It turns the
//! liveness and startup probes into podman health checks; it ignores readiness probes, so the
//! readiness command is run here with `podman exec`, as the kubelet would. An `envFrom` Secret
//! must exist as a podman secret made by `kube play` of a `kind: Secret` document.
//!
//! Two inventories are played: a small one with every kind of mount, an entrypoint, a user, an
//! environment file and names used across containers; and the shipped `examples/homelab.toml`
//! itself, with local stand-in images (a host network, host paths, an internal network, a named
//! volume, two Secrets, a systemd mount unit).

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::{Duration, Instant};

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const EXPORTED: &str = "/root/kubernetes.yaml";
const START: Duration = Duration::from_secs(90);

fn inventory() -> String {
    let image = format!("{REGISTRY}/web:latest");
    format!(
        r#"[defaults]
restart = "always"
stop_timeout = "2s"
environment = {{ TZ = "UTC" }}

[networks.app]
subnet = "10.89.60.0/24"

[volumes.data]

[containers.web]
image = "{image}"
environment = {{ TAG = "v1", GREETING = "hello world: it's $HOME" }}
environment_files = ["/etc/qg/web.env"]
networks = ["app"]
ports = ["127.0.0.1:8080:8080"]
volumes = ["data:/data", "/srv/shared:/srv/shared:ro"]
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "2s", timeout = "2s", retries = 2, start_period = "4s" }}

[containers.api]
image = "{image}"
cmd = ["/bin/httpd", "-f", "-p", "8081", "-h", "/www"]
networks = ["app"]
ports = ["8081"]
depends_on = ["web"]
user = "1000:1000"
health = {{ cmd = "wget -q -O /dev/null http://web:8080/", interval = "2s", timeout = "2s", retries = 3 }}

[containers.worker]
image = "{image}"
entrypoint = "/bin/sleep"
cmd = ["100000"]
networks = ["app"]
"#
    )
}

/// What podman runs, as `podman inspect` shows it: one line per fact, sorted where podman's own
/// order is not the user's (environment). `HOSTNAME` differs by design (container vs pod name).
fn runs(m: &Machine, container: &str) -> String {
    let field = |format: &str| {
        m.run_ok(["podman", "inspect", "--format", format, container])
            .trim_end()
            .to_string()
    };
    let mut env: Vec<String> = field("{{range .Config.Env}}{{println .}}{{end}}")
        .lines()
        .filter(|l| !l.starts_with("HOSTNAME="))
        .map(str::to_owned)
        .collect();
    env.sort();
    let mut mounts: Vec<String> = field(
        "{{range .Mounts}}{{.Type}} name={{.Name}} dest={{.Destination}} rw={{.RW}}{{if eq .Type \"bind\"}} src={{.Source}}{{end}}{{println}}{{end}}",
    )
    .lines()
    .map(str::to_owned)
    .collect();
    mounts.sort();
    format!(
        "image {}\nentrypoint {}\ncmd {}\nuser {}\nenv\n  {}\nmounts\n  {}\n",
        field("{{.ImageName}}"),
        field("{{json .Config.Entrypoint}}"),
        field("{{json .Config.Cmd}}"),
        field("{{.Config.User}}"),
        env.join("\n  "),
        mounts.join("\n  ")
    )
}

fn wait_healthy(m: &Machine, container: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        let status = m.run_ok([
            "podman",
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.Health.Status}}",
            container,
        ]);
        if status.trim() == "running healthy" {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{container} not healthy after {timeout:?}: {status}\n{}",
            String::from_utf8_lossy(&m.run(["podman", "logs", container]).stderr)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The readiness probe's command, run in the container as the kubelet runs it.
fn readiness_passes(m: &Machine, yaml: &str, name: &str, pod_container: &str) {
    let marker = format!("      - name: {name}\n");
    let container = yaml
        .split("\n---\n")
        .find(|doc| doc.contains("kind: Deployment") && doc.contains(&marker))
        .unwrap_or_else(|| panic!("no Deployment for {name}"));
    let probe = container
        .split("readinessProbe:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{name} has no readiness probe"));
    let command: Vec<&str> = probe
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("command:"))
        .skip(1)
        .map_while(|l| l.trim_start().strip_prefix("- "))
        .collect();
    assert_eq!(command.first(), Some(&"/bin/sh"), "{probe}");
    let mut argv = vec!["podman", "exec", pod_container];
    argv.extend(command);
    m.run_ok(argv);
}

#[test]
fn kube_play_runs_the_export_like_quadgen_runs_the_units() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[("www/index.html", "v1\n")]);
    m.push_image(&image);
    m.write_file("/etc/qg/web.env", "SECRET_TOKEN=s3cr3t value\n");
    m.write_file("/srv/shared/note.txt", "shared\n");
    m.write_file(INVENTORY, inventory());

    // 1. quadgen's own units.
    m.run_ok(["quadgen", "install", INVENTORY]);
    for unit in ["web.service", "api.service", "worker.service"] {
        m.wait_active(unit, START);
    }
    assert_eq!(
        m.run_ok([
            "podman",
            "exec",
            "api",
            "wget",
            "-q",
            "-O",
            "-",
            "http://web:8080/"
        ]),
        "v1\n"
    );
    assert_eq!(
        m.run_ok([
            "podman",
            "exec",
            "worker",
            "wget",
            "-q",
            "-O",
            "-",
            "http://api:8081/"
        ]),
        "v1\n"
    );
    let under_quadgen: Vec<String> = ["web", "api", "worker"]
        .iter()
        .map(|c| runs(&m, c))
        .collect();
    m.run_ok(["quadgen", "uninstall"]);
    // quadgen keeps volumes (they hold data); kube play makes its own from the claim.
    m.run_ok(["podman", "volume", "rm", "data"]);

    // 2. The export, played by podman. The Secret is made from the env file, as
    //    `kubectl create secret generic web-env --from-env-file=/etc/qg/web.env` would.
    let out = m.run(["quadgen", "export", "kubernetes", INVENTORY, "-o", EXPORTED]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "export failed: {stderr}");
    assert!(
        stderr.contains("note: create Secret `web-env` from `/etc/qg/web.env`"),
        "{stderr}"
    );
    let yaml = m.read_file(EXPORTED);
    m.write_file(
        "/root/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-env\nstringData:\n  SECRET_TOKEN: s3cr3t value\n",
    );
    m.run_ok(["podman", "kube", "play", "/root/secret.yaml"]);
    m.run_ok(["podman", "kube", "play", EXPORTED]);

    for name in ["web", "api"] {
        let container = format!("{name}-pod-{name}");
        wait_healthy(&m, &container, START);
        readiness_passes(&m, &yaml, name, &container);
    }
    let state = m.run_ok([
        "podman",
        "inspect",
        "--format",
        "{{.State.Status}}",
        "worker-pod-worker",
    ]);
    assert_eq!(state.trim(), "running");

    // The names they used under quadgen still resolve, and reach the same servers.
    assert_eq!(
        m.run_ok([
            "podman",
            "exec",
            "api-pod-api",
            "wget",
            "-q",
            "-O",
            "-",
            "http://web:8080/"
        ]),
        "v1\n"
    );
    assert_eq!(
        m.run_ok([
            "podman",
            "exec",
            "worker-pod-worker",
            "wget",
            "-q",
            "-O",
            "-",
            "http://api:8081/"
        ]),
        "v1\n"
    );
    assert_eq!(
        m.run_ok([
            "podman",
            "exec",
            "web-pod-web",
            "cat",
            "/srv/shared/note.txt"
        ]),
        "shared\n"
    );

    let under_kube: Vec<String> = ["web", "api", "worker"]
        .iter()
        .map(|c| runs(&m, &format!("{c}-pod-{c}")))
        .collect();
    for ((name, quadgen), kube) in ["web", "api", "worker"]
        .iter()
        .zip(&under_quadgen)
        .zip(&under_kube)
    {
        assert_eq!(
            kube, quadgen,
            "`{name}` runs differently under kube play (left) and quadgen (right)"
        );
    }
    // Not vacuous: the facts compared hold what the inventory set.
    assert!(
        under_quadgen[0].contains("SECRET_TOKEN=s3cr3t value"),
        "{}",
        under_quadgen[0]
    );
    assert!(under_quadgen[0].contains("GREETING=hello world: it's $HOME"));
    assert!(under_quadgen[0].contains("volume name=data dest=/data rw=true"));
    assert!(under_quadgen[0].contains("bind name= dest=/srv/shared rw=false src=/srv/shared"));
    assert!(under_quadgen[1].contains("user 1000:1000"));
    assert!(under_quadgen[2].contains("entrypoint [\"/bin/sleep\"]\ncmd [\"100000\"]"));
}

/// The shipped example, with its images swapped for local test images (busybox: an HTTP server
/// on every port the example uses, or only 8123 for `homeassistant` on the host's network, and `curl`, `pg_isready` and `kopia` stand-ins that
/// check them) and its one device dropped (the machine has no `/dev/ttyUSB0`, and Kubernetes
/// would not carry it anyway: the export notes it). Everything else is the file as shipped.
fn homelab_for_the_rig(image: &str, host_image: &str) -> String {
    let example = include_str!("../examples/homelab.toml");
    let mut out = String::new();
    let mut section = "";
    for line in example.lines() {
        if line.starts_with('[') {
            section = line;
        }
        if line.starts_with("image = ") {
            // On the host's network only its own port may be served.
            let image = if section == "[containers.homeassistant]" {
                host_image
            } else {
                image
            };
            out.push_str(&format!("image = \"{image}\"\n"));
        } else if line.starts_with("devices = ") {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

const HOMELAB_PORTS: &str = "5800 51515 3000 80 5432 8000";

/// Builds and pushes `tag`, serving `ports` (the busybox base is built first).
fn build_homelab_image(m: &Machine, tag: &str, ports: &str) {
    let base = format!("{REGISTRY}/web:latest");
    m.build_image(
        &base,
        &[("www/index.html", "v1\n"), ("www/healthz", "ok\n")],
    );
    let ctx = "/root/homelab-image";
    m.write_file(
        &format!("{ctx}/serve"),
        format!(
            "#!/bin/sh\n# Serves /www on the ports of the homelab example.\n# PID 1 ignores SIGTERM without a handler: stop at once.\ntrap 'exit 0' TERM\nfor p in {ports}; do httpd -f -p \"$p\" -h /www & done\nwhile :; do sleep 1; done\n"
        ),
    );
    m.write_file(
        &format!("{ctx}/curl"),
        "#!/bin/sh\nfor a; do url=$a; done\nexec wget -q -O /dev/null \"$url\"\n",
    );
    m.write_file(
        &format!("{ctx}/pg_isready"),
        "#!/bin/sh\nexec wget -q -O /dev/null http://127.0.0.1:5432/\n",
    );
    m.write_file(
        &format!("{ctx}/kopia"),
        "#!/bin/sh\nexec wget -q -O /dev/null http://127.0.0.1:51515/\n",
    );
    m.write_file(
        &format!("{ctx}/Containerfile"),
        format!(
            "FROM {base}\nCOPY serve curl pg_isready kopia /usr/local/bin/\nRUN [\"/bin/chmod\", \"755\", \"/usr/local/bin/serve\", \"/usr/local/bin/curl\", \"/usr/local/bin/pg_isready\", \"/usr/local/bin/kopia\"]\nENTRYPOINT [\"/usr/local/bin/serve\"]\nCMD []\n"
        ),
    );
    m.run_ok([
        "podman",
        "build",
        "--quiet",
        "--network=none",
        "--tag",
        tag,
        ctx,
    ]);
    m.push_image(tag);
}

/// Runs each container's health check now, until it passes (podman's own schedule for the
/// example's 30 s to 1 min intervals would make this test slow, not more true).
fn health_passes(m: &Machine, container: &str) {
    let start = Instant::now();
    loop {
        let out = m.run(["podman", "healthcheck", "run", container]);
        if out.status.success() {
            return;
        }
        assert!(
            start.elapsed() < START,
            "{container}: health check still fails: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_exported_homelab_example_plays_like_its_units() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/homelab:latest");
    let host_image = format!("{REGISTRY}/homelab-host:latest");
    build_homelab_image(&m, &image, HOMELAB_PORTS);
    build_homelab_image(&m, &host_image, "8123");
    for dir in [
        "/var/lib/jdownloader",
        "/mnt/storage/downloads",
        "/var/lib/kopia/config",
        "/var/lib/kopia/cache",
        "/var/lib/netbootxyz/config",
        "/var/lib/netbootxyz/assets",
        "/var/lib/homeassistant",
        "/run/dbus",
        "/mnt/backup",
    ] {
        m.exec_ok(["mkdir", "-p", dir]);
    }
    m.write_file("/run/secrets/kopia.env", "KOPIA_PASSWORD=kp\n");
    m.write_file("/run/secrets/app-db.env", "POSTGRES_PASSWORD=pw\n");
    m.write_file(
        "/etc/systemd/system/mnt-backup.mount",
        "[Mount]\nWhat=tmpfs\nWhere=/mnt/backup\nType=tmpfs\n",
    );
    m.write_file(INVENTORY, homelab_for_the_rig(&image, &host_image));
    let names = [
        "app",
        "postgres",
        "homeassistant",
        "jdownloader",
        "kopia",
        "netbootxyz",
    ];

    // 1. quadgen's own units.
    let (code, out) = {
        let o = m.run(["quadgen", "install", INVENTORY]);
        (
            o.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    assert_eq!(code, Some(0), "{out}");
    for name in names {
        m.wait_active(&format!("{name}.service"), START);
        health_passes(&m, name);
    }
    assert_eq!(
        m.run_ok([
            "podman",
            "exec",
            "app",
            "wget",
            "-q",
            "-O",
            "-",
            "http://postgres:5432/"
        ]),
        "v1\n"
    );
    let under_quadgen: Vec<String> = names.iter().map(|c| runs(&m, c)).collect();
    m.run_ok(["quadgen", "uninstall"]);
    m.run_ok(["podman", "volume", "rm", "pgdata"]);

    // 2. The export, with the Secrets its header asks for, played by podman.
    let out = m.run(["quadgen", "export", "kubernetes", INVENTORY, "-o", EXPORTED]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = m.read_file(EXPORTED);
    m.write_file(
        "/root/secrets.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-db-env\nstringData:\n  POSTGRES_PASSWORD: pw\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: kopia-env\nstringData:\n  KOPIA_PASSWORD: kp\n",
    );
    m.run_ok(["podman", "kube", "play", "/root/secrets.yaml"]);
    m.run_ok(["podman", "kube", "play", EXPORTED]);
    for name in names {
        let container = format!("{name}-pod-{name}");
        health_passes(&m, &container);
        readiness_passes(&m, &yaml, name, &container);
    }
    // `app` still finds its database as `postgres` (through the Service in Kubernetes, the container's
    // name on podman's kube network here).
    assert_eq!(
        m.run_ok([
            "podman",
            "exec",
            "app-pod-app",
            "wget",
            "-q",
            "-O",
            "-",
            "http://postgres:5432/"
        ]),
        "v1\n"
    );
    for (name, quadgen) in names.iter().zip(&under_quadgen) {
        assert_eq!(
            &runs(&m, &format!("{name}-pod-{name}")),
            quadgen,
            "`{name}` runs differently under kube play (left) and quadgen (right)"
        );
    }
    assert!(
        under_quadgen[1].contains("POSTGRES_PASSWORD=pw"),
        "{}",
        under_quadgen[1]
    );
    assert!(
        under_quadgen[4].contains("cmd [\"server\",\"start\""),
        "{}",
        under_quadgen[4]
    );
    assert!(
        under_quadgen[3].contains("bind name= dest=/etc/localtime rw=false src=/etc/localtime"),
        "{}",
        under_quadgen[3]
    );
}
