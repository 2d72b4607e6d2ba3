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

#[path = "support/nspawn.rs"]
mod nspawn;

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
