//! `podman run` flags → inventory fields: THE table ([`ROWS`]), and the parser that reads a list
//! of words (`extraOptions`, and the flags the module itself derives from its options) in both the
//! `--flag=value` and `--flag value` forms, as podman's option parser does.
//!
//! Every flag with an inventory field lands in it; a value the inventory refuses (checked by the
//! inventory's own rules, [`super::probe`]) stays in `podman_args` with a warning saying why.

/// Where a flag goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An inventory field.
    Field(Field),
    /// quadgen (or quadlet) provides it itself: dropped, with a note saying why.
    Provided(&'static str),
}

/// The shape of an inventory field, and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A list; each flag adds one item.
    List(&'static str),
    /// One string; the last flag wins (as in podman).
    Scalar(&'static str),
    /// `true`, or the flag's `=true|false`.
    Bool(&'static str),
    /// A whole number.
    Int(&'static str),
    /// A table; each flag's `KEY=VALUE` adds one entry.
    Map(&'static str),
    /// `stop_timeout`: podman's seconds, written as a duration.
    Seconds(&'static str),
    /// `environment` (secret-looking values are moved out).
    Env,
    /// `labels` (the auto-update label becomes `auto_update`).
    Label,
    /// `networks` (and `host`/`none`/`container:x`).
    Network,
    /// A key of the one network the container joins (`ip`, `ip6`, `aliases`, `mac`).
    NetworkKey(&'static str),
    /// A key of `health` (`cmd`, `interval`, …; `retries` is a number).
    Health(&'static str),
    /// `pull`: quadgen's own policy, except `never`.
    Pull,
    /// `--security-opt`: `no-new-privileges`, `seccomp=`, `label=disable` and `label=type:`
    /// have fields, the rest does not.
    SecurityOpt,
}

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    Value,
    /// A value podman splits on commas (a string slice: `--cap-add=A,B` is two).
    Values,
    /// A switch (`--init`, or `--init=false`).
    Nothing,
}

/// One row: the flag's names (the first is the long one written into `podman_args`), whether
/// it takes a value, and where it goes.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub names: &'static [&'static str],
    pub takes: Takes,
    pub target: Target,
}

const fn row(names: &'static [&'static str], takes: Takes, target: Target) -> Row {
    Row {
        names,
        takes,
        target,
    }
}

use Field::*;
use Takes::{Nothing, Value, Values};
use Target::Provided;

const fn field(f: Field) -> Target {
    Target::Field(f)
}

/// Every `podman run` flag the importer knows. Flags not listed are kept in `podman_args`
/// with a warning.
pub const ROWS: &[Row] = &[
    // Fields quadgen has.
    row(&["--env", "-e"], Value, field(Env)),
    row(&["--env-file"], Value, field(List("environment_files"))),
    row(&["--publish", "-p"], Value, field(List("ports"))),
    row(&["--volume", "-v"], Value, field(List("volumes"))),
    row(&["--network", "--net"], Value, field(Network)),
    row(&["--label", "-l"], Value, field(Label)),
    row(&["--device"], Value, field(List("devices"))),
    row(&["--user", "-u"], Value, field(Scalar("user"))),
    row(&["--entrypoint"], Value, field(Scalar("entrypoint"))),
    row(&["--stop-timeout"], Value, field(Seconds("stop_timeout"))),
    row(&["--health-cmd"], Value, field(Health("cmd"))),
    row(&["--health-interval"], Value, field(Health("interval"))),
    row(&["--health-timeout"], Value, field(Health("timeout"))),
    row(&["--health-retries"], Value, field(Health("retries"))),
    row(
        &["--health-start-period"],
        Value,
        field(Health("start_period")),
    ),
    row(&["--health-on-failure"], Value, field(Health("on_failure"))),
    row(&["--pull"], Value, field(Pull)),
    row(&["--cap-add"], Values, field(List("cap_add"))),
    row(&["--cap-drop"], Values, field(List("cap_drop"))),
    row(&["--privileged"], Nothing, field(Bool("privileged"))),
    row(&["--security-opt"], Value, field(SecurityOpt)),
    row(&["--read-only"], Nothing, field(Bool("read_only"))),
    row(
        &["--read-only-tmpfs"],
        Nothing,
        field(Bool("read_only_tmpfs")),
    ),
    row(&["--tmpfs"], Value, field(List("tmpfs"))),
    row(&["--shm-size"], Value, field(Scalar("shm_size"))),
    row(&["--sysctl"], Values, field(Map("sysctls"))),
    row(&["--ulimit"], Values, field(Map("ulimits"))),
    row(&["--hostname", "-h"], Value, field(Scalar("hostname"))),
    row(&["--dns"], Values, field(List("dns"))),
    row(&["--dns-search"], Values, field(List("dns_search"))),
    row(
        &["--dns-option", "--dns-opt"],
        Values,
        field(List("dns_options")),
    ),
    row(&["--add-host"], Values, field(List("extra_hosts"))),
    row(&["--group-add"], Values, field(List("group_add"))),
    row(&["--workdir", "-w"], Value, field(Scalar("working_dir"))),
    row(&["--init"], Nothing, field(Bool("init"))),
    row(&["--stop-signal"], Value, field(Scalar("stop_signal"))),
    row(&["--userns"], Value, field(Scalar("userns"))),
    row(&["--tz"], Value, field(Scalar("timezone"))),
    row(&["--log-driver"], Value, field(Scalar("log_driver"))),
    row(&["--log-opt"], Values, field(Map("log_options"))),
    row(&["--memory", "-m"], Value, field(Scalar("memory"))),
    row(&["--cpus"], Value, field(Scalar("cpus"))),
    row(&["--pids-limit"], Value, field(Int("pids_limit"))),
    // Keys of the one network the container joins (`networks = [{ name, ip, … }]`).
    row(&["--ip"], Value, field(NetworkKey("ip"))),
    row(&["--ip6"], Value, field(NetworkKey("ip6"))),
    row(&["--network-alias"], Values, field(NetworkKey("aliases"))),
    row(&["--mac-address"], Value, field(NetworkKey("mac"))),
    // What quadgen and quadlet provide.
    row(
        &["--name"],
        Value,
        Provided("the container is named after its inventory entry"),
    ),
    row(
        &["--rm"],
        Nothing,
        Provided("quadlet always runs the container with --rm"),
    ),
    row(
        &["--replace"],
        Nothing,
        Provided("quadlet always runs the container with --replace"),
    ),
    row(
        &["--detach", "-d"],
        Nothing,
        Provided("quadlet runs the container detached"),
    ),
    row(
        &["--sdnotify"],
        Value,
        Provided("quadgen sets Notify= (healthy when there is a health check)"),
    ),
    row(
        &["--cidfile"],
        Value,
        Provided("quadlet keeps its own cidfile"),
    ),
    row(
        &["--cgroups"],
        Value,
        Provided("quadlet runs the container in its service's cgroup (--cgroups=split)"),
    ),
    row(
        &["--restart"],
        Value,
        Provided(
            "systemd restarts the unit (`restart`); podman's own restart policy would fight it",
        ),
    ),
];

/// The row for a flag name (`--shm-size`, `-h`).
pub fn lookup(name: &str) -> Option<&'static Row> {
    ROWS.iter().find(|r| r.names.contains(&name))
}

/// One flag as read from the words: its row (if known), the name as written, and its value.
#[derive(Debug, Clone)]
pub struct Flag<T> {
    pub row: Option<&'static Row>,
    pub name: String,
    pub value: Option<String>,
    /// The words it was written as (one or two), for `podman_args` and messages.
    pub words: Vec<String>,
    /// Where the first word came from (the caller's tag: a location).
    pub at: T,
}

/// Reads flags from words, as podman's parser (pflag) does: `--flag=value`, `--flag value`,
/// `-f value`, `-f=value`, `-fvalue`. An unknown `--flag` followed by a word that is not a flag
/// takes it as its value (both stay together in `podman_args`). A word that is not a flag at all
/// is returned with `name` empty.
pub fn parse<T: Clone>(words: &[(String, T)]) -> Vec<Flag<T>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (w, at) = &words[i];
        i += 1;
        let (name, inline) = split(w);
        let row = if name.is_empty() { None } else { lookup(&name) };
        let wants_value = match row {
            Some(r) => r.takes != Takes::Nothing,
            None => !name.is_empty() && name.starts_with("--"),
        };
        let mut flag = Flag {
            row,
            name,
            value: inline,
            words: vec![w.clone()],
            at: at.clone(),
        };
        if flag.value.is_none() && wants_value {
            let next = words.get(i).map(|(n, _)| n);
            let takes_next = match (row, next) {
                (Some(_), Some(_)) => true,
                (None, Some(n)) => !n.starts_with('-'),
                _ => false,
            };
            if let (true, Some(n)) = (takes_next, next) {
                flag.value = Some(n.clone());
                flag.words.push(n.clone());
                i += 1;
            }
        }
        out.push(flag);
    }
    out
}

/// A word's flag name and inline value. Short flags: `-e=V` and `-eV` carry the value inline
/// (a short name that takes no value, `-d`, has none).
fn split(word: &str) -> (String, Option<String>) {
    if let Some(long) = word.strip_prefix("--") {
        if long.is_empty() {
            return (String::new(), None);
        }
        return match word.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (word.to_string(), None),
        };
    }
    let mut chars = word.chars();
    match (chars.next(), chars.next()) {
        (Some('-'), Some(c)) if c != '-' => {
            let name = format!("-{c}");
            let rest = chars.as_str();
            let takes = lookup(&name).is_some_and(|r| r.takes != Takes::Nothing);
            if rest.is_empty() {
                (name, None)
            } else if let Some(v) = rest.strip_prefix('=') {
                (name, Some(v.to_string()))
            } else if takes {
                (name, Some(rest.to_string()))
            } else {
                // `-it` and the like: not a flag the table knows as written.
                (word.to_string(), None)
            }
        }
        _ => (String::new(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Vec<(String, usize)> {
        ws.iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), i))
            .collect()
    }

    fn read(ws: &[&str]) -> Vec<(String, Option<String>, usize)> {
        parse(&words(ws))
            .into_iter()
            .map(|f| (f.name, f.value, f.at))
            .collect()
    }

    #[test]
    fn both_forms_and_short_flags_read_as_podman_reads_them() {
        let got = read(&[
            "--network=media",
            "--shm-size",
            "1g",
            "-e",
            "A=1",
            "-eB=2",
            "-e=C=3",
            "-d",
            "--init",
            "--privileged=false",
            "--health-cmd=curl -f http://x/",
        ]);
        let want: Vec<(String, Option<String>, usize)> = vec![
            ("--network".into(), Some("media".into()), 0),
            ("--shm-size".into(), Some("1g".into()), 1),
            ("-e".into(), Some("A=1".into()), 3),
            ("-e".into(), Some("B=2".into()), 5),
            ("-e".into(), Some("C=3".into()), 6),
            ("-d".into(), None, 7),
            ("--init".into(), None, 8),
            ("--privileged".into(), Some("false".into()), 9),
            ("--health-cmd".into(), Some("curl -f http://x/".into()), 10),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn an_unknown_flag_keeps_its_value_and_a_switch_does_not_eat_the_next_flag() {
        let got = read(&[
            "--annotation",
            "a=b",
            "--tty",
            "--init",
            "--oom-score-adj=5",
        ]);
        assert_eq!(got[0], ("--annotation".into(), Some("a=b".into()), 0));
        assert_eq!(got[1], ("--tty".into(), None, 2));
        assert_eq!(got[2], ("--init".into(), None, 3));
        assert_eq!(got[3], ("--oom-score-adj".into(), Some("5".into()), 4));
        assert!(parse(&words(&["--annotation", "a=b"]))[0].row.is_none());
    }

    #[test]
    fn every_flag_name_has_one_row() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROWS {
            for n in r.names {
                assert!(seen.insert(*n), "{n} has two rows");
                assert!(n.starts_with('-'));
            }
            assert!(
                r.names[0].starts_with("--"),
                "{:?}: long name first",
                r.names
            );
        }
    }
}
