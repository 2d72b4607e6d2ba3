//! `--user` and `--for-user` as a person runs them, where no test machine is needed: who may use
//! which, and the plan-time checks refusing a user the host is not ready for (here `nobody`, who
//! never lingers), writing nothing. The rest runs on a real systemd in tests/e2e_rootless.rs.

use assert_cmd::Command;
use predicates::prelude::*;

fn quadgen() -> Command {
    let mut cmd = Command::cargo_bin("quadgen").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

const INVENTORY: &str =
    "[containers.web]\nimage = \"docker.io/library/nginx:1\"\nports = [\"80:80\"]\n";

#[test]
fn user_and_for_user_exclude_each_other() {
    quadgen()
        .args(["plan", "--user", "--for-user", "alice", "inventory.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the argument '--user' cannot be used with '--for-user <USER>'",
        ));
}

#[test]
fn for_user_names_a_user_that_exists_and_is_not_root() {
    if !is_root() {
        quadgen()
            .args(["plan", "--for-user", "alice", "inventory.toml"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("`--for-user` needs root"));
        return;
    }
    quadgen()
        .args(["plan", "--for-user", "no-such-user-qg", "inventory.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no user `no-such-user-qg` (`getent passwd no-such-user-qg` found nothing)",
        ));
    quadgen()
        .args(["plan", "--for-user", "root", "inventory.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`--for-user root` would install root's containers as rootless ones",
        ));
    quadgen()
        .args(["install", "--user", "inventory.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`--user` is for a user's own containers, and this is root: use `--for-user NAME`",
        ));
}

#[test]
fn a_user_the_host_is_not_ready_for_is_refused_with_the_fixes_and_nothing_written() {
    if !is_root() {
        eprintln!("note: needs root (`--for-user`): skipped as this user");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(&inventory, INVENTORY).expect("write");
    let root = dir.path().join("units");
    // Docker and some distributions lower the limit (to 0): then port 80 is fine for users.
    let port_start: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1024);
    for command in ["plan", "install"] {
        let assert = quadgen()
            .args([command, "--for-user", "nobody", "--root"])
            .arg(&root)
            .arg(&inventory)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "error    [rootless-linger] user `nobody` does not linger",
            ))
            .stderr(predicate::str::contains(
                "fix: sudo loginctl enable-linger nobody   # NixOS: users.users.nobody.linger = true;",
            ))
            .stderr(predicate::str::contains("nothing was changed"));
        if port_start > 80 {
            assert.stderr(predicate::str::contains(format!(
                "[rootless-port] container `web` publishes `80:80`: host port 80 is below net.ipv4.ip_unprivileged_port_start ({port_start})"
            )));
        }
        assert!(!root.exists(), "{command} wrote `{}`", root.display());
    }
}
