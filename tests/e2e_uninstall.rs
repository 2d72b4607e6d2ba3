//! The removal safety net and `--no-systemd` on a real systemd 257 + podman 5.4.2 (Debian trixie
//! in systemd-nspawn): an install with `--no-systemd` leaves systemd and podman untouched and the
//! next install starts what it owes; an empty inventory is refused with everything still running;
//! `quadgen uninstall` stops and removes exactly what quadgen installed.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const EMPTY: &str = "/root/empty.toml";
const UNITS: &str = "/etc/containers/systemd";
const START: Duration = Duration::from_secs(90);

fn inventory() -> String {
    let image = format!("{REGISTRY}/web:latest");
    format!(
        r#"[defaults]
stop_timeout = "2s"

[networks.app]
subnet = "10.89.60.0/24"

[containers.web]
image = "{image}"
networks = ["app"]

[containers.api]
image = "{image}"
cmd = ["/bin/httpd", "-f", "-p", "8081", "-h", "/www"]
networks = ["app"]
depends_on = ["web"]
"#
    )
}

/// Runs quadgen with `args`: (exit code, stdout + stderr).
fn quadgen(m: &Machine, args: &[&str]) -> (i32, String) {
    let mut argv = vec!["quadgen"];
    argv.extend_from_slice(args);
    let out = m.run(argv);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn containers(m: &Machine) -> String {
    m.run_ok(["podman", "ps", "-a", "--format", "{{.Names}}"])
}

#[test]
fn no_systemd_then_install_then_an_empty_inventory_is_refused_then_uninstall() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    m.build_image(
        &format!("{REGISTRY}/web:latest"),
        &[("www/index.html", "v1\n")],
    );
    m.push_image(&format!("{REGISTRY}/web:latest"));
    m.write_file(INVENTORY, inventory());
    m.write_file(EMPTY, "# truncated\n");

    // --no-systemd: the files are written, systemd never hears of them, nothing runs.
    let (code, out) = quadgen(&m, &["install", "--no-systemd", INVENTORY]);
    assert_eq!(code, 0, "{out}");
    assert!(m.exists(&format!("{UNITS}/web.container")));
    assert_eq!(
        m.unit_property("web.service", "LoadState"),
        "not-found",
        "no daemon-reload ran"
    );
    assert_eq!(containers(&m).trim(), "", "no container created");

    // The first install with systemd does what was owed.
    let (code, out) = quadgen(&m, &["install", INVENTORY]);
    assert_eq!(code, 0, "{out}");
    m.wait_active("web.service", START);
    m.wait_active("api.service", START);
    let ids = (
        m.invocation_id("web.service"),
        m.invocation_id("api.service"),
    );

    // A truncated inventory: refused, everything still running, untouched.
    let (code, out) = quadgen(&m, &["install", EMPTY]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("refusing to remove 3 of the 3 units"), "{out}");
    assert!(m.is_active("web.service") && m.is_active("api.service"));
    assert_eq!(
        (
            m.invocation_id("web.service"),
            m.invocation_id("api.service")
        ),
        ids,
        "nothing restarted"
    );

    // uninstall: every unit of quadgen's stopped and gone, a file of someone else's kept.
    m.write_file(
        &format!("{UNITS}/mine.container"),
        format!("[Container]\nImage={REGISTRY}/web:latest\n"),
    );
    let (code, out) = quadgen(&m, &["uninstall"]);
    assert_eq!(code, 0, "{out}");
    for unit in ["web.service", "api.service", "app-network.service"] {
        assert_eq!(m.unit_property(unit, "LoadState"), "not-found", "{unit}");
    }
    let left = containers(&m);
    assert!(
        !left.contains("web") && !left.contains("api"),
        "containers gone: {left}"
    );
    let files = m.sh_ok(&format!("ls -A {UNITS}"));
    assert_eq!(
        files.split_whitespace().collect::<Vec<_>>(),
        vec![".quadgen.lock", "mine.container"]
    );
    assert_eq!(
        m.unit_property("mine.service", "LoadState"),
        "loaded",
        "the foreign unit is still there for systemd"
    );
}
