//! One stack of the Compose corpus run two ways on the real systemd 257 + podman 5.4.2 machine,
//! side by side with a peer: first with `podman-compose` (Debian trixie's package), then with
//! `quadgen import compose` + `quadgen install`. What podman runs under each (image, entrypoint,
//! command, environment, mounts, published ports, networks) must be the same; under quadgen the
//! services must also find each other by name over DNS, exactly where Compose lets them (each
//! service only on its own networks), and stay up.
//!
//! The stack is `awesome-compose/nextcloud-redis-mariadb` unchanged (two networks, two named
//! volumes, a command, environment, a published port). The machine has no internet, so its three
//! images are local stand-ins under the very names the compose file uses
//! (`docker.io/library/mariadb:10.5`, …): busybox serving `/www` on the service's own port, with an
//! entrypoint that ignores the arguments (the real images' commands, e.g. mariadb's
//! `--transaction-isolation=READ-COMMITTED`, still reach podman unchanged and are compared).
//!
//! Findings (podman-compose 1.3.0): it names containers `PROJECT_SERVICE_1`, networks
//! `PROJECT_NETWORK` and volumes `PROJECT_VOLUME` (the names quadgen's import gives networks and
//! volumes too, so one run must be taken down before the other starts), passes the image name as
//! written (podman finds the short name in local storage) and runs one pod per project unless
//! `--in-pod=false`, which is what Docker Compose does and is used here.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/host_e2e.rs"]
mod host_e2e;
#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::{Duration, Instant};

use host_e2e::Steps;
use nspawn::Machine;

const STACK: &str = "nextcloud-redis-mariadb";
const SERVICES: [&str; 3] = ["nc", "redis", "db"];
const START: Duration = Duration::from_secs(90);

/// The corpus file, as shipped beside the project (`../shared/corpus`).
fn compose_file() -> String {
    let path = corpus::compose()
        .join("awesome-compose")
        .join(STACK)
        .join("compose.yaml");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the corpus file {}: {e}", path.display()))
}

/// Builds a stand-in for `image`: busybox's httpd serving `/www` on `port`, whatever arguments
/// the container is given.
fn stand_in(m: &Machine, image: &str, port: u16) {
    let base = format!("localhost/qg-stand-in/base-{port}:latest");
    let script = format!("#!/bin/sh\nexec /bin/httpd -f -p {port} -h /www\n");
    let body = format!("{image}\n");
    m.build_image(
        &base,
        &[("stand-in.sh", script.as_str()), ("www/index.html", &body)],
    );
    let ctx = format!("/root/stand-in-{port}");
    m.write_file(
        &format!("{ctx}/Containerfile"),
        format!("FROM {base}\nENTRYPOINT [\"/bin/sh\", \"/stand-in.sh\"]\nCMD []\n"),
    );
    m.run_ok([
        "podman",
        "build",
        "--quiet",
        "--network=none",
        "--tag",
        image,
        &ctx,
    ]);
    m.remove_image(&base);
}

/// What podman runs for one container: one line per fact, sorted where podman's order is not the
/// user's. The image is compared by ID (podman-compose passes the short name as written).
fn runs(m: &Machine, container: &str) -> String {
    let field = |format: &str| {
        m.run_ok(["podman", "inspect", "--format", format, container])
            .trim_end()
            .to_string()
    };
    let sorted = |text: String, skip: &[&str]| {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.is_empty() && !skip.iter().any(|s| l.starts_with(s)))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines.join("\n  ")
    };
    format!(
        "image {}\nentrypoint {}\ncmd {}\nuser {}\nports {}\nenv\n  {}\nmounts\n  {}\nnetworks\n  {}\n",
        field("{{.Image}}"),
        field("{{json .Config.Entrypoint}}"),
        field("{{json .Config.Cmd}}"),
        field("{{.Config.User}}"),
        field("{{json .HostConfig.PortBindings}}"),
        sorted(
            field("{{range .Config.Env}}{{println .}}{{end}}"),
            &["HOSTNAME="]
        ),
        sorted(
            field(
                "{{range .Mounts}}{{.Type}} name={{.Name}} dest={{.Destination}} rw={{.RW}}{{println}}{{end}}"
            ),
            &[]
        ),
        sorted(
            field("{{range $name, $n := .NetworkSettings.Networks}}{{println $name}}{{end}}"),
            &[]
        ),
    )
}

/// The container podman-compose made for `service`.
fn compose_container(m: &Machine, service: &str) -> String {
    let names = m.run_ok([
        "podman",
        "ps",
        "--all",
        "--filter",
        &format!("label=com.docker.compose.service={service}"),
        "--format",
        "{{.Names}}",
    ]);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(
        names.len(),
        1,
        "podman-compose containers of {service}: {names:?}"
    );
    names[0].to_owned()
}

/// `GET http://HOST:PORT/` from inside `container` (busybox wget, all of it within 3 s: a name
/// aardvark-dns knows resolves at once): the body, or why not.
fn get_from(m: &Machine, container: &str, host: &str, port: u16) -> Result<String, String> {
    let url = format!("http://{host}:{port}/");
    let out = m.run([
        "podman", "exec", container, "timeout", "3", "wget", "-q", "-O", "-", &url,
    ]);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Who reaches whom by name: nc reaches redis and db (it is on both networks); redis and db
/// share no network, so redis does not resolve db (a name aardvark-dns does not know goes to the
/// upstream resolvers, which this machine lacks: such a lookup only ends at the timeout, so one
/// direction is checked).
fn assert_reachability(m: &Machine, nc: &str, redis: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = (get_from(m, nc, "redis", 6379), get_from(m, nc, "db", 3306));
        match seen {
            (Ok(r), Ok(d)) => {
                assert_eq!(r, "docker.io/library/redis:alpine\n");
                assert_eq!(d, "docker.io/library/mariadb:10.5\n");
                break;
            }
            other => assert!(
                Instant::now() < deadline,
                "nc does not reach redis and db by name: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let across = get_from(m, redis, "db", 3306);
    assert!(
        across.is_err(),
        "redis reached db across networks: {across:?}"
    );
}

#[test]
fn podman_compose_and_quadgen_run_the_same_containers() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let version = m.run(["podman-compose", "--version"]);
    assert!(
        version.status.success(),
        "podman-compose is missing in the e2e root: run `bash tests/provision.sh e2e-root`\n{}",
        String::from_utf8_lossy(&version.stderr)
    );
    let mut steps = Steps::new("compose side by side");
    stand_in(&m, "docker.io/library/nextcloud:apache", 80);
    stand_in(&m, "docker.io/library/redis:alpine", 6379);
    stand_in(&m, "docker.io/library/mariadb:10.5", 3306);
    steps.step("three stand-in images");
    let dir = format!("/root/{STACK}");
    let file = format!("{dir}/compose.yaml");
    m.write_file(&file, compose_file());

    // 1. The peer: podman-compose, as its users run it.
    m.run_ok(["podman-compose", "--in-pod=false", "-f", &file, "up", "-d"]);
    let peer: Vec<String> = SERVICES.iter().map(|s| compose_container(&m, s)).collect();
    for c in &peer {
        let state = m.run_ok(["podman", "inspect", "--format", "{{.State.Status}}", c]);
        assert_eq!(state.trim(), "running", "{c} under podman-compose");
    }
    assert_reachability(&m, &peer[0], &peer[1]);
    let under_compose: Vec<String> = peer.iter().map(|c| runs(&m, c)).collect();
    for (service, facts) in SERVICES.iter().zip(&under_compose) {
        eprintln!("--- {service} under podman-compose\n{facts}");
    }
    steps.step("podman-compose up, checked, down");
    m.run_ok(["podman-compose", "-f", &file, "down", "--volumes"]);
    for net in ["redisnet", "dbnet"] {
        // podman-compose leaves its networks behind: they have the names quadgen will create.
        m.run(["podman", "network", "rm", &format!("{STACK}_{net}")]);
    }
    let left = m.run_ok(["podman", "ps", "--all", "--format", "{{.Names}}"]);
    assert_eq!(left.trim(), "", "podman-compose down left containers");

    // 2. quadgen: import the same file, install, and compare.
    let inventory = "/root/inventory.toml";
    m.run_ok(["quadgen", "import", "compose", &file, "-o", inventory]);
    m.run_ok(["quadgen", "install", inventory]);
    for s in SERVICES {
        m.wait_active(&format!("{s}.service"), START);
    }
    steps.step("quadgen import + install, all active");
    assert_reachability(&m, "nc", "redis");
    for (service, compose) in SERVICES.iter().zip(&under_compose) {
        assert_eq!(
            &runs(&m, service),
            compose,
            "`{service}` runs differently under quadgen (left) than under podman-compose (right)"
        );
    }
    // Still up a little later: nothing restarting in a loop.
    let ids: Vec<String> = SERVICES
        .iter()
        .map(|s| m.invocation_id(&format!("{s}.service")))
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    for (s, id) in SERVICES.iter().zip(&ids) {
        let unit = format!("{s}.service");
        assert!(m.is_active(&unit), "{}", m.unit_report(&unit));
        assert_eq!(&m.invocation_id(&unit), id, "{unit} restarted");
    }
    steps.step("compared, still up");
    steps.finish();
}
