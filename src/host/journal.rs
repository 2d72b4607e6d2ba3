//! The last `podman auto-update` result of each unit, read from the journal of podman's stock
//! `podman-auto-update.service` (which runs `podman auto-update` and logs its table), as
//! `journalctl --output=json` prints it: one JSON object per entry, so no guessing at the
//! human format's prefix, time format or timezone.
//!
//! A table row is one entry's `MESSAGE` (the CONTAINER column holds `ID (name)`, so columns are
//! found from the policy column, whose values are known):
//!
//! ```text
//! UNIT         CONTAINER              IMAGE                         POLICY      UPDATED
//! web.service  0f1e2d3c4b5a (web)     127.0.0.1:5000/web:latest     registry    rolled back
//! ```

use std::collections::BTreeMap;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// One unit's row of the most recent auto-update run that listed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoUpdateResult {
    /// When the run logged it: ISO 8601 to the second in the host's timezone (as
    /// `journalctl -o short-iso` prints it).
    pub when: String,
    pub image: String,
    /// `true`, `false`, `rolled back`, `failed`, `pending`.
    pub updated: String,
}

/// A journal field as `journalctl -o json` writes it: a string; an array of bytes when the
/// value is not printable UTF-8; an array of those when the entry has the field more than once;
/// `null` when it is too large to show.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Field {
    Text(String),
    Bytes(Vec<u8>),
    Many(Vec<Field>),
    Null(()),
}

impl Field {
    /// The value (the last one of a repeated field), bytes read as lossy UTF-8.
    fn text(&self) -> Option<String> {
        match self {
            Field::Text(s) => Some(s.clone()),
            Field::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Field::Many(all) => all.last().and_then(Field::text),
            Field::Null(()) => None,
        }
    }
}

/// The fields of a journal entry that matter here.
#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(rename = "MESSAGE")]
    message: Option<Field>,
    /// Microseconds since the epoch, as a decimal string.
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<String>,
}

/// A table row: unit, image, updated.
fn parse_row(message: &str) -> Option<(&str, &str, String)> {
    let tokens: Vec<&str> = message.split_whitespace().collect();
    let policy_at = tokens
        .iter()
        .rposition(|t| matches!(*t, "registry" | "local"))?;
    let unit = *tokens.first()?;
    let image = *tokens.get(policy_at.checked_sub(1)?)?;
    let updated = tokens.get(policy_at + 1..)?.join(" ");
    (unit.ends_with(".service") && !updated.is_empty() && policy_at >= 2)
        .then_some((unit, image, updated))
}

/// Parses `journalctl --output=json` of the auto-update service: the latest row per unit.
/// `utc_offset` gives the host's offset from UTC in seconds at a time (seconds since the epoch),
/// for [`AutoUpdateResult::when`]. Lines that are not a journal entry are skipped.
pub fn parse_journal(
    json_lines: &str,
    utc_offset: impl Fn(i64) -> i64,
) -> BTreeMap<String, AutoUpdateResult> {
    let mut results = BTreeMap::new();
    for line in json_lines.lines() {
        let Ok(entry) = serde_json::from_str::<Entry>(line) else {
            continue;
        };
        let (Some(message), Some(micros)) = (
            entry.message.as_ref().and_then(Field::text),
            entry.realtime.and_then(|t| t.parse::<i64>().ok()),
        ) else {
            continue;
        };
        let Some((unit, image, updated)) = parse_row(&message) else {
            continue;
        };
        let secs = micros.div_euclid(1_000_000);
        results.insert(
            unit.to_string(),
            AutoUpdateResult {
                when: iso8601(secs, utc_offset(secs)),
                image: image.to_string(),
                updated,
            },
        );
    }
    results
}

/// `2026-11-25T02:00:07+01:00`: `secs` since the epoch, shown at `offset` seconds from UTC.
fn iso8601(secs: i64, offset: i64) -> String {
    let local = secs + offset;
    let (days, time) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.abs() / 60;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        time / 3600,
        time / 60 % 60,
        time % 60,
        off / 60,
        off % 60
    )
}

/// The host's offset from UTC at `secs` since the epoch (`localtime_r`'s `tm_gmtoff`: TZ or
/// /etc/localtime, as journalctl uses); 0 if the C library cannot tell.
fn local_utc_offset(secs: i64) -> i64 {
    // time_t is 64 bits on every target quadgen supports.
    let t = secs as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return 0;
    }
    #[allow(clippy::useless_conversion)] // `c_long` is `i64` on 64-bit targets only
    i64::from(tm.tm_gmtoff)
}

/// Reads the journal of `podman-auto-update.service`; empty when there is no journal to read.
pub fn read_last_results() -> BTreeMap<String, AutoUpdateResult> {
    read_last_results_of(&crate::host::scope::Scope::System)
}

/// [`read_last_results`] of the `podman-auto-update.service` of a scope: the system's, the
/// calling user's (`journalctl --user`), or another user's (`--user-unit=… _UID=UID`, as root).
pub fn read_last_results_of(
    scope: &crate::host::scope::Scope,
) -> BTreeMap<String, AutoUpdateResult> {
    let output = Command::new("journalctl")
        .args(scope.auto_update_journal_args())
        .args([
            "--output=json",
            // __REALTIME_TIMESTAMP comes with every entry
            "--output-fields=MESSAGE",
            "--no-pager",
            "--quiet",
            "--lines=2000",
        ])
        .output();
    match output {
        Ok(o) if o.status.success() => {
            parse_journal(&String::from_utf8_lossy(&o.stdout), local_utc_offset)
        }
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `journalctl --unit=podman-auto-update.service --output=json` on the e2e machine (systemd
    /// 257, podman 5.4.2) after two runs of tests/e2e_auto_update.rs: v1 → v2 (`true`), then the
    /// broken v3 (`rolled back`); the image pull lines are left out. The `db.service` entry is
    /// the first `web.service` row with another row as its `MESSAGE`, written as the byte array
    /// journald uses for a value that is not printable UTF-8.
    const JOURNAL: &str = r#"{"CODE_FILE":"src/core/job.c","_COMM":"systemd","_PID":"1","_SYSTEMD_CGROUP":"/init.scope","_EXE":"/usr/lib/systemd/systemd","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","_UID":"0","_RUNTIME_SCOPE":"system","_GID":"0","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","JOB_ID":"1014","_HOSTNAME":"e2e","__REALTIME_TIMESTAMP":"1796138171623080","_SYSTEMD_SLICE":"-.slice","UNIT":"podman-auto-update.service","SYSLOG_FACILITY":"3","_CMDLINE":"/usr/lib/systemd/systemd","_SYSTEMD_UNIT":"init.scope","_SOURCE_REALTIME_TIMESTAMP":"1796138171622958","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","JOB_TYPE":"start","__MONOTONIC_TIMESTAMP":"2760168088","_CAP_EFFECTIVE":"1fffeffffff","CODE_LINE":"627","__SEQNUM":"206","TID":"1","SYSLOG_IDENTIFIER":"systemd","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=ce;b=2e98263fe3304694b8ceed75ade104b8;m=a484d298;t=6619401afe6a8;x=679ef90debae0428","_TRANSPORT":"journal","PRIORITY":"6","MESSAGE_ID":"7d4958e842da4a758f6c1cdc7b36dcc5","MESSAGE":"Starting podman-auto-update.service - Podman auto-update service...","CODE_FUNC":"job_emit_start_message","INVOCATION_ID":"cc4819d3aa6348e1b719d44199617826"}
{"_EXE":"/usr/bin/podman","MESSAGE":"2026-12-01 15:16:11.847559723 +0000 UTC m=+0.131448974 system auto-update","PODMAN_EVENT":"auto-update","PRIORITY":"6","__SEQNUM":"207","_SYSTEMD_SLICE":"system.slice","PODMAN_TYPE":"system","__MONOTONIC_TIMESTAMP":"2760397048","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","SYSLOG_IDENTIFIER":"podman","_COMM":"podman","PODMAN_TIME":"2026-12-01T15:16:11.847559723Z","_HOSTNAME":"e2e","_UID":"0","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=cf;b=2e98263fe3304694b8ceed75ade104b8;m=a48850f8;t=6619401b36508;x=4cc6da539c01909a","_SYSTEMD_CGROUP":"/system.slice/podman-auto-update.service","_SYSTEMD_INVOCATION_ID":"cc4819d3aa6348e1b719d44199617826","_CAP_EFFECTIVE":"1fffeffffff","_PID":"754","_TRANSPORT":"journal","_SYSTEMD_UNIT":"podman-auto-update.service","_GID":"0","_RUNTIME_SCOPE":"system","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","_SOURCE_REALTIME_TIMESTAMP":"1796138171847700","_CMDLINE":"/usr/bin/podman auto-update","__REALTIME_TIMESTAMP":"1796138171852040","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388"}
{"_PID":"754","_UID":"0","_SYSTEMD_CGROUP":"/system.slice/podman-auto-update.service","_SYSTEMD_INVOCATION_ID":"cc4819d3aa6348e1b719d44199617826","_SYSTEMD_SLICE":"system.slice","PRIORITY":"6","_STREAM_ID":"500a755aa1084aaf8e0c0e71629b909b","_CAP_EFFECTIVE":"1fffeffffff","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","_RUNTIME_SCOPE":"system","__MONOTONIC_TIMESTAMP":"2762139145","_EXE":"/usr/bin/podman","MESSAGE":"            UNIT         CONTAINER           IMAGE                      POLICY      UPDATED","_SYSTEMD_UNIT":"podman-auto-update.service","_TRANSPORT":"stdout","__REALTIME_TIMESTAMP":"1796138173594137","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","SYSLOG_FACILITY":"3","__SEQNUM":"250","_COMM":"podman","_GID":"0","SYSLOG_IDENTIFIER":"podman","_HOSTNAME":"e2e","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=fa;b=2e98263fe3304694b8ceed75ade104b8;m=a4a2e609;t=6619401cdfa19;x=9d5e0110f3fe63b0","_CMDLINE":"/usr/bin/podman auto-update","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b"}
{"_SYSTEMD_SLICE":"system.slice","_SYSTEMD_INVOCATION_ID":"cc4819d3aa6348e1b719d44199617826","_STREAM_ID":"500a755aa1084aaf8e0c0e71629b909b","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=fb;b=2e98263fe3304694b8ceed75ade104b8;m=a4a2e609;t=6619401cdfa19;x=7adce48ac315f9c5","_SYSTEMD_CGROUP":"/system.slice/podman-auto-update.service","_GID":"0","_HOSTNAME":"e2e","_CMDLINE":"/usr/bin/podman auto-update","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","_TRANSPORT":"stdout","_CAP_EFFECTIVE":"1fffeffffff","_COMM":"podman","__SEQNUM":"251","SYSLOG_IDENTIFIER":"podman","PRIORITY":"6","_SYSTEMD_UNIT":"podman-auto-update.service","__MONOTONIC_TIMESTAMP":"2762139145","MESSAGE":"            web.service  4f5d1e70fd5c (web)  127.0.0.1:5000/web:latest  registry    true","_EXE":"/usr/bin/podman","_RUNTIME_SCOPE":"system","__REALTIME_TIMESTAMP":"1796138173594137","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","SYSLOG_FACILITY":"3","_UID":"0","_PID":"754","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8"}
{"_SYSTEMD_SLICE":"system.slice","_SYSTEMD_INVOCATION_ID":"cc4819d3aa6348e1b719d44199617826","_STREAM_ID":"500a755aa1084aaf8e0c0e71629b909b","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=fb;b=2e98263fe3304694b8ceed75ade104b8;m=a4a2e609;t=6619401cdfa19;x=7adce48ac315f9c5","_SYSTEMD_CGROUP":"/system.slice/podman-auto-update.service","_GID":"0","_HOSTNAME":"e2e","_CMDLINE":"/usr/bin/podman auto-update","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","_TRANSPORT":"stdout","_CAP_EFFECTIVE":"1fffeffffff","_COMM":"podman","__SEQNUM":"251","SYSLOG_IDENTIFIER":"podman","PRIORITY":"6","_SYSTEMD_UNIT":"podman-auto-update.service","__MONOTONIC_TIMESTAMP":"2762139145","MESSAGE":[32,32,32,32,32,32,32,32,32,32,32,32,100,98,46,115,101,114,118,105,99,101,32,32,32,49,97,50,98,51,99,52,100,53,101,54,102,32,40,100,98,41,32,32,32,100,111,99,107,101,114,46,105,111,47,108,105,98,114,97,114,121,47,112,111,115,116,103,114,101,115,58,49,54,32,32,114,101,103,105,115,116,114,121,32,32,32,32,102,97,108,115,101],"_EXE":"/usr/bin/podman","_RUNTIME_SCOPE":"system","__REALTIME_TIMESTAMP":"1796138173594137","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","SYSLOG_FACILITY":"3","_UID":"0","_PID":"754","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8"}
{"CODE_FUNC":"job_emit_done_message","TID":"1","_CAP_EFFECTIVE":"1fffeffffff","MESSAGE":"Finished podman-auto-update.service - Podman auto-update service.","_UID":"0","UNIT":"podman-auto-update.service","CODE_FILE":"src/core/job.c","INVOCATION_ID":"cc4819d3aa6348e1b719d44199617826","_GID":"0","__MONOTONIC_TIMESTAMP":"2762290669","_RUNTIME_SCOPE":"system","__SEQNUM":"255","_CMDLINE":"/usr/lib/systemd/systemd","_EXE":"/usr/lib/systemd/systemd","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=ff;b=2e98263fe3304694b8ceed75ade104b8;m=a4a535ed;t=6619401d049fd;x=f415c1e9e0044feb","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","CODE_LINE":"818","_TRANSPORT":"journal","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","__REALTIME_TIMESTAMP":"1796138173745661","JOB_ID":"1014","JOB_TYPE":"start","SYSLOG_FACILITY":"3","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","PRIORITY":"6","_SYSTEMD_SLICE":"-.slice","_SYSTEMD_UNIT":"init.scope","_PID":"1","MESSAGE_ID":"39f53479d3a045ac8e11786248231fbf","_COMM":"systemd","_HOSTNAME":"e2e","_SYSTEMD_CGROUP":"/init.scope","JOB_RESULT":"done","SYSLOG_IDENTIFIER":"systemd","_SOURCE_REALTIME_TIMESTAMP":"1796138173744521"}
{"_SYSTEMD_SLICE":"-.slice","_SOURCE_REALTIME_TIMESTAMP":"1796138177267446","_EXE":"/usr/lib/systemd/systemd","__REALTIME_TIMESTAMP":"1796138177267497","__SEQNUM":"314","PRIORITY":"6","_CMDLINE":"/usr/lib/systemd/systemd","INVOCATION_ID":"0d945be116494ee0865d5942d3e9928b","_COMM":"systemd","_SYSTEMD_CGROUP":"/init.scope","JOB_ID":"1668","_TRANSPORT":"journal","_HOSTNAME":"e2e","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","_CAP_EFFECTIVE":"1fffeffffff","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","_GID":"0","_PID":"1","_RUNTIME_SCOPE":"system","CODE_LINE":"627","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","__MONOTONIC_TIMESTAMP":"2765812505","_UID":"0","UNIT":"podman-auto-update.service","CODE_FUNC":"job_emit_start_message","CODE_FILE":"src/core/job.c","MESSAGE":"Starting podman-auto-update.service - Podman auto-update service...","JOB_TYPE":"start","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=13a;b=2e98263fe3304694b8ceed75ade104b8;m=a4daf319;t=6619402060729;x=ef98a76d2c7e0","TID":"1","SYSLOG_IDENTIFIER":"systemd","MESSAGE_ID":"7d4958e842da4a758f6c1cdc7b36dcc5","SYSLOG_FACILITY":"3","_SYSTEMD_UNIT":"init.scope"}
{"_CMDLINE":"/usr/bin/podman auto-update","PODMAN_TYPE":"system","MESSAGE":"2026-12-01 15:16:17.455465513 +0000 UTC m=+0.101542351 system auto-update","PRIORITY":"6","_EXE":"/usr/bin/podman","_HOSTNAME":"e2e","PODMAN_EVENT":"auto-update","_RUNTIME_SCOPE":"system","__SEQNUM":"315","_SYSTEMD_CGROUP":"/system.slice/podman-auto-update.service","SYSLOG_IDENTIFIER":"podman","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","__REALTIME_TIMESTAMP":"1796138177460279","_CAP_EFFECTIVE":"1fffeffffff","_SOURCE_REALTIME_TIMESTAMP":"1796138177455548","_SYSTEMD_INVOCATION_ID":"0d945be116494ee0865d5942d3e9928b","PODMAN_TIME":"2026-12-01T15:16:17.455465513Z","__MONOTONIC_TIMESTAMP":"2766005288","_UID":"0","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=13b;b=2e98263fe3304694b8ceed75ade104b8;m=a4dde428;t=661940208f837;x=76e25a8362b1ca59","_PID":"1159","_SYSTEMD_UNIT":"podman-auto-update.service","_GID":"0","_TRANSPORT":"journal","_SYSTEMD_SLICE":"system.slice","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","_COMM":"podman"}
{"__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=18e;b=2e98263fe3304694b8ceed75ade104b8;m=a5214153;t=66194024c5563;x=4d6211fcc909aad1","_SYSTEMD_INVOCATION_ID":"0d945be116494ee0865d5942d3e9928b","MESSAGE":"            UNIT         CONTAINER           IMAGE                      POLICY      UPDATED","_EXE":"/usr/bin/podman","__MONOTONIC_TIMESTAMP":"2770420051","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","_SYSTEMD_CGROUP":"/system.slice/podman-auto-update.service","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","_UID":"0","_CMDLINE":"/usr/bin/podman auto-update","__REALTIME_TIMESTAMP":"1796138181875043","__SEQNUM":"398","_COMM":"podman","PRIORITY":"6","_RUNTIME_SCOPE":"system","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","_STREAM_ID":"90cb6f4ec53840ab86d8d3b32c6a7850","_SYSTEMD_SLICE":"system.slice","_PID":"1159","_SYSTEMD_UNIT":"podman-auto-update.service","SYSLOG_FACILITY":"3","_GID":"0","_HOSTNAME":"e2e","SYSLOG_IDENTIFIER":"podman","_CAP_EFFECTIVE":"1fffeffffff","_TRANSPORT":"stdout"}
{"_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","_TRANSPORT":"stdout","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=18f;b=2e98263fe3304694b8ceed75ade104b8;m=a5214153;t=66194024c5563;x=46034430e4275f7a","_RUNTIME_SCOPE":"system","SYSLOG_FACILITY":"3","_EXE":"/usr/bin/podman","_PID":"1159","_UID":"0","MESSAGE":"            web.service  17c520b2271e (web)  127.0.0.1:5000/web:latest  registry    rolled back","_CMDLINE":"/usr/bin/podman auto-update","_SYSTEMD_INVOCATION_ID":"0d945be116494ee0865d5942d3e9928b","_GID":"0","_COMM":"podman","_SYSTEMD_CGROUP":"/system.slice/podman-auto-update.service","_HOSTNAME":"e2e","_SYSTEMD_UNIT":"podman-auto-update.service","SYSLOG_IDENTIFIER":"podman","_STREAM_ID":"90cb6f4ec53840ab86d8d3b32c6a7850","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","__MONOTONIC_TIMESTAMP":"2770420051","__REALTIME_TIMESTAMP":"1796138181875043","__SEQNUM":"399","_CAP_EFFECTIVE":"1fffeffffff","_SYSTEMD_SLICE":"system.slice","PRIORITY":"6"}
{"_EXE":"/usr/lib/systemd/systemd","CODE_FILE":"src/core/unit.c","_SYSTEMD_SLICE":"-.slice","__SEQNUM":"403","_TRANSPORT":"journal","__SEQNUM_ID":"28d0527872004a11b39b532f09bc1388","_SOURCE_REALTIME_TIMESTAMP":"1796138182035092","_SYSTEMD_CGROUP":"/init.scope","MESSAGE":"podman-auto-update.service: Deactivated successfully.","_BOOT_ID":"2e98263fe3304694b8ceed75ade104b8","CODE_FUNC":"unit_log_success","PRIORITY":"6","CODE_LINE":"6061","_MACHINE_ID":"11ab407dcec04365a1abfd6e077de91b","_CMDLINE":"/usr/lib/systemd/systemd","_UID":"0","INVOCATION_ID":"0d945be116494ee0865d5942d3e9928b","_PID":"1","_RUNTIME_SCOPE":"system","_HOSTNAME":"e2e","__REALTIME_TIMESTAMP":"1796138182035859","MESSAGE_ID":"7ad2d189f7e94e70a38c781354912448","__MONOTONIC_TIMESTAMP":"2770580866","_COMM":"systemd","_GID":"0","SYSLOG_FACILITY":"3","SYSLOG_IDENTIFIER":"systemd","TID":"1","__CURSOR":"s=28d0527872004a11b39b532f09bc1388;i=193;b=2e98263fe3304694b8ceed75ade104b8;m=a523b582;t=66194024ec993;x=4fa7529321a44e04","_CAP_EFFECTIVE":"1fffeffffff","UNIT":"podman-auto-update.service","_SYSTEMD_UNIT":"init.scope"}
"#;

    #[test]
    fn keeps_the_latest_row_per_unit() {
        let r = parse_journal(JOURNAL, |_| 0);
        assert_eq!(r.len(), 2);
        assert_eq!(r["web.service"].updated, "rolled back");
        assert_eq!(r["web.service"].when, "2026-12-01T15:16:21+00:00");
        assert_eq!(r["web.service"].image, "127.0.0.1:5000/web:latest");
        assert_eq!(r["db.service"].updated, "false");
        assert_eq!(r["db.service"].image, "docker.io/library/postgres:16");
        assert_eq!(r["db.service"].when, "2026-12-01T15:16:13+00:00");
    }

    #[test]
    fn shows_the_time_in_the_hosts_timezone() {
        let r = parse_journal(JOURNAL, |_| -(5 * 3600 + 30 * 60));
        assert_eq!(r["web.service"].when, "2026-12-01T09:46:21-05:30");
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(951_782_400, 3600), "2000-02-29T01:00:00+01:00");
        assert_eq!(iso8601(-1, 0), "1969-12-31T23:59:59+00:00");
    }

    #[test]
    fn reads_repeated_fields_and_ignores_other_lines() {
        let row = "web.service  0f1e (web)  127.0.0.1:5000/web:latest  registry  true";
        let repeated = format!(
            r#"{{"__REALTIME_TIMESTAMP":"0","MESSAGE":["header",{}]}}"#,
            serde_json::to_string(row.as_bytes()).expect("json")
        );
        assert_eq!(
            parse_journal(&repeated, |_| 0)["web.service"].updated,
            "true"
        );
        let other = [
            "-- No entries --",
            r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":"Error: registry down"}"#,
            r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":null}"#,
            r#"{"__REALTIME_TIMESTAMP":"1"}"#,
            &format!(r#"{{"MESSAGE":"{row}"}}"#),
        ]
        .join("\n");
        assert!(parse_journal(&other, |_| 0).is_empty());
    }
}
