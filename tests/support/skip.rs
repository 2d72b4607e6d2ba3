//! The one way a test skips: a test that needs a real component (the quadlet oracles, Nix, the
//! nspawn machines) FAILS when it is missing, unless its `QUADGEN_SKIP_*` variable is `1` on a
//! developer's machine. Then it prints `SKIPPED: <test>: <why>` straight to the terminal (libtest
//! captures `eprintln!`, not writes to the stderr handle, so the line shows even though libtest
//! will then list the test as `ok`) and the test returns early. At exit, after libtest's
//! summary, one more line lists every test of the binary that skipped.
//!
//! CI never skips: `.ci/run` refuses to start with any `QUADGEN_SKIP_*` set and exports
//! `CI=true`; under `CI=true` a skip variable is ignored (the test fails on the missing
//! component) and [`tests::no_skip_variable_under_ci`], in every test binary that can skip,
//! fails.
//!
//! Every test crate that includes oracle.rs, nix.rs or nspawn.rs declares it at its root:
//! `#[path = "support/skip.rs"] mod skip;` (they call `crate::skip::skip_or_fail`).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::{Mutex, Once};

/// Where `tests/provision.sh` puts the real components (oracles, machine roots, Nix, …):
/// `$QUADGEN_CACHE` when set and not empty, else `~/.cache/quadgen-test`, as the provision
/// scripts' `${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}`.
pub fn cache_dir() -> std::path::PathBuf {
    match std::env::var_os("QUADGEN_CACHE") {
        Some(dir) if !dir.is_empty() => dir.into(),
        _ => std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".cache/quadgen-test"),
    }
}

/// The prefix of every skip variable.
pub const PREFIX: &str = "QUADGEN_SKIP_";

/// Every `QUADGEN_SKIP_*` variable set in this process's environment, with its value.
pub fn skip_variables() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            k.starts_with(PREFIX)
                .then(|| format!("{k}={}", v.to_string_lossy()))
        })
        .collect()
}

/// Whether this is a CI run (`CI=true`, as `.ci/run` and common CI services set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned()
}

/// The tests skipped in this process, for the summary printed at exit.
static SKIPPED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static SUMMARY: Once = Once::new();

/// At exit, after libtest's `test result: ok`: the tests that were listed as `ok` but skipped.
extern "C" fn print_summary() {
    let skipped = SKIPPED.lock().map(|s| s.clone()).unwrap_or_default();
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED: {} test{} above did not run, whatever libtest counted as passed: {} !!!!!!!!",
        skipped.len(),
        if skipped.len() == 1 { "" } else { "s" },
        skipped.into_iter().collect::<Vec<_>>().join(", ")
    );
}

/// A test cannot run because `why`. Returns (after a loud `SKIPPED: <test>: <why>` line, once
/// per test) only when `var=1` and this is not CI; otherwise panics with `why` and `fix`, the
/// way to provide what is missing.
pub fn skip_or_fail(var: &str, why: &str, fix: &str) {
    let test = test_name();
    let requested = std::env::var(var).as_deref() == Ok("1");
    if requested && !in_ci() {
        SUMMARY.call_once(|| {
            // SAFETY: registers a plain `extern "C"` function, run once at exit.
            unsafe { libc::atexit(print_summary) };
        });
        let first = SKIPPED
            .lock()
            .map(|mut skipped| skipped.insert(format!("{test} ({var}=1)")))
            .unwrap_or(true);
        if first {
            // Straight to fd 2, past libtest's capture: a skip must never look like a pass.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!! SKIPPED: {test}: {why} ({var}=1; CI refuses it) !!!!!!!!\n"
            );
        }
        return;
    }
    let ci = if requested {
        format!(" ({var}=1 is ignored under CI=true: CI runs every test)")
    } else {
        format!(", or set {var}=1 to skip this test locally (loudly; CI refuses it)")
    };
    panic!("`{test}` cannot run: {why}\n{fix}{ci}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_skip_variable_under_ci() {
        if super::in_ci() {
            let set = super::skip_variables();
            assert!(
                set.is_empty(),
                "CI must run every test, but {} set: {}",
                if set.len() == 1 {
                    "this is"
                } else {
                    "these are"
                },
                set.join(" ")
            );
        }
    }
}
