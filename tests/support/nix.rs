//! Nix for the tests: finding the provisioned tools (or, when they are missing, skipping loudly
//! with `QUADGEN_SKIP_NIX=1`), running Nix commands without a daemon, and evaluating the NixOS module's
//! install hook (tests/nixos/hook-command.nix). Shared by tests/nixos_module.rs and
//! tests/e2e_nixos_hook.rs.
#![allow(dead_code)] // each test binary uses part of this

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

pub const PROVISION: &str = "run bash tests/provision.sh (or bash tests/provision/nix.sh)";

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What the Nix tests need, found once per test binary.
pub struct NixEnv {
    pub snapshot: PathBuf,
    pub deadnix: PathBuf,
}

/// What the Nix tests need; when a tool is missing, `None` after a loud `SKIPPED` line if
/// `QUADGEN_SKIP_NIX=1`, else a panic saying how to provision it (tests/support/skip.rs).
/// `_test` is the caller's name, kept for the callers; the skip line names the running test.
pub fn nix_env(_test: &str) -> Option<&'static NixEnv> {
    static ENV: OnceLock<Result<NixEnv, String>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        let cache = crate::skip::cache_dir();
        if !tool_runs("nix-instantiate") {
            return Err("`nix-instantiate` not found".into());
        }
        let snapshot = std::fs::canonicalize(cache.join("nixpkgs")).map_err(|e| {
            format!(
                "no nixpkgs snapshot at `{}`: {e}",
                cache.join("nixpkgs").display()
            )
        })?;
        if !snapshot.join("nixos/lib/utils.nix").is_file() {
            return Err(format!(
                "`{}` is not the nixpkgs snapshot",
                snapshot.display()
            ));
        }
        let deadnix = cache.join("bin/deadnix");
        if !deadnix.is_file() {
            return Err(format!("no deadnix at `{}`", deadnix.display()));
        }
        Ok(NixEnv { snapshot, deadnix })
    });
    match env {
        Ok(env) => Some(env),
        Err(e) => {
            crate::skip::skip_or_fail(
                "QUADGEN_SKIP_NIX",
                e,
                &format!("Provision Nix: {PROVISION}"),
            );
            None
        }
    }
}

pub fn tool_runs(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn require_tool(tool: &str) {
    assert!(tool_runs(tool), "`{tool}` not found: {PROVISION}");
}

/// A Nix command: single-user, no daemon, no binary cache, caches under `tmp`.
pub fn nix(program: &str, tmp: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(repo())
        .env(
            "NIX_CONFIG",
            "build-users-group =\nexperimental-features = nix-command flakes\nsubstituters =",
        )
        .env("XDG_CACHE_HOME", tmp.join("cache"));
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `nix-instantiate --eval --strict --json` of `file` (relative to the repository) with nixpkgs'
/// snapshot as `nixpkgs`, in a chroot store under `tmp` (read-write, so `builtins.toFile` works).
pub fn eval_command(env: &NixEnv, tmp: &Path, file: &str) -> Command {
    let mut cmd = nix("nix-instantiate", tmp);
    cmd.args([
        "--eval",
        "--strict",
        "--json",
        "--read-write-mode",
        "--store",
    ])
    .arg(tmp.join("store"))
    .arg(file)
    .args(["--arg", "nixpkgs"])
    .arg(&env.snapshot);
    cmd
}

/// The install hook as one evaluation of the module renders it.
pub struct Hook {
    /// `ExecStart=` of quadgen-install.service.
    pub exec_start: String,
    /// The whole unit file, as NixOS would write it.
    pub unit: String,
    /// The inventory's `/nix/store` path, as the unit names it.
    pub inventory: String,
    /// The inventory's contents (from the evaluation's chroot store).
    pub inventory_text: String,
}

/// Evaluates tests/nixos/hook-command.nix for `case` (default: tests/nixos/cases/file.nix), with
/// quadgen in /usr/local and podman in /usr (where the test machines have them).
pub fn eval_hook(env: &NixEnv, case: Option<&Path>) -> Hook {
    let tmp = TempDir::new().expect("temp dir");
    let mut cmd = eval_command(env, tmp.path(), "tests/nixos/hook-command.nix");
    cmd.args([
        "--argstr",
        "quadgenPrefix",
        "/usr/local",
        "--argstr",
        "podmanPrefix",
        "/usr",
    ]);
    if let Some(case) = case {
        cmd.args(["--arg", "case"]).arg(case);
    }
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "evaluating the hook of {case:?}:\n{}",
        stderr(&out)
    );
    let hook: Value = serde_json::from_slice(&out.stdout).expect("JSON from nix-instantiate");
    let field = |name: &str| {
        hook[name]
            .as_str()
            .unwrap_or_else(|| panic!("no `{name}` in {hook:#}"))
            .to_owned()
    };
    let inventory = field("inventory");
    assert!(inventory.starts_with("/nix/store/"), "{inventory}");
    let inventory_text = std::fs::read_to_string(
        tmp.path()
            .join("store")
            .join(inventory.trim_start_matches('/')),
    )
    .expect("the inventory in the evaluation's chroot store");
    Hook {
        exec_start: field("execStart"),
        unit: field("unit"),
        inventory,
        inventory_text,
    }
}
