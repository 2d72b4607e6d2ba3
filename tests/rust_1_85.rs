//! Rust 1.85 (Debian 13's packaged `rustc` and `cargo`, which also covers NixOS 25.05) builds every
//! target, passes the tests that need no oracle, and runs the README's first command, with output
//! identical to this build's.
//!
//! The toolchain is the real one: a Debian trixie root made by `tests/provision/rust185.sh`, driven
//! by `tests/rust185.sh` (a chroot in a private mount namespace, as root). Without that root the
//! test fails and says how to provision it; `QUADGEN_SKIP_RUST185=1` skips it locally, loudly.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

#[path = "support/skip.rs"]
mod skip;

const SKIP_ENV: &str = "QUADGEN_SKIP_RUST185";
const PROVISION: &str =
    "run `bash tests/provision.sh` as root (or only this one: `bash tests/provision.sh rust185`)";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Why the chroot build cannot run here, if it cannot.
fn missing_environment() -> Option<String> {
    let stamp = crate::skip::cache_dir().join("rust185-root/.quadgen-rust185-root");
    if !stamp.is_file() {
        return Some(format!("no Rust 1.85 root (no `{}`)", stamp.display()));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (the chroot build mounts and chroots)".into());
    }
    None
}

/// `(file name, contents)` of every file in `dir`, sorted.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
            let name = path.file_name().expect("file name").to_string_lossy();
            (name.into_owned(), text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn rust_1_85_builds_every_target_passes_the_tests_and_runs_the_example() {
    if let Some(why) = missing_environment() {
        skip::skip_or_fail(SKIP_ENV, &format!("Rust 1.85: {why}"), PROVISION);
        return;
    }

    let tmp = tempfile::tempdir().expect("temporary directory");
    let out = tmp.path().join("rust185");
    let run = Command::new("bash")
        .arg(repo().join("tests/rust185.sh"))
        .arg(&out)
        .output()
        .expect("run bash tests/rust185.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust185.log");
    std::fs::write(&log, &text).unwrap_or_else(|e| panic!("cannot write `{}`: {e}", log.display()));
    let tail: Vec<&str> = text.lines().rev().take(80).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    assert!(
        run.status.success(),
        "the Rust 1.85 build failed ({}); last lines (full log: `{}`):\n{}",
        run.status,
        log.display(),
        tail.join("\n")
    );

    // The step timings, for the CI log (past libtest's capture).
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        text.lines()
            .filter(|l| l.starts_with("toolchain: ") || l.starts_with("==> rust185: "))
            .collect::<Vec<_>>()
            .join("\n")
    );

    let toolchain = text
        .lines()
        .find_map(|l| l.strip_prefix("toolchain: "))
        .expect("the script names its toolchain");
    assert!(
        toolchain.starts_with("rustc 1.85.") && toolchain.contains("cargo 1.85."),
        "the chroot's toolchain is not Rust 1.85: {toolchain}"
    );
    let passed: usize = text
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(
        passed >= 50,
        "only {passed} tests passed under Rust 1.85; the lib and CLI tests have many more"
    );

    // The binary Rust 1.85 built writes the same units as the one under test here.
    let here = tmp.path().join("host");
    let host = Command::new(env!("CARGO_BIN_EXE_quadgen"))
        .arg("build")
        .arg(repo().join("examples/homelab.toml"))
        .arg("--out")
        .arg(&here)
        .output()
        .expect("run quadgen build");
    assert!(
        host.status.success(),
        "quadgen build of the example failed: {}",
        String::from_utf8_lossy(&host.stderr)
    );
    let built_by_1_85 = files(&out.join("quadlets"));
    assert!(
        built_by_1_85
            .iter()
            .any(|(name, _)| name.ends_with(".container")),
        "Rust 1.85's quadgen wrote no container unit: {:?}",
        built_by_1_85.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert_eq!(
        built_by_1_85,
        files(&here),
        "the example built by Rust 1.85's quadgen differs from this build's"
    );
}
