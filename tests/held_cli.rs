//! `quadgen edit`, `hold`, `release`, `generations` and `rollback` as a user runs them, with the
//! fake systemctl and podman of tests/support/fake-systemd first on PATH: they record every call
//! that changes something, so each test asserts exactly which units were reloaded, restarted,
//! started or stopped. The editor is a `sed -i` script in `EDITOR`, run the way a user's is.
//! The same flows on a real systemd + podman: tests/e2e_held.rs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn inventory(web: &str, api: &str, worker: bool) -> String {
    let mut text = format!(
        "[containers.web]\nimage = \"docker.io/library/nginx:{web}\"\n\n[containers.api]\nimage = \"docker.io/library/httpd:{api}\"\n"
    );
    if worker {
        text.push_str("\n[containers.worker]\nimage = \"docker.io/library/busybox:1\"\n");
    }
    text
}

/// A scratch directory: `inventory.toml`, the unit root `units/`, the fake's log.
struct Host(tempfile::TempDir);

impl Host {
    fn new() -> Host {
        Host(tempfile::tempdir().expect("tempdir"))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn root(&self) -> PathBuf {
        self.path().join("units")
    }

    fn log(&self) -> PathBuf {
        self.path().join("systemctl.log")
    }

    fn write_inventory(&self, text: &str) {
        std::fs::write(self.path().join("inventory.toml"), text).expect("write inventory");
    }

    fn unit(&self, name: &str) -> String {
        std::fs::read_to_string(self.root().join(name)).expect("unit file")
    }

    /// Runs quadgen with `args` and `--root units` (after the subcommand), `EDITOR` set to
    /// `editor`: (exit code, stdout, stderr).
    fn run_with(&self, editor: &str, args: &[&str]) -> (i32, String, String) {
        let fakes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-systemd");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![fakes];
        paths.extend(std::env::split_paths(&path));
        let out = Command::cargo_bin("quadgen")
            .expect("binary")
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("QUADGEN_FAKE_LOG", self.log())
            .env("EDITOR", editor)
            .env_remove("VISUAL")
            .args(args)
            .args(["--root", "units"])
            .output()
            .expect("run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_with("false", args)
    }

    /// The systemctl and podman calls that changed something since the last look.
    fn take_calls(&self) -> Vec<String> {
        let calls = std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let _ = std::fs::remove_file(self.log());
        calls
    }

    fn install(&self) -> (i32, String, String) {
        self.run(&["install", "inventory.toml"])
    }
}

/// The editor of the tests: adds `Environment=DEBUG=1` under `[Container]`.
const ADD_DEBUG: &str = "sed -i -e '/^\\[Container\\]/a Environment=DEBUG=1'";
const ADD_OTHER: &str = "sed -i -e '/^\\[Container\\]/a Environment=OTHER=1'";

#[test]
fn edit_holds_the_unit_installs_leave_it_and_release_puts_the_inventory_back() {
    let h = Host::new();
    h.write_inventory(&inventory("1", "1", false));
    let (code, _, err) = h.install();
    assert_eq!(code, 0, "{err}");
    h.take_calls();

    // edit: written, one reload, the unit restarted, held.
    let (code, out, err) = h.run_with(ADD_DEBUG, &["edit", "web"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        h.unit("web.container")
            .contains("[Container]\nEnvironment=DEBUG=1\n")
    );
    assert_eq!(
        h.take_calls(),
        ["systemctl daemon-reload", "systemctl restart web.service"]
    );
    assert!(err.contains("`web.container` is held"), "{err}");

    // An editor that changes nothing: nothing written, nothing run. One that fails: the same.
    let before = h.unit("web.container");
    for editor in ["true", "false"] {
        let (code, _, err) = h.run_with(editor, &["edit", "web.service"]);
        assert_eq!(code, if editor == "true" { 0 } else { 1 }, "{err}");
        assert_eq!(h.unit("web.container"), before);
        assert!(h.take_calls().is_empty(), "{editor}");
    }

    // A changed inventory: web is held (left alone, shown with its diff), api is changed.
    h.write_inventory(&inventory("2", "2", false));
    let (code, out, err) = h.install();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("= held web.container (held; differs from the inventory's version)"),
        "{out}"
    );
    assert!(out.contains("-Environment=DEBUG=1"), "{out}");
    assert!(out.contains("+Image=docker.io/library/nginx:2"), "{out}");
    assert_eq!(
        h.take_calls(),
        ["systemctl daemon-reload", "systemctl restart api.service"]
    );
    assert_eq!(
        h.unit("web.container"),
        before,
        "the held file is untouched"
    );
    let (code, out, _) = h.run(&["plan", "inventory.toml"]);
    assert_eq!(code, 0);
    assert!(out.contains("= held web.container"), "{out}");

    // status: held, with the diff to the recorded inventory, exit 5.
    let (code, out, err) = h.run(&["status"]);
    assert_eq!(code, 5, "{out}{err}");
    assert!(
        out.contains("web.container: held by `quadgen edit`"),
        "{out}"
    );
    assert!(out.contains("+Image=docker.io/library/nginx:2"), "{out}");
    assert!(
        err.contains("not as installed: web.container: held"),
        "{err}"
    );

    // release: the diff, the keys that keep the edit, written (edit kept), reloaded, restarted.
    let (code, out, err) = h.run(&["release", "web"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("[containers.web.quadlet.Container]\nEnvironment = \"DEBUG=1\""),
        "{out}"
    );
    assert!(
        err.contains("kept the hand edit of `web.container`"),
        "{err}"
    );
    assert_eq!(
        h.take_calls(),
        ["systemctl daemon-reload", "systemctl restart web.service"]
    );
    assert!(
        h.unit("web.container")
            .contains("Image=docker.io/library/nginx:2")
    );
    assert!(!h.unit("web.container").contains("DEBUG"));
    let (code, out, err) = h.run(&["status"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = h.run(&["release", "web"]);
    assert_eq!(code, 1);
    assert!(err.contains("`web.container` is not held"), "{err}");
}

#[test]
fn a_plain_hand_edit_is_still_refused_and_hold_keeps_it() {
    let h = Host::new();
    h.write_inventory(&inventory("1", "1", false));
    assert_eq!(h.install().0, 0);
    let path = h.root().join("api.container");
    let edited = h.unit("api.container").replace("httpd:1", "httpd:debug");
    std::fs::write(&path, &edited).expect("hand edit");
    h.write_inventory(&inventory("1", "2", false));
    h.take_calls();
    let (code, _, err) = h.install();
    assert_eq!(code, 3, "{err}");
    assert!(h.take_calls().is_empty());

    let (code, _, err) = h.run(&["hold", "api"]);
    assert_eq!(code, 0, "{err}");
    assert!(h.take_calls().is_empty(), "hold runs nothing");
    let (code, out, err) = h.install();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), edited);
    let (code, _, err) = h.run(&["hold", "api"]);
    assert_eq!(code, 0);
    assert!(err.contains("already held"), "{err}");
}

#[test]
fn unknown_names_and_missing_generations_are_clear_errors() {
    let h = Host::new();
    h.write_inventory(&inventory("1", "1", false));
    let (code, _, err) = h.run(&["rollback"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no generation before the current one; there are none yet"),
        "{err}"
    );
    assert_eq!(h.install().0, 0);
    h.take_calls();
    for args in [&["edit", "wbe"][..], &["hold", "wbe"], &["release", "wbe"]] {
        let (code, _, err) = h.run_with(ADD_DEBUG, args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.contains("error: `wbe` is not a unit quadgen manages here (did you mean `web`?)"),
            "{args:?}: {err}"
        );
    }
    let (code, _, err) = h.run(&["rollback", "9"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error: no generation 9; there are: 1 (`quadgen generations` lists them)"),
        "{err}"
    );
    let (code, _, err) = h.run(&["rollback"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no generation before the current one; there are: 1"),
        "{err}"
    );
    assert!(h.take_calls().is_empty());
    // A generation written by someone else is refused, not read as paths.
    let g = h.root().join(".quadgen-generations/1.json");
    let text = std::fs::read_to_string(&g).expect("generation 1");
    std::fs::write(
        &g,
        text.replace("\"web.container\"", "\"../../etc/x.container\""),
    )
    .expect("write");
    let (code, _, err) = h.run(&["generations"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a generation quadgen wrote"), "{err}");
}

#[test]
fn rollback_across_three_generations_restarts_exactly_what_differs() {
    let h = Host::new();
    for (web, api, worker) in [("1", "1", false), ("2", "1", false), ("2", "2", true)] {
        h.write_inventory(&inventory(web, api, worker));
        let (code, _, err) = h.install();
        assert_eq!(code, 0, "{err}");
    }
    h.take_calls();
    let (code, out, _) = h.run(&["generations"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert!(lines[0].starts_with("   1  20"), "{out}");
    assert_eq!(lines[1], "      changed: api.container, web.container");
    assert_eq!(lines[3], "      changed: web.container");
    assert!(lines[4].ends_with("inventory.toml  (current)"), "{out}");
    assert_eq!(lines[5], "      changed: api.container, worker.container");

    // Back to 2 (the one before the current): worker leaves, api goes back; web stays.
    let (code, out, err) = h.run(&["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("rolling back to generation 2"), "{err}");
    assert!(err.contains("recorded as generation 4"), "{err}");
    assert_eq!(
        h.take_calls(),
        [
            "systemctl stop worker.service",
            "systemctl daemon-reload",
            "systemctl restart api.service"
        ]
    );
    assert!(h.unit("api.container").contains("httpd:1"));
    assert!(!h.root().join("worker.container").exists());

    // Back to 1: only web differs. Keeping 3 generations prunes 1 and 2 afterwards.
    let (code, out, err) = h.run(&["rollback", "1", "--keep-generations", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        h.take_calls(),
        ["systemctl daemon-reload", "systemctl restart web.service"]
    );
    let (_, out, _) = h.run(&["generations", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let numbers: Vec<u64> = v
        .as_array()
        .expect("list")
        .iter()
        .map(|g| g["generation"].as_u64().expect("number"))
        .collect();
    assert_eq!(numbers, [3, 4, 5]);
    assert_eq!(v[2]["current"], true);
    // Nothing differs from the current generation: nothing runs, nothing recorded.
    let (code, _, err) = h.run(&["rollback", "5"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("up to date"), "{err}");
    assert!(h.take_calls().is_empty());
    // status does not count the generations directory as a foreign file.
    let (code, out, _) = h.run(&["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("unmanaged"), "{out}");
}

#[test]
fn edit_without_systemd_leaves_the_restart_owed_to_the_next_install() {
    let h = Host::new();
    h.write_inventory(&inventory("1", "1", true));
    assert_eq!(h.install().0, 0);
    h.take_calls();
    let (code, out, err) = h.run_with(ADD_DEBUG, &["edit", "web", "--no-systemd"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(h.take_calls().is_empty(), "no systemctl call");
    // An edit with systemd waits for the owed work (it would restart before it is done)…
    let (code, _, err) = h.run_with(ADD_DEBUG, &["edit", "web"]);
    assert_eq!(code, 1);
    assert!(err.contains("still owes systemd work"), "{err}");
    // …editing and holding go on without systemd (an image root has none): each
    // carries the owed work on; the next install does it, web still held.
    let (code, out, err) = h.run_with(ADD_OTHER, &["edit", "api", "--no-systemd"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = h.run_with(ADD_DEBUG, &["hold", "web", "--no-systemd"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("already held"), "{err}");
    let (code, out, err) = h.run_with(ADD_DEBUG, &["hold", "worker", "--no-systemd"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(
            "the systemd work an earlier install owes (interrupted, or --no-systemd) is still owed"
        ),
        "{err}"
    );
    assert!(h.take_calls().is_empty(), "no systemctl call");
    let (code, out, err) = h.install();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        h.take_calls(),
        [
            "systemctl daemon-reload",
            "systemctl restart api.service web.service"
        ],
        "both edits' restarts, the first carried through the second"
    );
    assert!(h.unit("web.container").contains("Environment=DEBUG=1"));
    assert!(h.unit("api.container").contains("Environment=OTHER=1"));
    assert!(out.contains("= held web.container"), "{out}");
    assert!(out.contains("= held api.container"), "{out}");
}
