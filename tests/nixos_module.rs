//! Host integration: the NixOS module (`contrib/nixos/module.nix`), `flake.nix`, and the systemd
//! units shipped for other hosts (`units/`, `src/host/units.rs`).
//!
//! The module is evaluated for real: nixpkgs' `lib.evalModules`, `assertions.nix`, and NixOS's
//! systemd unit types and unit rendering, from the nixpkgs 22.11 snapshot inside the `nixel`
//! crate (tests/nixos/eval.nix); stand-ins only for option trees the snapshot lacks
//! (tests/nixos/stand-ins). Rendered units go through `systemd-analyze verify`, firewall rules
//! through `nft -c` / `iptables-restore --test`, the build check through a real sandboxed Nix
//! build. Needs `bash tests/provision.sh` (tests/provision/nix.sh); `QUADGEN_SKIP_NIX=1` skips
//! the Nix parts, loudly.

#[path = "support/nix.rs"]
mod nix_support;
#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use nix_support::{
    NixEnv, eval_command, eval_hook, nix, nix_env, repo, require_tool, run, stderr, stdout,
};
use quadgen::host::units;

use serde_json::{Value, json};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

/// One evaluation of tests/nixos/eval.nix, with its own chroot store (`<tmp>/store`).
struct Eval {
    out: Output,
    tmp: TempDir,
}

impl Eval {
    /// Evaluates `case` against the NixOS-unstable-like option set.
    fn new(env: &NixEnv, case: &str, args: &[(&str, &Path)]) -> Eval {
        Eval::on(env, "unstable", case, args)
    }

    /// Evaluates `case` against the option set of `nixos` ("unstable" or "25.05",
    /// tests/nixos/stand-ins/nixos-*.nix).
    fn on(env: &NixEnv, nixos: &str, case: &str, args: &[(&str, &Path)]) -> Eval {
        let tmp = TempDir::new().expect("temp dir");
        let mut cmd = eval_command(env, tmp.path(), "tests/nixos/eval.nix");
        cmd.args(["--arg", "case"])
            .arg(format!("./tests/nixos/cases/{case}.nix"))
            .args(["--argstr", "nixos", nixos]);
        for (name, path) in args {
            cmd.args(["--argstr", name]).arg(path);
        }
        Eval {
            out: run(&mut cmd),
            tmp,
        }
    }

    fn json(&self) -> Value {
        assert!(
            self.out.status.success(),
            "evaluation failed:\n{}",
            stderr(&self.out)
        );
        serde_json::from_slice(&self.out.stdout).expect("JSON from nix-instantiate")
    }

    /// The error lines of a failed evaluation, with Nix's indentation removed.
    fn error(&self) -> Vec<String> {
        assert!(
            !self.out.status.success(),
            "evaluation succeeded:\n{}",
            stdout(&self.out)
        );
        stderr(&self.out)
            .lines()
            .map(|l| l.trim().to_owned())
            .collect()
    }

    fn store(&self) -> PathBuf {
        self.tmp.path().join("store")
    }

    /// Where a `/nix/store/...` path of this evaluation's chroot store really is.
    fn real_path(&self, store_path: &str) -> PathBuf {
        self.store().join(store_path.trim_start_matches('/'))
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v:#}"))
}

fn unit_lines(v: &Value, unit: &str) -> Vec<String> {
    str_at(v, &format!("/units/{unit}/text"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `nix-store --add`: the store path Nix gives a file, computed apart from the module.
fn store_path_of(file: &Path, eval: &Eval) -> String {
    let out = run(nix("nix-store", eval.tmp.path())
        .arg("--store")
        .arg(eval.store())
        .arg("--add")
        .arg(file));
    assert!(out.status.success(), "nix-store --add: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

/// A directory shaped like a package, with `bin/NAME` a copy of `script` (or `/bin/true`).
fn fake_package(dir: &Path, name: &str, script: Option<&Path>) -> PathBuf {
    let bin = dir.join(name).join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::copy(script.unwrap_or(Path::new("/bin/true")), bin.join(name)).expect("copy");
    dir.join(name)
}

fn assert_has_line(lines: &[String], line: &str) {
    assert!(
        lines.iter().any(|l| l == line),
        "no line `{line}` in:\n{}",
        lines.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Positive cases

#[test]
fn file_inventory_enables_dns_firewall_timers_prune_and_hook() {
    let Some(env) = nix_env("file_inventory_enables_dns_firewall_timers_prune_and_hook") else {
        return;
    };
    let eval = Eval::new(
        env,
        "file",
        &[
            ("quadgenPrefix", Path::new("/opt/quadgen")),
            ("podmanPrefix", Path::new("/opt/podman")),
        ],
    );
    let v = eval.json();
    let inventory = store_path_of(&repo().join("tests/nixos/fixtures/inventory.toml"), &eval);
    assert!(inventory.starts_with("/nix/store/") && inventory.ends_with("-inventory.toml"));
    // no rootless users: no user unit of quadgen's
    assert_eq!(
        v["userUnits"].get("quadgen-podman-pause.service"),
        None,
        "{}",
        v["userUnits"]
    );

    assert_eq!(v["podman"], json!({ "enable": true, "dnsEnabled": true }));
    // podman0 is the podman module's own rule (dns_enabled); quadgen adds its bridges.
    assert_eq!(v["firewallUdp"], json!({ "podman0": [53], "qg-+": [53] }));
    assert_eq!(v["firewallBackend"], "iptables");
    assert_eq!(v["firewalldZones"], json!({}));
    assert_eq!(v["warnings"], json!([]));
    assert_eq!(
        v["inventory"],
        json!(inventory),
        "/etc/quadgen/inventory.toml"
    );
    assert_eq!(v["systemPackages"], json!(["quadgen"]));

    // The hook: the exact command line, and what makes a switch re-run it.
    let exec = format!(
        r#""/opt/quadgen/bin/quadgen" "install" "{inventory}" "--root" "/etc/containers/systemd""#
    );
    assert_eq!(str_at(&v, "/install/serviceConfig/ExecStart"), exec);
    let install = unit_lines(&v, "quadgen-install.service");
    // As current NixOS renders restartTriggers: a store file holding the trigger values.
    let triggers = install
        .iter()
        .find_map(|l| l.strip_prefix("X-Restart-Triggers="))
        .expect("X-Restart-Triggers=");
    assert!(
        triggers.starts_with("/nix/store/")
            && triggers.ends_with("-X-Restart-Triggers-quadgen-install"),
        "{triggers}"
    );
    assert_eq!(
        std::fs::read_to_string(eval.real_path(triggers)).expect("triggers file"),
        inventory
    );
    for line in [
        format!("ExecStart={exec}"),
        "Type=oneshot".into(),
        "RemainAfterExit=true".into(),
        "X-StopIfChanged=false".into(),
        "After=network-online.target".into(),
        "Wants=network-online.target".into(),
        "[Install]".into(),
        "WantedBy=multi-user.target".into(),
    ] {
        assert_has_line(&install, &line);
    }
    assert_eq!(
        v["units"]["quadgen-install.service"]["wantedBy"],
        json!(["multi-user.target"])
    );
    assert!(
        str_at(&v, "/install/PATH").starts_with("/opt/podman/bin:"),
        "podman not on the hook's PATH"
    );

    // podman's own auto-update timer, rescheduled by a drop-in.
    assert_eq!(
        unit_lines(&v, "podman-auto-update.timer"),
        [
            "[Unit]",
            "[Timer]",
            "OnCalendar=",
            "OnCalendar=daily",
            "[Install]",
            "WantedBy=timers.target"
        ]
    );
    assert_eq!(
        v["units"]["podman-auto-update.timer"]["wantedBy"],
        json!(["timers.target"])
    );

    // Prune: never volumes, never on a switch.
    let prune = unit_lines(&v, "quadgen-prune.service");
    assert_has_line(
        &prune,
        r#"ExecStart="/opt/podman/bin/podman" "image" "prune" "--force" "--all" "--filter" "until=24h""#,
    );
    assert_has_line(&prune, "X-RestartIfChanged=false");
    assert!(prune.iter().all(|l| !l.contains("volumes\"")), "{prune:?}");
    assert_eq!(v["units"]["quadgen-prune.service"]["wantedBy"], json!([]));
    let timer = unit_lines(&v, "quadgen-prune.timer");
    assert_has_line(&timer, "OnCalendar=weekly");
    assert_has_line(&timer, "Persistent=true");
    assert_eq!(
        v["units"]["quadgen-prune.timer"]["wantedBy"],
        json!(["timers.target"])
    );

    // The build-time check runs `quadgen build` on the same store path, for this host's podman,
    // then that podman's own quadlet over the result.
    let script = str_at(&v, "/checks/0/args/1");
    let lines: Vec<&str> = script.lines().collect();
    assert_eq!(lines.len(), 2, "{script}");
    assert_eq!(
        lines[0],
        format!("/opt/quadgen/bin/quadgen build {inventory} --out \"$out\" --podman 5.4")
    );
    let words: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(words.len(), 4, "{script}");
    assert_eq!(words[0], "/bin/sh");
    assert!(
        words[1].starts_with("/nix/store/") && words[1].ends_with("-quadlet-check.sh"),
        "{script}"
    );
    assert_eq!(
        std::fs::read_to_string(eval.real_path(words[1])).expect("script in the store"),
        std::fs::read_to_string(repo().join("contrib/nixos/quadlet-check.sh")).expect("script")
    );
    assert_eq!(
        words[2..],
        [
            "/opt/podman/lib/systemd/system-generators/podman-system-generator",
            "\"$out\""
        ]
    );
    assert_eq!(v["checks"][0]["name"], "quadgen-inventory-check");
}

#[test]
fn attrs_inventory_uses_nftables_wildcard_custom_root_and_warns_on_shared_names() {
    let Some(env) =
        nix_env("attrs_inventory_uses_nftables_wildcard_custom_root_and_warns_on_shared_names")
    else {
        return;
    };
    let eval = Eval::new(
        env,
        "attrs",
        &[("quadgenPrefix", Path::new("/opt/quadgen"))],
    );
    let v = eval.json();

    assert_eq!(v["firewallUdp"], json!({ "podman0": [53], "qg-*": [53] }));
    assert_eq!(
        v["warnings"],
        json!([
            "`services.quadgen.inventory` and `virtualisation.oci-containers.containers` both \
                define `web`: two units would manage a podman container of the same name and \
                replace each other's"
        ])
    );

    // The attrs reach the rendered file intact (stand-in renderer: JSON; nixpkgs: TOML).
    let inventory = str_at(&v, "/inventory");
    let text = std::fs::read_to_string(eval.real_path(inventory)).expect("rendered inventory");
    let rendered: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        rendered,
        json!({
            "networks": { "app": { "subnet": "10.89.7.0/24" } },
            "containers": {
                "web": {
                    "image": "docker.io/library/nginx:1.27",
                    "networks": ["app"],
                    "health": { "cmd": "curl -fs http://localhost/", "interval": "30s", "retries": 3 },
                },
                "db": { "image": "docker.io/library/postgres:17" },
            },
        })
    );
    assert_eq!(
        str_at(&v, "/install/serviceConfig/ExecStart"),
        format!(r#""/opt/quadgen/bin/quadgen" "install" "{inventory}" "--root" "/srv/quadlets""#)
    );
    assert_eq!(
        unit_lines(&v, "podman-auto-update.timer"),
        [
            "[Unit]",
            "[Timer]",
            "OnCalendar=",
            "OnCalendar=Mon 02:00",
            "[Install]",
            "WantedBy=timers.target"
        ]
    );
    assert!(
        v["units"].get("quadgen-prune.service").is_none(),
        "prune.enable = false"
    );
    assert!(
        v["units"].get("quadgen-prune.timer").is_none(),
        "prune.enable = false"
    );
}

#[test]
fn disabled_module_changes_nothing() {
    let Some(env) = nix_env("disabled_module_changes_nothing") else {
        return;
    };
    let v = Eval::new(env, "disabled", &[]).json();
    assert_eq!(v["podman"], json!({ "enable": false, "dnsEnabled": null }));
    assert_eq!(v["firewallUdp"], json!({}));
    assert_eq!(v["units"], json!({}));
    assert_eq!(v["checks"], json!([]));
    assert_eq!(v["install"], Value::Null);
}

#[test]
fn auto_update_disabled_leaves_podman_timer_alone() {
    let Some(env) = nix_env("auto_update_disabled_leaves_podman_timer_alone") else {
        return;
    };
    let v = Eval::new(env, "no-auto-update", &[]).json();
    let units: Vec<&String> = v["units"].as_object().expect("units").keys().collect();
    assert_eq!(
        units,
        [
            "quadgen-install.service",
            "quadgen-prune.service",
            "quadgen-prune.timer"
        ]
    );
}

#[test]
fn allow_removals_passes_the_flag_only_when_set() {
    let Some(env) = nix_env("allow_removals_passes_the_flag_only_when_set") else {
        return;
    };
    let eval = Eval::new(env, "allow-removals", &[]);
    let v = eval.json();
    let inventory = str_at(&v, "/inventory");
    let exec = str_at(&v, "/install/serviceConfig/ExecStart");
    let (program, args) = exec.split_once(' ').expect("program and arguments");
    assert!(program.ends_with(r#"/bin/quadgen""#), "{exec}");
    assert_eq!(
        args,
        format!(r#""install" "{inventory}" "--root" "/etc/containers/systemd" "--allow-removals""#)
    );
    // Without the option (every other case), install refuses a mass removal.
    let Some(env) = nix_env("allow_removals_passes_the_flag_only_when_set") else {
        return;
    };
    let v = Eval::new(env, "file", &[]).json();
    assert!(
        !str_at(&v, "/install/serviceConfig/ExecStart").contains("--allow-removals"),
        "{v}"
    );
}

#[test]
fn option_docs_have_descriptions_and_package_has_default_text() {
    let Some(env) = nix_env("option_docs_have_descriptions_and_package_has_default_text") else {
        return;
    };
    let v = Eval::new(env, "file", &[]).json();
    let docs = v["docs"].as_array().expect("docs");
    let names: Vec<&str> = docs.iter().map(|d| str_at(d, "/name")).collect();
    assert_eq!(
        names,
        [
            "services.quadgen.allowRemovals",
            "services.quadgen.autoUpdate.enable",
            "services.quadgen.autoUpdate.schedule",
            "services.quadgen.enable",
            "services.quadgen.inventory",
            "services.quadgen.inventoryFile",
            "services.quadgen.package",
            "services.quadgen.prune.enable",
            "services.quadgen.prune.flags",
            "services.quadgen.prune.schedule",
            "services.quadgen.root",
            "services.quadgen.users",
            "services.quadgen.users.<name>.allowRemovals",
            "services.quadgen.users.<name>.inventory",
            "services.quadgen.users.<name>.inventoryFile",
        ]
    );
    for d in docs {
        assert!(str_at(d, "/description").len() > 20, "{d}");
    }
    let package = docs
        .iter()
        .find(|d| d["name"] == "services.quadgen.package")
        .expect("package");
    assert_eq!(
        package["default"],
        json!({ "_type": "literalExpression", "text": "pkgs.quadgen or (pkgs.callPackage ./package.nix { })" })
    );
    let flags = docs
        .iter()
        .find(|d| d["name"] == "services.quadgen.prune.flags")
        .expect("flags");
    assert_eq!(flags["default"], json!(["--all", "--filter", "until=24h"]));
}

/// tests/nixos/hook-command.nix, the entry point for running the hook on a real systemd (e2e).
#[test]
fn hook_command_prints_the_hook_of_the_evaluation() {
    let Some(env) = nix_env("hook_command_prints_the_hook_of_the_evaluation") else {
        return;
    };
    let hook = eval_hook(env, None);
    let exec = format!(
        r#""/usr/local/bin/quadgen" "install" "{}" "--root" "/etc/containers/systemd""#,
        hook.inventory
    );
    assert_eq!(hook.exec_start, exec);
    assert!(
        hook.unit.lines().any(|l| l == format!("ExecStart={exec}")),
        "{}",
        hook.unit
    );
    assert!(hook.unit.contains("\"PATH=/usr/bin:"), "{}", hook.unit);
    assert_eq!(
        hook.inventory_text,
        std::fs::read_to_string(repo().join("tests/nixos/fixtures/inventory.toml"))
            .expect("fixture")
    );
}

// ---------------------------------------------------------------------------------------------
// Negative cases: the exact error a user sees

fn assert_fails_with(case: &str, expected: &[&str]) {
    let Some(env) = nix_env(&format!("evaluation of case `{case}` fails")) else {
        return;
    };
    let lines = Eval::new(env, case, &[]).error();
    for line in expected {
        assert!(
            lines.iter().any(|l| l == line),
            "no line `{line}` in:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn both_inventory_forms_are_refused() {
    assert_fails_with(
        "both-inventories",
        &[
            "Failed assertions:",
            "- set exactly one of `services.quadgen.inventoryFile` and `services.quadgen.inventory`",
        ],
    );
}

#[test]
fn missing_inventory_is_refused() {
    assert_fails_with(
        "no-inventory",
        &["- set exactly one of `services.quadgen.inventoryFile` and `services.quadgen.inventory`"],
    );
}

#[test]
fn inventory_outside_the_store_is_refused() {
    assert_fails_with(
        "inventory-outside-store",
        &[
            "- `services.quadgen.inventoryFile` is `/etc/quadgen/inventory.toml`, outside the Nix \
           store: give a Nix path such as `./inventory.toml` so it is checked at build time and \
           its changes re-run the install",
        ],
    );
}

#[test]
fn prune_volumes_is_refused() {
    assert_fails_with(
        "prune-volumes",
        &[
            "- `services.quadgen.prune.flags` contains `--volumes`: pruning volumes deletes named \
           volumes of stopped containers, i.e. persistent data; remove it",
        ],
    );
}

#[test]
fn podman_autoprune_volumes_is_refused_even_inside_one_flag_string() {
    assert_fails_with(
        "autoprune-volumes",
        &[
            "- `virtualisation.podman.autoPrune.flags` contains `--volumes=true`: pruning volumes \
           deletes named volumes of stopped containers, i.e. persistent data; remove it",
        ],
    );
}

#[test]
fn wrong_option_type_is_reported() {
    assert_fails_with(
        "wrong-type",
        &[
            "error: A definition for option `services.quadgen.autoUpdate.enable' is not of type \
             `boolean'. Definition values:",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Real tools on what the module produces

/// The unit files NixOS would write, checked by systemd-analyze with the binaries present.
#[test]
fn rendered_units_pass_systemd_analyze_verify() {
    let Some(env) = nix_env("rendered_units_pass_systemd_analyze_verify") else {
        return;
    };
    require_tool("systemd-analyze");
    let bins = TempDir::new().expect("temp dir");
    let quadgen = fake_package(bins.path(), "quadgen", None);
    let podman = fake_package(bins.path(), "podman", None);
    let v = Eval::new(
        env,
        "file",
        &[("quadgenPrefix", &quadgen), ("podmanPrefix", &podman)],
    )
    .json();

    let dir = bins.path().join("units");
    std::fs::create_dir_all(dir.join("podman-auto-update.timer.d")).expect("mkdir");
    for base in ["podman-auto-update.timer", "podman-auto-update.service"] {
        let text =
            std::fs::read_to_string(repo().join("tests/nixos/fixtures/podman-units").join(base))
                .expect("podman unit stand-in")
                .replace(
                    "/usr/bin/podman",
                    &format!("{}/bin/podman", podman.display()),
                );
        std::fs::write(dir.join(base), text).expect("write");
    }
    let mut verify = vec![dir.join("podman-auto-update.timer")];
    for (name, unit) in v["units"].as_object().expect("units") {
        let text = unit["text"].as_str().expect("text");
        if name == "podman-auto-update.timer" {
            // NixOS writes settings for a unit a package ships as a drop-in.
            std::fs::write(dir.join("podman-auto-update.timer.d/overrides.conf"), text)
                .expect("write");
        } else {
            std::fs::write(dir.join(name), text).expect("write");
            verify.push(dir.join(name));
        }
    }
    let out = run(Command::new("systemd-analyze").arg("verify").args(&verify));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify {verify:?}:\n{}",
        stderr(&out)
    );
    for (name, unit) in v["units"].as_object().expect("units") {
        assert_calendar_specs_parse(name, unit["text"].as_str().expect("text"));
    }
}

/// Every non-empty `OnCalendar=` of a unit is a valid systemd calendar spec.
fn assert_calendar_specs_parse(unit: &str, text: &str) {
    let specs = text.lines().filter_map(|l| l.strip_prefix("OnCalendar="));
    for spec in specs.filter(|s| !s.is_empty()) {
        let out = run(Command::new("systemd-analyze").args(["calendar", spec]));
        assert!(
            out.status.success(),
            "{unit}: OnCalendar={spec}: {}",
            stderr(&out)
        );
    }
}

/// Every firewall backend NixOS offers: UDP 53 on `podman0` (the podman module's rule), the `qg-`
/// wildcard in the backend's spelling, and a bridge the user named outside it (`br-media`), by name.
/// Under firewalld, NixOS refuses per-interface settings, so the bridges go into a firewalld zone.
#[test]
fn each_firewall_backend_opens_dns_on_every_quadgen_bridge() {
    let Some(env) = nix_env("each_firewall_backend_opens_dns_on_every_quadgen_bridge") else {
        return;
    };
    let ipt = Eval::new(env, "custom-interface", &[]).json();
    assert_eq!(ipt["firewallBackend"], "iptables");
    assert_eq!(
        ipt["firewallUdp"],
        json!({ "podman0": [53], "qg-+": [53], "br-media": [53] })
    );
    assert_eq!(ipt["firewalldZones"], json!({}));

    // networking.firewall.backend set explicitly; a macvlan network has no bridge to open.
    let nft = Eval::new(env, "custom-interface-attrs", &[]).json();
    assert_eq!(nft["firewallBackend"], "nftables");
    assert_eq!(
        nft["firewallUdp"],
        json!({ "podman0": [53], "qg-*": [53], "br-media": [53] })
    );
    assert_eq!(nft["firewalldZones"], json!({}));

    let fwd = Eval::new(env, "firewalld", &[]).json();
    assert_eq!(fwd["firewallBackend"], "firewalld");
    assert_eq!(fwd["firewallUdp"], json!({}), "firewalld refuses these");
    assert_eq!(
        fwd["firewalldZones"],
        json!({ "quadgen": {
            "interfaces": ["qg-+", "br-media", "podman9"],
            "ports": [{ "port": 53, "protocol": "udp" }],
            "target": "%%REJECT%%",
            "short": "quadgen",
            "description": "Podman bridges of services.quadgen: DNS (aardvark-dns) only",
        } })
    );
    assert_eq!(fwd["warnings"], json!([]));
    // The same hook and check as on the other backends.
    assert_eq!(
        str_at(&fwd, "/install/serviceConfig/ExecStart"),
        str_at(&ipt, "/install/serviceConfig/ExecStart")
    );
}

#[test]
fn firewalld_stand_in_refuses_per_interface_settings_like_nixos() {
    assert_fails_with(
        "firewalld-with-interface",
        &[
            "Failed assertions:",
            "- firewalld backend: per-interface networking.firewall.interfaces settings are refused",
        ],
    );
}

/// NixOS 25.05's option set (no networking.firewall.backend, no firewalld module): the module
/// evaluates to the same hook, check and rules, choosing the wildcard from nftables.enable.
#[test]
fn module_evaluates_against_the_25_05_option_set() {
    let Some(env) = nix_env("module_evaluates_against_the_25_05_option_set") else {
        return;
    };
    for (case, rules) in [
        ("file", json!({ "podman0": [53], "qg-+": [53] })),
        ("attrs", json!({ "podman0": [53], "qg-*": [53] })),
        (
            "custom-interface",
            json!({ "podman0": [53], "qg-+": [53], "br-media": [53] }),
        ),
    ] {
        let old = Eval::on(env, "25.05", case, &[]).json();
        let new = Eval::on(env, "unstable", case, &[]).json();
        assert_eq!(old["firewallBackend"], Value::Null, "{case}");
        assert_eq!(old["firewallUdp"], rules, "{case}");
        assert_eq!(new["firewallUdp"], rules, "{case}");
        for key in ["install", "units", "checks", "warnings", "podman"] {
            assert_eq!(old[key], new[key], "{case}: {key}");
        }
    }
    // firewalld does not exist there: setting it is NixOS's own error, not the module's.
    let lines = Eval::on(env, "25.05", "firewalld", &[]).error();
    assert!(
        lines
            .iter()
            .any(|l| l
                == "error: The option `services.firewalld' does not exist. Definition values:"),
        "{lines:?}"
    );
}

/// The module reads a file inventory only when it names an interface: any other syntax error is
/// left to the build check, where the real `quadgen build` reports it with file, line and column.
/// One that must be read fails evaluation with Nix's TOML error pointing at the line.
#[test]
fn broken_inventory_file_is_left_to_quadgen_unless_the_module_must_read_it() {
    let Some(env) =
        nix_env("broken_inventory_file_is_left_to_quadgen_unless_the_module_must_read_it")
    else {
        return;
    };
    let v = Eval::new(env, "broken-syntax", &[]).json();
    assert_eq!(v["firewallUdp"], json!({ "podman0": [53], "qg-+": [53] }));
    let out = run(Command::new(env!("CARGO_BIN_EXE_quadgen"))
        .arg("check")
        .arg(repo().join("tests/nixos/fixtures/broken-syntax.toml")));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("broken-syntax.toml:2:"),
        "{}",
        stderr(&out)
    );

    let lines = Eval::new(env, "broken-syntax-interface", &[]).error();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("error: while parsing a TOML string:")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l == "2 | [networks.app"), "{lines:?}");
}

#[test]
fn podman_dns_turned_off_is_an_assertion_with_the_reason() {
    assert_fails_with(
        "dns-disabled",
        &[
            "Failed assertions:",
            "- `virtualisation.podman.defaultNetwork.settings.dns_enabled` is `false`, but \
             services.quadgen needs it `true`: inventory containers without `networks` run on \
             podman's default network, where only aardvark-dns (started only with dns_enabled) \
             lets them reach each other by container name; remove the setting (quadgen defaults \
             it to `true`) or set it to `true`",
        ],
    );
}

/// The rule each backend's NixOS firewall writes for `interfaces.<if>.allowedUDPPorts = [ 53 ]`
/// (firewall-nftables.nix / firewall-iptables.nix), fed to the real parser of that backend.
#[test]
fn firewall_interface_names_parse_in_their_backend() {
    let Some(env) = nix_env("firewall_interface_names_parse_in_their_backend") else {
        return;
    };
    require_tool("nft");
    let nft = Eval::new(env, "custom-interface-attrs", &[]).json();
    let ipt = Eval::new(env, "custom-interface", &[]).json();

    let nft_ruleset = |ifaces: &Value| {
        let rules: String = ifaces
            .as_object()
            .expect("interfaces")
            .keys()
            .map(|i| format!("    iifname {i} udp dport {{ 53 }} accept\n"))
            .collect();
        format!("table inet quadgen-test {{\n  chain input-allow {{\n{rules}  }}\n}}\n")
    };
    let nft_check = |ruleset: String| {
        let dir = TempDir::new().expect("temp dir");
        let file = dir.path().join("rules.nft");
        std::fs::write(&file, ruleset).expect("write");
        run(Command::new("nft").arg("-c").arg("-f").arg(&file))
    };
    let out = nft_check(nft_ruleset(&nft["firewallUdp"]));
    assert!(
        out.status.success(),
        "nft -c rejects the module's interfaces:\n{}",
        stderr(&out)
    );
    // The iptables spelling would break an nftables firewall: the backend choice matters.
    assert!(!nft_check(nft_ruleset(&ipt["firewallUdp"])).status.success());

    require_tool("iptables-restore");
    let rules: String = ipt["firewallUdp"]
        .as_object()
        .expect("interfaces")
        .keys()
        .map(|i| format!("-A nixos-fw -p udp --dport 53 -j nixos-fw-accept -i {i}\n"))
        .collect();
    let mut child = Command::new("iptables-restore")
        .arg("--test")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("iptables-restore");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            format!("*filter\n:nixos-fw - [0:0]\n:nixos-fw-accept - [0:0]\n{rules}COMMIT\n")
                .as_bytes(),
        )
        .expect("write rules");
    let out = child.wait_with_output().expect("iptables-restore");
    assert!(
        out.status.success(),
        "iptables-restore --test:\n{rules}{}",
        stderr(&out)
    );
}

/// The `usr` tree of a provisioned Debian podman package (trixie's 5.4.2 or sid's newest), shaped
/// like a nixpkgs podman package: `lib/systemd/system-generators/podman-system-generator` is its
/// quadlet. With its version, as `quadlet -version` reports it.
fn debian_podman(suite: &str) -> Option<(PathBuf, String)> {
    let oracle = oracle::oracles().into_iter().find(|o| o.suite == suite)?;
    let usr = oracle
        .bin
        .ancestors()
        .nth(3)
        .expect("usr/libexec/podman/quadlet")
        .to_path_buf();
    assert!(
        usr.join("lib/systemd/system-generators/podman-system-generator")
            .is_file(),
        "no podman-system-generator under {}",
        usr.display()
    );
    Some((usr, oracle.version))
}

/// Builds the module's `system.checks` derivation in a Nix sandbox: `quadgen` and the podman
/// package are host directories (bind-mounted into the sandbox). Returns the evaluation and the
/// output of `nix-store --realise`.
fn realise_check(
    env: &NixEnv,
    case: &str,
    quadgen: &Path,
    podman: &Path,
    version: &str,
) -> (Eval, Value, Output) {
    let sandbox_paths: Vec<String> = ["/bin", "/usr", "/lib", "/lib64"]
        .iter()
        .filter(|p| Path::new(p).exists())
        .map(|p| (*p).to_owned())
        .chain([quadgen.display().to_string(), podman.display().to_string()])
        .collect();
    let eval = Eval::new(
        env,
        case,
        &[
            ("quadgenPrefix", quadgen),
            ("podmanPrefix", podman),
            ("podmanVersion", Path::new(version)),
        ],
    );
    let v = eval.json();
    let drv = str_at(&v, "/checks/0/drvPath").to_owned();
    let out = run(nix("nix-store", eval.tmp.path())
        .arg("--store")
        .arg(eval.store())
        .args(["--option", "extra-sandbox-paths", &sandbox_paths.join(" ")])
        .args(["--realise", &drv]));
    (eval, v, out)
}

/// Builds the module's check derivation in a Nix sandbox with a stand-in `quadgen build`
/// (tests/nixos/fake-quadgen): the build runs it on the inventory's store path and fails when
/// it fails, so a bad inventory fails `nixos-rebuild build`.
#[test]
fn build_check_runs_quadgen_build_and_a_bad_inventory_fails_the_build() {
    let Some(env) = nix_env("build_check_runs_quadgen_build_and_a_bad_inventory_fails_the_build")
    else {
        return;
    };
    let Some((podman, _)) = debian_podman("trixie") else {
        return;
    };
    let bins = TempDir::new().expect("temp dir");
    let quadgen = fake_package(
        bins.path(),
        "quadgen",
        Some(&repo().join("tests/nixos/fake-quadgen")),
    );

    let (good, v, out) = realise_check(env, "file", &quadgen, &podman, "5.4.2");
    assert!(
        out.status.success(),
        "check build failed:\n{}",
        stderr(&out)
    );
    let result = stdout(&out).trim().to_owned();
    let argv = std::fs::read_to_string(good.real_path(&result).join("argv")).expect("argv");
    let inventory = str_at(&v, "/inventory");
    assert_eq!(
        argv,
        format!("build\n{inventory}\n--out\n{result}\n--podman\n5.4\n")
    );

    let (_bad, v, out) = realise_check(env, "invalid-inventory", &quadgen, &podman, "5.4.2");
    assert!(!out.status.success(), "a bad inventory built");
    let inventory = str_at(&v, "/inventory");
    assert!(
        stderr(&out).contains(&format!(
            "error: `{inventory}`: invalid inventory (fake-quadgen)"
        )),
        "{}",
        stderr(&out)
    );
}

/// The whole build check for real, in the Nix sandbox: this repository's `quadgen build`, then
/// the podman package's own quadlet (Debian trixie's 5.4.2) over the result. The podman package
/// here declares version 5.8.6 while its quadlet is 5.4.2, so quadgen (targeting 5.8) accepts
/// `Memory=`, which quadlet 5.4 drops: the build must fail, naming the unit and the key. With sid's
/// quadlet (5.8) the same inventory builds, and so does a plain inventory with trixie's.
#[test]
fn build_check_fails_when_the_hosts_quadlet_would_drop_a_unit() {
    let Some(env) = nix_env("build_check_fails_when_the_hosts_quadlet_would_drop_a_unit") else {
        return;
    };
    let (Some((trixie, trixie_version)), Some((sid, sid_version))) =
        (debian_podman("trixie"), debian_podman("sid"))
    else {
        return;
    };
    let bins = TempDir::new().expect("temp dir");
    let quadgen = fake_package(
        bins.path(),
        "quadgen",
        Some(Path::new(env!("CARGO_BIN_EXE_quadgen"))),
    );

    let (_eval, v, out) = realise_check(env, "memory-key", &quadgen, &trixie, "5.8.6");
    assert!(!out.status.success(), "a unit quadlet 5.4 drops was built");
    assert!(
        str_at(&v, "/checks/0/args/1").contains(" --podman 5.8\n"),
        "{v:#}"
    );
    let err = stderr(&out);
    for line in [
        format!("error: podman {trixie_version}'s quadlet does not accept the units quadgen built:"),
        "  web.container: unsupported key 'Memory' in group 'Container'".to_owned(),
        "  web.container: dropped, quadlet made no web.service from it (systemd would never see it)"
            .to_owned(),
        "  app.network: unsupported key 'InterfaceName' in group 'Network'".to_owned(),
    ] {
        assert!(err.lines().any(|l| l == line), "no line `{line}` in:\n{err}");
    }

    let (eval, _v, out) = realise_check(env, "memory-key", &quadgen, &sid, &sid_version);
    assert!(
        out.status.success(),
        "sid's quadlet {sid_version} rejected Memory=:\n{}",
        stderr(&out)
    );
    let result = eval.real_path(stdout(&out).trim());
    let unit = std::fs::read_to_string(result.join("web.container")).expect("web.container");
    assert!(unit.lines().any(|l| l == "Memory=512m"), "{unit}");

    let (eval, _v, out) = realise_check(env, "file", &quadgen, &trixie, &trixie_version);
    assert!(
        out.status.success(),
        "trixie's quadlet {trixie_version} rejected a clean inventory:\n{}",
        stderr(&out)
    );
    let result = eval.real_path(stdout(&out).trim());
    assert!(result.join("web.container").is_file() && result.join("app.network").is_file());
}

/// contrib/nixos/quadlet-check.sh on its own (outside Nix), with both Debian quadlets, over units
/// this repository's quadgen built: silent and 0 when the quadlet converts every unit; each
/// dropped unit and unknown key named, and 1, when it does not.
#[test]
fn quadlet_check_script_names_dropped_units_and_keys() {
    let (Some((trixie, trixie_version)), Some((sid, _))) =
        (debian_podman("trixie"), debian_podman("sid"))
    else {
        return;
    };
    let tmp = TempDir::new().expect("temp dir");
    let build = |inventory: &str, podman: &str| {
        let out_dir = tmp.path().join(format!("{inventory}-{podman}"));
        let out = run(Command::new(env!("CARGO_BIN_EXE_quadgen"))
            .arg("build")
            .arg(repo().join("tests/nixos/fixtures").join(inventory))
            .arg("--out")
            .arg(&out_dir)
            .args(["--podman", podman]));
        assert!(out.status.success(), "quadgen build: {}", stderr(&out));
        out_dir
    };
    let check = |usr: &Path, dir: &Path| {
        run(Command::new("sh")
            .arg(repo().join("contrib/nixos/quadlet-check.sh"))
            .arg(usr.join("lib/systemd/system-generators/podman-system-generator"))
            .arg(dir))
    };

    let clean = build("custom-interface.toml", "5.4");
    let memory = build("memory-key.toml", "5.8");
    for (usr, dir) in [(&trixie, &clean), (&sid, &clean), (&sid, &memory)] {
        let out = check(usr, dir);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{} on {}: {}",
            usr.display(),
            dir.display(),
            stderr(&out)
        );
    }

    let out = check(&trixie, &memory);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    // Targeting 5.8 also names the bridge with `InterfaceName=` (quadlet 5.6+): both units named.
    let head = format!(
        "error: podman {trixie_version}'s quadlet does not accept the units quadgen built:"
    );
    assert_eq!(
        lines[..6],
        [
            head.as_str(),
            "  app.network: unsupported key 'InterfaceName' in group 'Network'",
            "  web.container: unsupported key 'Memory' in group 'Container'",
            "  web.container: dropped, quadlet made no web.service from it (systemd would never see it)",
            "  app.network: dropped, quadlet made no app-network.service from it (systemd would never see it)",
            "  quadlet -dryrun exited with status 1",
        ],
        "{err}"
    );
}

/// `nix flake check --no-build` against a stub nixpkgs made of the snapshot's real lib/ and
/// nixos/lib/ (tests/nixos/stub-nixpkgs): outputs have the right shape, the VM test's node
/// evaluates with the module (assertions included), and nixosModules.default wires the
/// flake's own package into the hook.
#[test]
fn flake_outputs_are_wired() {
    let Some(env) = nix_env("flake_outputs_are_wired") else {
        return;
    };
    let tmp = TempDir::new().expect("temp dir");
    let stub = tmp.path().join("nixpkgs");
    let src = tmp.path().join("quadgen");
    std::fs::create_dir_all(stub.join("nixos/modules/misc")).expect("mkdir");
    std::fs::create_dir_all(&src).expect("mkdir");
    let copy = |from: &Path, to: &Path| {
        let out = run(Command::new("cp").arg("-rL").arg(from).arg(to));
        assert!(out.status.success(), "cp {from:?}: {}", stderr(&out));
    };
    copy(&env.snapshot.join("lib"), &stub);
    copy(&env.snapshot.join("nixos/lib"), &stub.join("nixos"));
    for f in ["assertions.nix", "extra-arguments.nix"] {
        copy(
            &env.snapshot.join("nixos/modules/misc").join(f),
            &stub.join("nixos/modules/misc"),
        );
    }
    copy(&repo().join("tests/nixos/stand-ins"), &stub);
    copy(&repo().join("tests/nixos/stub-nixpkgs/flake.nix"), &stub);
    for f in [
        "flake.nix",
        "flake.lock",
        "contrib",
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "units",
    ] {
        copy(&repo().join(f), &src);
    }

    let src_ref = format!("path:{}", src.display());
    let flake = |args: &[&str]| {
        let mut cmd = nix("nix", tmp.path());
        cmd.args(args)
            .arg("--store")
            .arg(tmp.path().join("store"))
            .args(["--no-write-lock-file", "--override-input", "nixpkgs"])
            .arg(format!("path:{}", stub.display()));
        let out = run(&mut cmd);
        assert!(out.status.success(), "{cmd:?}:\n{}", stderr(&out));
        out
    };
    flake(&["flake", "check", "--no-build", &src_ref]);
    let attr = |a: &str| format!("{src_ref}#{a}");
    let out = flake(&[
        "eval",
        "--json",
        &attr("packages.x86_64-linux.default.outPath"),
    ]);
    let package: String = serde_json::from_slice(&out.stdout).expect("JSON");
    let out = flake(&["eval", "--json", &attr("checks.x86_64-linux.vm.hooks")]);
    let hooks: Vec<String> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert!(
        hooks[0].starts_with(&format!(
            r#""{package}/bin/quadgen" "install" "/nix/store/"#
        )),
        "{} does not run the flake's package {package}",
        hooks[0]
    );
}

/// flake.lock pins the `nixos-25.05` input flake.nix names (a rev and narHash read from public
/// flake.lock files, see contrib/nixos/README.md; nothing here can fetch nixpkgs to recompute
/// them). Nix accepts it offline as up to date (`--no-update-lock-file`, no fetch), and not once
/// flake.nix asks for another branch: the lock really belongs to this flake.nix.
#[test]
fn flake_lock_pins_the_input_flake_nix_names() {
    let Some(_env) = nix_env("flake_lock_pins_the_input_flake_nix_names") else {
        return;
    };
    let lock: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("flake.lock")).expect("flake.lock"),
    )
    .expect("JSON");
    assert_eq!(lock["version"], 7);
    let nixpkgs = &lock["nodes"]["nixpkgs"];
    assert_eq!(
        nixpkgs["original"],
        json!({ "owner": "NixOS", "ref": "nixos-25.05", "repo": "nixpkgs", "type": "github" })
    );
    let rev = str_at(nixpkgs, "/locked/rev");
    assert!(
        rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()),
        "{rev}"
    );
    assert!(str_at(nixpkgs, "/locked/narHash").starts_with("sha256-"));

    let tmp = TempDir::new().expect("temp dir");
    let metadata = |flake_nix: &str| {
        let src = tmp.path().join(format!("src-{}", flake_nix.len()));
        std::fs::create_dir_all(&src).expect("mkdir");
        std::fs::write(src.join("flake.nix"), flake_nix).expect("write");
        std::fs::copy(repo().join("flake.lock"), src.join("flake.lock")).expect("copy");
        run(nix("nix", tmp.path())
            .args([
                "flake",
                "metadata",
                "--json",
                "--no-update-lock-file",
                "--store",
            ])
            .arg(tmp.path().join("store"))
            .arg(format!("path:{}", src.display())))
    };
    let flake_nix = std::fs::read_to_string(repo().join("flake.nix")).expect("flake.nix");
    let out = metadata(&flake_nix);
    assert!(out.status.success(), "{}", stderr(&out));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(meta["locks"]["nodes"]["nixpkgs"], *nixpkgs);

    let other = flake_nix.replace("nixos-25.05", "nixos-unstable");
    assert_ne!(other, flake_nix);
    // Nix must now re-lock: it reaches for the new branch (unreachable here; with a network it
    // would stop at --no-update-lock-file instead).
    let out = metadata(&other);
    assert!(!out.status.success(), "a stale lock was accepted");
}

#[test]
fn nix_files_parse_and_have_no_dead_code() {
    let Some(env) = nix_env("nix_files_parse_and_have_no_dead_code") else {
        return;
    };
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() && !matches!(name, "target" | ".git") {
                walk(&path, out);
            } else if name.ends_with(".nix") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(repo(), &mut files);
    files.sort();
    for required in [
        "flake.nix",
        "contrib/nixos/module.nix",
        "tests/nixos/eval.nix",
    ] {
        assert!(
            files.contains(&repo().join(required)),
            "{required} not found"
        );
    }
    let tmp = TempDir::new().expect("temp dir");
    for file in &files {
        let out = run(nix("nix-instantiate", tmp.path())
            .args(["--store", "dummy://", "--parse"])
            .arg(file));
        assert!(
            out.status.success(),
            "{} does not parse:\n{}",
            file.display(),
            stderr(&out)
        );
    }
    let out = run(Command::new(&env.deadnix).arg("--fail").args(&files));
    assert!(
        out.status.success(),
        "deadnix:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// Units shipped for hosts without NixOS (src/host/units.rs)

/// Exactly what `quadgen host-units install` writes, verified by systemd-analyze in a root
/// holding this host's systemd units, the binaries the units run, and podman's auto-update units.
#[test]
fn shipped_units_pass_systemd_analyze_verify() {
    require_tool("systemd-analyze");
    let root = TempDir::new().expect("temp dir");
    let r = root.path();
    let lib_units = r.join("usr/lib/systemd");
    std::fs::create_dir_all(&lib_units).expect("mkdir");
    let out = run(Command::new("cp")
        .arg("-a")
        .arg("/usr/lib/systemd/system")
        .arg(&lib_units));
    assert!(out.status.success(), "copy host units: {}", stderr(&out));
    for base in ["podman-auto-update.timer", "podman-auto-update.service"] {
        std::fs::copy(
            repo().join("tests/nixos/fixtures/podman-units").join(base),
            lib_units.join("system").join(base),
        )
        .expect("copy podman unit stand-in");
    }
    // /bin/sh: quadgen-install.service loops in a shell until the inventory holds still.
    for (dir, bin) in [
        ("usr/local/bin", "quadgen"),
        ("usr/bin", "podman"),
        ("bin", "sh"),
    ] {
        std::fs::create_dir_all(r.join(dir)).expect("mkdir");
        std::fs::copy("/bin/true", r.join(dir).join(bin)).expect("copy");
    }

    let dest = r.join("etc/systemd/system");
    let mut verify = Vec::new();
    for (name, text) in units::host_units() {
        let path = dest.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        // A drop-in is verified through the unit it extends.
        let unit = name.split_once(".d/").map_or(name, |(unit, _)| unit);
        let in_root = if unit == name {
            format!("/etc/systemd/system/{name}")
        } else {
            format!("/usr/lib/systemd/system/{unit}")
        };
        verify.push(in_root);
    }
    let out = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", r.display()))
        .args(&verify));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify {verify:?}:\n{}",
        stderr(&out)
    );

    for (name, text) in units::host_units() {
        assert_calendar_specs_parse(name, text);
    }
}

#[test]
fn nixos_autoprune_is_a_warning_because_system_prune_takes_networks() {
    let Some(env) = nix_env("nixos_autoprune_is_a_warning_because_system_prune_takes_networks")
    else {
        return;
    };
    let v = Eval::new(env, "autoprune", &[]).json();
    assert_eq!(
        v["warnings"],
        json!([
            "`virtualisation.podman.autoPrune` runs `podman system prune`, which also removes the \
             networks of stopped quadgen containers while their network service stays active, so \
             those containers cannot start again; `services.quadgen.prune` prunes images only"
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// services.quadgen.users: rootless containers per user

#[test]
fn users_get_a_for_user_install_linger_subids_and_their_auto_update_timer() {
    let Some(env) =
        nix_env("users_get_a_for_user_install_linger_subids_and_their_auto_update_timer")
    else {
        return;
    };
    let eval = Eval::new(
        env,
        "users",
        &[("quadgenPrefix", Path::new("/opt/quadgen"))],
    );
    let v = eval.json();

    // alice: her file, copied into the store; bob: his attrs, rendered; each installed by root
    // for the user, with bob's --allow-removals.
    let alice_inv = store_path_of(&repo().join("tests/nixos/fixtures/inventory.toml"), &eval);
    let alice = unit_lines(&v, "quadgen-install-user-alice.service");
    assert_has_line(
        &alice,
        &format!(
            r#"ExecStart="/opt/quadgen/bin/quadgen" "install" "--for-user" "alice" "{alice_inv}""#
        ),
    );
    assert_has_line(&alice, "Type=oneshot");
    assert_has_line(&alice, "RemainAfterExit=true");
    assert_has_line(&alice, "WantedBy=multi-user.target");
    let bob = unit_lines(&v, "quadgen-install-user-bob.service");
    let exec = bob
        .iter()
        .find(|l| l.starts_with("ExecStart="))
        .expect("ExecStart");
    let bob_inv = exec
        .split('"')
        .find(|w| w.ends_with("-quadgen-inventory-bob.toml"))
        .unwrap_or_else(|| panic!("no rendered inventory in {exec}"));
    assert_eq!(
        exec,
        &format!(
            r#"ExecStart="/opt/quadgen/bin/quadgen" "install" "--for-user" "bob" "{bob_inv}" "--allow-removals""#
        )
    );
    let rendered: Value = serde_json::from_str(
        &std::fs::read_to_string(eval.real_path(bob_inv)).expect("bob's inventory"),
    )
    .expect("JSON");
    assert_eq!(
        rendered,
        json!({ "containers": { "web": { "image": "docker.io/library/nginx:1.27" } } })
    );

    // Both linger; both get subordinate IDs (alice as a normal user, bob because quadgen asks).
    assert_eq!(
        v["users"],
        json!({
            "alice": { "linger": true, "autoSubUidGidRange": true, "subUidRanges": [], "subGidRanges": [] },
            "bob": { "linger": true, "autoSubUidGidRange": true, "subUidRanges": [], "subGidRanges": [] },
        })
    );
    // Their own podman-auto-update.timer, on the schedule, for these users only.
    let timer: Vec<&str> = str_at(&v, "/userUnits/podman-auto-update.timer/text")
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        timer,
        [
            "[Unit]",
            "ConditionUser=|alice",
            "ConditionUser=|bob",
            "[Timer]",
            "OnCalendar=",
            "OnCalendar=Sun 03:00"
        ]
    );
    // Declared by the module, since quadgen cannot write /etc/systemd/user on NixOS: the user
    // unit every unit quadgen writes for them wants and starts after.
    let pause: Vec<&str> = str_at(&v, "/userUnits/quadgen-podman-pause.service/text")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("Environment=\"PATH="))
        .map(|l| match l.strip_prefix("ExecStart=/nix/store/") {
            // the module's podman package, whatever its hash
            Some(rest) if rest.ends_with("-podman-5.4.2/bin/podman unshare true") => {
                "ExecStart=PODMAN/bin/podman unshare true"
            }
            _ => l,
        })
        .collect();
    assert_eq!(
        pause,
        [
            "[Unit]",
            "ConditionUser=|alice",
            "ConditionUser=|bob",
            "Description=quadgen: set up the user's podman before the containers start",
            "[Service]",
            "ExecStart=PODMAN/bin/podman unshare true",
            "RemainAfterExit=true",
            "TimeoutStartSec=90s",
            "Type=oneshot",
        ]
    );
    assert_eq!(
        v["userUnits"]["podman-auto-update.timer"]["wantedBy"],
        json!(["timers.target"])
    );
    // No system inventory: no system install, but podman and the build checks of both.
    assert!(v["units"].get("quadgen-install.service").is_none(), "{v}");
    assert_eq!(v["podman"]["enable"], true);
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| str_at(c, "/name"))
        .collect();
    assert_eq!(
        checks,
        [
            "quadgen-inventory-check-alice",
            "quadgen-inventory-check-bob"
        ]
    );
}

#[test]
fn a_user_without_subids_both_inventories_or_root_is_refused() {
    assert_fails_with(
        "users-no-subids",
        &[
            "Failed assertions:",
            "- set exactly one of `services.quadgen.users.carol.inventoryFile` and `services.quadgen.users.carol.inventory`",
            "- `services.quadgen.users.carol` runs rootless containers, which need subordinate UIDs and GIDs (/etc/subuid, /etc/subgid): leave `users.users.carol.autoSubUidGidRange` at `true` (quadgen's default) or set both `subUidRanges` and `subGidRanges`",
            "- `services.quadgen.users.root`: root's containers are not rootless; use `services.quadgen.inventory` or `inventoryFile`",
        ],
    );
}
