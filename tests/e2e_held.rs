//! Debugging by hand-editing, and generations, on a real systemd 257 + podman 5.4.2 (Debian
//! trixie in systemd-nspawn, tests/support/nspawn.rs):
//!
//! * `quadgen edit web` with a scripted `EDITOR` (a `sed -i` that adds an `Environment=`):
//!   quadlet regenerates the service on the reload, the service restarts, and the running
//!   container's main process has the new variable in `/proc/PID/environ`;
//! * a later install of a changed inventory exits 0, leaves the held unit running as it is (same
//!   invocation, same environment) and restarts the other changed unit with its change;
//! * `status` shows the unit held, with the diff, and exits 5;
//! * `release` puts the inventory's version back and restarts it;
//! * `rollback` to the first generation restarts exactly the unit that differs.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const EDITOR: &str = "/root/edit.sh";
const START: Duration = Duration::from_secs(90);

fn inventory(web: &str, api: &str) -> String {
    let image = format!("{REGISTRY}/web:latest");
    format!(
        r#"[defaults]
stop_timeout = "2s"

[containers.web]
image = "{image}"
environment = {{ GREETING = "{web}" }}

[containers.api]
image = "{image}"
cmd = ["/bin/httpd", "-f", "-p", "8081", "-h", "/www"]
environment = {{ GREETING = "{api}" }}
"#
    )
}

/// Runs quadgen with `args` and `EDITOR` set: (exit code, stdout + stderr).
fn quadgen(m: &Machine, args: &[&str]) -> (i32, String) {
    let editor = format!("EDITOR={EDITOR}");
    let mut argv = vec!["env", editor.as_str(), "quadgen"];
    argv.extend_from_slice(args);
    let out = m.run(argv);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The environment of the container's main process, as the kernel has it (not `podman exec`,
/// not podman's own record of what it was asked).
fn process_env(m: &Machine, container: &str) -> Vec<String> {
    let pid = m.run_ok(["podman", "inspect", "--format", "{{.State.Pid}}", container]);
    let pid = pid.trim();
    assert!(pid.parse::<u32>().is_ok_and(|p| p > 0), "pid {pid:?}");
    m.sh_ok(&format!("tr '\\0' '\\n' < /proc/{pid}/environ"))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn has(env: &[String], var: &str) -> bool {
    env.iter().any(|e| e == var)
}

#[test]
fn edit_holds_a_unit_through_installs_until_release_and_rollback_restarts_what_differs() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    m.build_image(
        &format!("{REGISTRY}/web:latest"),
        &[("www/index.html", "v1\n")],
    );
    m.push_image(&format!("{REGISTRY}/web:latest"));
    m.write_file(
        EDITOR,
        "#!/bin/sh\nsed -i -e '/^\\[Container\\]/a Environment=DEBUG=held' \"$1\"\n",
    );
    m.run_ok(["chmod", "755", EDITOR]);
    m.write_file(INVENTORY, inventory("one", "one"));
    let (code, out) = quadgen(&m, &["install", INVENTORY]);
    assert_eq!(code, 0, "{out}");
    m.wait_active("web.service", START);
    m.wait_active("api.service", START);

    // edit: the service is regenerated and restarted with the edit.
    let web = m.invocation_id("web.service");
    let (code, out) = quadgen(&m, &["edit", "web"]);
    assert_eq!(code, 0, "{out}");
    m.assert_restarted("web.service", &web);
    let env = process_env(&m, "web");
    assert!(
        has(&env, "DEBUG=held") && has(&env, "GREETING=one"),
        "{env:?}"
    );

    // A changed inventory: exit 0, web left alone (held), api restarted with its change.
    let web = m.invocation_id("web.service");
    let api = m.invocation_id("api.service");
    m.write_file(INVENTORY, inventory("two", "two"));
    let (code, out) = quadgen(&m, &["install", INVENTORY]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("= held web.container"), "{out}");
    assert_eq!(
        m.invocation_id("web.service"),
        web,
        "the held unit was restarted"
    );
    assert!(m.is_active("web.service"));
    let env = process_env(&m, "web");
    assert!(
        has(&env, "DEBUG=held") && has(&env, "GREETING=one"),
        "{env:?}"
    );
    m.assert_restarted("api.service", &api);
    assert!(has(&process_env(&m, "api"), "GREETING=two"));

    // status: held, with the diff, exit 5.
    let (code, out) = quadgen(&m, &["status"]);
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("web.container: held"), "{out}");
    assert!(out.contains("+Environment=GREETING=two"), "{out}");

    // release: the inventory's version, restarted.
    let web = m.invocation_id("web.service");
    let api = m.invocation_id("api.service");
    let (code, out) = quadgen(&m, &["release", "web"]);
    assert_eq!(code, 0, "{out}");
    // The keys that would keep the edit (the whole `Environment=` list the held file has).
    assert!(
        out.contains(
            "[containers.web.quadlet.Container]\nEnvironment = [\"DEBUG=held\", \"GREETING=one\"]"
        ),
        "{out}"
    );
    m.assert_restarted("web.service", &web);
    assert_eq!(m.invocation_id("api.service"), api, "api did not change");
    let env = process_env(&m, "web");
    assert!(
        !has(&env, "DEBUG=held") && has(&env, "GREETING=two"),
        "{env:?}"
    );
    let (code, out) = quadgen(&m, &["status"]);
    assert_eq!(code, 0, "{out}");

    // Generations: 1 (one, one), 2 (two, two: web held), 3 (the release). Rollback to 2 changes
    // nothing that runs; rollback to 1 restarts both, each with its first environment.
    let (code, out) = quadgen(&m, &["generations"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("changed: web.container\n"), "{out}");
    let web = m.invocation_id("web.service");
    let api = m.invocation_id("api.service");
    let (code, out) = quadgen(&m, &["rollback", "1"]);
    assert_eq!(code, 0, "{out}");
    m.assert_restarted("web.service", &web);
    m.assert_restarted("api.service", &api);
    assert!(has(&process_env(&m, "web"), "GREETING=one"));
    assert!(has(&process_env(&m, "api"), "GREETING=one"));
}
