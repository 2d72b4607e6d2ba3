//! The last `podman auto-update` result of each unit, read from the journal of podman's stock
//! `podman-auto-update.service` (which runs `podman auto-update` and logs its table).
//!
//! The table looks like this (the CONTAINER column holds `ID (name)`, so columns are found from the
//! policy column, whose values are known):
//!
//! ```text
//! UNIT         CONTAINER              IMAGE                         POLICY      UPDATED
//! web.service  0f1e2d3c4b5a (web)     127.0.0.1:5000/web:latest     registry    rolled back
//! ```

use std::collections::BTreeMap;
use std::process::Command;

use serde::Serialize;

/// One unit's row of the most recent auto-update run that listed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoUpdateResult {
    /// When the run logged it, as journalctl printed it (ISO 8601).
    pub when: String,
    pub image: String,
    /// `true`, `false`, `rolled back`, `failed`, `pending`.
    pub updated: String,
}

/// Parses `journalctl -o short-iso` output of the auto-update service: the latest row per unit.
pub fn parse_journal(journal: &str) -> BTreeMap<String, AutoUpdateResult> {
    let mut results = BTreeMap::new();
    for line in journal.lines() {
        // `2026-11-25T20:00:00+00:00 host podman[123]: web.service 0f1e (web) image registry true`
        let Some((prefix, message)) = line.split_once("]: ") else {
            continue;
        };
        let when = prefix.split_whitespace().next().unwrap_or_default();
        let tokens: Vec<&str> = message.split_whitespace().collect();
        let Some(policy_at) = tokens
            .iter()
            .rposition(|t| matches!(*t, "registry" | "local"))
        else {
            continue;
        };
        let (Some(unit), Some(image)) = (
            tokens.first(),
            policy_at.checked_sub(1).and_then(|i| tokens.get(i)),
        ) else {
            continue;
        };
        let updated = tokens
            .get(policy_at + 1..)
            .map(|t| t.join(" "))
            .unwrap_or_default();
        if !unit.ends_with(".service") || updated.is_empty() || policy_at < 2 {
            continue;
        }
        results.insert(
            (*unit).to_string(),
            AutoUpdateResult {
                when: when.to_string(),
                image: (*image).to_string(),
                updated,
            },
        );
    }
    results
}

/// Reads the journal of `podman-auto-update.service`; empty when there is no journal to read.
pub fn read_last_results() -> BTreeMap<String, AutoUpdateResult> {
    let output = Command::new("journalctl")
        .args([
            "--unit=podman-auto-update.service",
            "--output=short-iso",
            "--no-pager",
            "--quiet",
            "--lines=2000",
        ])
        .output();
    match output {
        Ok(o) if o.status.success() => parse_journal(&String::from_utf8_lossy(&o.stdout)),
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_row_per_unit() {
        let journal = "\
2026-11-24T02:00:01+00:00 host systemd[1]: Starting podman-auto-update.service - Podman auto-update service...
2026-11-24T02:00:05+00:00 host podman[812]: UNIT         CONTAINER            IMAGE                        POLICY      UPDATED
2026-11-24T02:00:05+00:00 host podman[812]: web.service  0f1e2d3c4b5a (web)   127.0.0.1:5000/web:latest    registry    true
2026-11-24T02:00:05+00:00 host podman[812]: db.service   1a2b3c4d5e6f (db)    docker.io/library/postgres:16  registry  false
2026-11-25T02:00:07+00:00 host podman[990]: UNIT         CONTAINER            IMAGE                        POLICY      UPDATED
2026-11-25T02:00:07+00:00 host podman[990]: web.service  9f8e7d6c5b4a (web)   127.0.0.1:5000/web:latest    registry    rolled back
";
        let r = parse_journal(journal);
        assert_eq!(r.len(), 2);
        assert_eq!(r["web.service"].updated, "rolled back");
        assert_eq!(r["web.service"].when, "2026-11-25T02:00:07+00:00");
        assert_eq!(r["web.service"].image, "127.0.0.1:5000/web:latest");
        assert_eq!(r["db.service"].updated, "false");
    }

    #[test]
    fn ignores_other_lines() {
        assert!(
            parse_journal("-- No entries --\nx: y\n2026 host podman[1]: Error: registry down\n")
                .is_empty()
        );
    }
}
