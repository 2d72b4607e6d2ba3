//! `quadgen install` on a real systemd 257 + podman 5.4.2 (Debian trixie in systemd-nspawn):
//! what a user sees after each install: which services run, which were restarted (their
//! `InvocationID` changed) and which were not, removed units gone, hand edits kept, a kill -9
//! mid-install converging on the next run.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const UNITS: &str = "/etc/containers/systemd";
const START: Duration = Duration::from_secs(90);

fn boot() -> Option<Machine> {
    Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen")))
}

/// Three containers from one local image: `web` (health-checked, on network `app`, named volume
/// `data`), `api` (depends on `web`), `worker`. `tag` is written into each container's
/// environment, so changing it changes exactly the named containers.
fn inventory(web: &str, api: &str, worker: Option<&str>, subnet: &str) -> String {
    let image = format!("{REGISTRY}/web:latest");
    let mut s = format!(
        r#"[defaults]
restart = "always"
stop_timeout = "2s"
[defaults.quadlet.Container]
RunInit = "true"

[networks.app]
subnet = "{subnet}"

[volumes.data]

[containers.web]
image = "{image}"
environment = {{ TAG = "{web}" }}
networks = ["app"]
ports = ["127.0.0.1:8080:8080"]
volumes = ["data:/data"]
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "2s", timeout = "2s", retries = 2 }}

[containers.api]
image = "{image}"
cmd = ["/bin/httpd", "-f", "-p", "8081", "-h", "/www"]
environment = {{ TAG = "{api}" }}
networks = ["app"]
depends_on = ["web"]
"#
    );
    if let Some(w) = worker {
        s.push_str(&format!(
            "\n[containers.worker]\nimage = \"{image}\"\ncmd = [\"/bin/sleep\", \"100000\"]\nenvironment = {{ TAG = \"{w}\" }}\n"
        ));
    }
    s
}

/// Runs `quadgen install`, returning (exit code, stdout, stderr).
fn install(m: &Machine, extra: &[&str]) -> (i32, String, String) {
    let mut argv = vec!["quadgen", "install", INVENTORY];
    argv.extend_from_slice(extra);
    let out = m.run(argv);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn install_ok(m: &Machine) -> String {
    let (code, out, err) = install(m, &[]);
    assert_eq!(
        code, 0,
        "quadgen install failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    out + &err
}

fn ids(m: &Machine, units: &[&str]) -> Vec<String> {
    units.iter().map(|u| m.invocation_id(u)).collect()
}

/// How many times systemd has reloaded (PID 1 logs "Reloading finished in N ms." each time).
fn last_reload(m: &Machine) -> String {
    let log = m.exec_ok(["journalctl", "_PID=1", "-o", "cat", "--no-pager"]);
    log.lines()
        .filter(|l| l.starts_with("Reloading finished"))
        .count()
        .to_string()
}

/// web, api and worker are active and run the definition tagged `tag`.
fn assert_all_run(m: &Machine, tag: &str) {
    for (unit, container) in [
        ("web.service", "web"),
        ("api.service", "api"),
        ("worker.service", "worker"),
    ] {
        m.wait_active(unit, START);
        let env = m.container_env(container);
        assert!(
            env.contains(&format!("TAG={tag}")),
            "{container} runs definition {tag}: {env:?}"
        );
    }
}

fn mtimes(m: &Machine) -> String {
    m.sh_ok(&format!(
        "cd {UNITS} && stat -c '%n %Y.%y' *.container *.network *.volume"
    ))
}

fn setup(m: &Machine) {
    m.build_image(
        &format!("{REGISTRY}/web:latest"),
        &[("www/index.html", "v1\n")],
    );
    m.push_image(&format!("{REGISTRY}/web:latest"));
}

#[test]
fn install_touches_exactly_what_changed() {
    let Some(m) = boot() else { return };
    setup(&m);
    let units = ["web.service", "api.service", "worker.service"];

    // First install: everything starts; container DNS works on the quadgen network.
    m.write_file(INVENTORY, inventory("1", "1", Some("1"), "10.89.50.0/24"));
    install_ok(&m);
    for u in units {
        m.wait_active(u, START);
    }
    assert_eq!(m.http_get("http://127.0.0.1:8080/").as_deref(), Ok("v1\n"));
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
        "v1\n",
        "containers resolve each other by name on the quadgen network"
    );
    assert!(
        m.exec(["ip", "link", "show", "qg-app"]).status.success(),
        "bridge is named qg-app"
    );

    // Nothing changed: no write, no reload, no restart.
    let before = (ids(&m, &units), mtimes(&m), last_reload(&m));
    let out = install_ok(&m);
    assert_eq!(
        (ids(&m, &units), mtimes(&m), last_reload(&m)),
        before,
        "a no-op install did something:\n{out}"
    );

    // One container changed: only it restarts.
    m.write_file(INVENTORY, inventory("1", "1", Some("2"), "10.89.50.0/24"));
    let before_ids = ids(&m, &units);
    let reload = last_reload(&m);
    install_ok(&m);
    m.wait_active("worker.service", START);
    let after = ids(&m, &units);
    assert_eq!(
        &after[..2],
        &before_ids[..2],
        "web and api were not touched"
    );
    assert_ne!(after[2], before_ids[2], "worker restarted");
    assert_eq!(
        last_reload(&m).parse::<u32>().expect("count"),
        reload.parse::<u32>().expect("count") + 1,
        "exactly one daemon-reload"
    );
    assert!(
        m.container_env("worker").contains(&"TAG=2".to_string()),
        "the new definition runs"
    );

    // A dependency changed: systemd restarts its dependant (Requires=), quadgen only restarts web.
    m.write_file(INVENTORY, inventory("2", "1", Some("2"), "10.89.50.0/24"));
    let before_ids = ids(&m, &units);
    install_ok(&m);
    m.wait_active("web.service", START);
    m.wait_active("api.service", START);
    let after = ids(&m, &units);
    assert_ne!(after[0], before_ids[0], "web restarted");
    assert_ne!(
        after[1], before_ids[1],
        "api restarted with the web it requires"
    );
    assert_eq!(after[2], before_ids[2], "worker untouched");

    // A container left the inventory: stopped, its unit and container gone.
    m.write_file(INVENTORY, inventory("2", "1", None, "10.89.50.0/24"));
    install_ok(&m);
    assert_eq!(m.unit_property("worker.service", "LoadState"), "not-found");
    assert!(!m.exists(&format!("{UNITS}/worker.container")));
    assert!(
        !m.run_ok(["podman", "ps", "-a", "--format", "{{.Names}}"])
            .contains("worker")
    );
    assert!(m.is_active("web.service") && m.is_active("api.service"));
}

#[test]
fn hand_edits_are_refused_then_kept_as_backup_and_deleted_files_restored() {
    let Some(m) = boot() else { return };
    setup(&m);
    m.write_file(INVENTORY, inventory("1", "1", None, "10.89.51.0/24"));
    install_ok(&m);
    m.wait_active("api.service", START);

    // Someone edits web.container by hand, and the inventory changes api.
    let web = format!("{UNITS}/web.container");
    let edited = m.read_file(&web).replace("StopTimeout=2", "StopTimeout=7");
    m.write_file(&web, &edited);
    m.write_file(INVENTORY, inventory("1", "2", None, "10.89.51.0/24"));
    let api_id = m.invocation_id("api.service");
    let (code, out, err) = install(&m, &[]);
    assert_eq!(code, 3, "install refuses\n{out}{err}");
    assert!(
        (out.clone() + &err).contains("StopTimeout=7"),
        "shows the edit's diff:\n{out}{err}"
    );
    assert!(
        (out.clone() + &err)
            .contains("[containers.web.quadlet.Container]\n    StopTimeout = \"7\""),
        "offers the edit as inventory keys:\n{out}{err}"
    );
    assert_eq!(m.read_file(&web), edited, "the edit survives");
    assert_eq!(
        m.invocation_id("api.service"),
        api_id,
        "nothing else was done"
    );
    let status = m.run(["quadgen", "status", INVENTORY]);
    assert_eq!(status.status.code(), Some(5), "{status:?}");
    let (status, err) = (
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr),
    );
    assert!(status.contains("web.container: edited by hand"), "{status}");
    // (after the inventory's own warnings)
    assert!(
        err.ends_with("\nnot as installed: web.container: edited by hand\n"),
        "{err}"
    );

    // --force takes ours and keeps the edit beside it.
    let (code, out, err) = install(&m, &["--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_ne!(m.read_file(&web), edited);
    let backups = m.sh_ok(&format!("ls {UNITS} | grep quadgen-edit"));
    let backup = backups.lines().next().expect("a backup file");
    assert_eq!(
        m.read_file(&format!("{UNITS}/{backup}")),
        edited,
        "the edit is kept"
    );
    m.wait_active("api.service", START);
    assert!(m.container_env("api").contains(&"TAG=2".to_string()));

    // A unit file deleted by hand: status reports it, install restores and starts it.
    m.remove(&format!("{UNITS}/api.container"));
    let status = m.run(["quadgen", "status", INVENTORY]);
    assert_eq!(status.status.code(), Some(5), "{status:?}");
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("api.container: missing"), "{status}");
    install_ok(&m);
    assert!(m.exists(&format!("{UNITS}/api.container")));
    m.wait_active("api.service", START);
}

#[test]
fn a_changed_network_is_recreated() {
    let Some(m) = boot() else { return };
    setup(&m);
    // `edge` is on no network but depends on `api`, which is on `app`; `worker` needs nothing.
    let with_edge = |subnet: &str| {
        inventory("1", "1", Some("1"), subnet)
            + &format!(
                "\n[containers.edge]\nimage = \"{REGISTRY}/web:latest\"\ncmd = [\"/bin/sleep\", \"100000\"]\ndepends_on = [\"api\"]\n"
            )
    };
    m.write_file(INVENTORY, with_edge("10.89.52.0/24"));
    install_ok(&m);
    for u in [
        "web.service",
        "api.service",
        "worker.service",
        "edge.service",
    ] {
        m.wait_active(u, START);
    }
    let worker = m.invocation_id("worker.service");
    m.write_file(INVENTORY, with_edge("10.89.53.0/24"));
    let out = install_ok(&m);
    for u in ["web.service", "api.service", "edge.service"] {
        m.wait_active(u, START);
    }
    let subnet = m.run_ok([
        "podman",
        "network",
        "inspect",
        "--format",
        "{{range .Subnets}}{{.Subnet}}{{end}}",
        "app",
    ]);
    assert_eq!(
        subnet.trim(),
        "10.89.53.0/24",
        "podman network recreated\n{out}"
    );
    assert_eq!(m.http_get("http://127.0.0.1:8080/").as_deref(), Ok("v1\n"));
    assert_eq!(
        m.invocation_id("worker.service"),
        worker,
        "a container off the network is left alone"
    );
    // Nothing left behind for a later install to find.
    let again = install_ok(&m);
    assert!(again.contains("nothing to do"), "{again}");
}

#[test]
fn kill_9_mid_install_converges_and_installs_never_interleave() {
    let Some(m) = boot() else { return };
    setup(&m);
    m.write_file(INVENTORY, inventory("0", "0", Some("0"), "10.89.54.0/24"));
    install_ok(&m);
    // Kill installs at different points; each time the inventory moves on.
    for (round, delay) in ["0.02", "0.05", "0.1", "0.2", "0.4"].iter().enumerate() {
        let tag = (round + 1).to_string();
        m.write_file(
            INVENTORY,
            inventory(&tag, &tag, Some(&tag), "10.89.54.0/24"),
        );
        m.run([
            "timeout",
            "--signal=KILL",
            delay,
            "quadgen",
            "install",
            INVENTORY,
        ]);
    }
    install_ok(&m);
    let status = m.run_ok(["quadgen", "status", "--json", INVENTORY]);
    let json: serde_json::Value = serde_json::from_str(&status).expect("status json");
    let files = json["files"].as_array().expect("files");
    assert!(
        files.iter().all(|f| f["state"] == "ok"),
        "all files as the inventory says: {status}"
    );
    assert_eq!(json["owed"], false, "{status}");
    assert_all_run(&m, "5");
    assert!(
        m.sh_ok(&format!("ls -a {UNITS}"))
            .lines()
            .all(|l| !l.starts_with(".quadgen-tmp-")),
        "no temp file left"
    );

    // Two installs at once: the second waits for the first, both succeed, the result is whole.
    m.write_file(INVENTORY, inventory("6", "6", Some("6"), "10.89.54.0/24"));
    let both = m.sh(&format!(
        "quadgen install {INVENTORY} & quadgen install {INVENTORY}; a=$?; wait $!; b=$?; echo $a $b"
    ));
    let stdout = String::from_utf8_lossy(&both.stdout);
    assert_eq!(
        stdout.lines().last(),
        Some("0 0"),
        "{stdout}{}",
        String::from_utf8_lossy(&both.stderr)
    );
    assert_all_run(&m, "6");
}

#[test]
fn a_unit_that_fails_to_start_is_named_with_exit_4_and_still_recorded() {
    let Some(m) = boot() else { return };
    setup(&m);
    let mut inv = inventory("1", "1", None, "10.89.55.0/24");
    inv.push_str(&format!(
        "\n[containers.broken]\nimage = \"{REGISTRY}/does-not-exist:latest\"\nauto_update = \"none\"\nrestart = \"no\"\n"
    ));
    m.write_file(INVENTORY, &inv);
    let (code, out, err) = install(&m, &[]);
    assert_eq!(code, 4, "exit 4 when a unit fails to start\n{out}{err}");
    let all = out + &err;
    assert!(
        all.contains("broken.service"),
        "names the failed unit:\n{all}"
    );
    assert!(
        all.contains("journalctl -u broken.service"),
        "with a journal hint:\n{all}"
    );
    m.wait_active("web.service", START);
    m.wait_active("api.service", START);
    // The manifest still records what was installed: nothing left to do but the broken start,
    // which status reports with exit 5 (`restart = "no"` keeps the unit `failed`, not retrying).
    let status = m.run(["quadgen", "status", "--json", INVENTORY]);
    assert_eq!(status.status.code(), Some(5), "{status:?}");
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(
        err.contains("\nnot as installed: broken.service: down, failed/failed"),
        "{err}"
    );
    let status = String::from_utf8_lossy(&status.stdout);
    let json: serde_json::Value = serde_json::from_str(&status).expect("status json");
    assert!(
        json["files"]
            .as_array()
            .expect("files")
            .iter()
            .all(|f| f["state"] == "ok"),
        "{status}"
    );
}
