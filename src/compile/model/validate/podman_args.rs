//! The `podman_args` escape hatch: arguments that would override what quadgen generates (the
//! container's name, pull policy, networks, quadlet's own `--replace --rm --sdnotify`, the
//! auto-update label, …) are refused; arguments a first-class field now covers get a warning
//! naming it.

use super::resources::is_container_sysctl;
use super::{Checker, span};
use crate::compile::diagnostic::Diagnostic;
use crate::compile::inventory::Str;

/// Options that would break what quadgen promises, with what to use instead.
const REFUSED: &[(&[&str], &str)] = &[
    (
        &["--name"],
        "the container is named after its table; rename `[containers.NAME]`",
    ),
    (&["--pull"], "use `pull`"),
    (
        &["--network", "--net"],
        "use `networks`, or `network_mode` for `host`, `none` and `container:NAME`",
    ),
    (&["--pod"], "use `pod` with a `[pods.NAME]` table"),
    (
        &[
            "--replace",
            "--rm",
            "--detach",
            "-d",
            "--sdnotify",
            "--cidfile",
            "--conmon-pidfile",
            "--cgroups",
        ],
        "quadlet sets it so that systemd can run and stop the container; remove it",
    ),
    (
        &["--restart"],
        "use `restart`: systemd restarts the container, podman's own restart policy would fight it",
    ),
    (
        &["--stop-timeout"],
        "use `stop_timeout`: systemd's stop timeout is derived from it",
    ),
    (
        &[
            "--health-cmd",
            "--health-on-failure",
            "--health-interval",
            "--health-retries",
            "--health-timeout",
            "--health-start-period",
        ],
        "use `health`: the start gate (`Notify=healthy`) and the rollback depend on it",
    ),
    (&["--rootfs"], "use `image`"),
];

/// Options a first-class field now covers, with the field.
const COVERED: &[(&[&str], &str)] = &[
    (&["--cap-add"], "cap_add"),
    (&["--cap-drop"], "cap_drop"),
    (&["--privileged"], "privileged"),
    (
        &["--security-opt"],
        "no_new_privileges, seccomp_profile, security_label_disable or security_label_type",
    ),
    (&["--read-only"], "read_only"),
    (&["--read-only-tmpfs"], "read_only_tmpfs"),
    (&["--tmpfs"], "tmpfs"),
    (&["--shm-size"], "shm_size"),
    (&["--sysctl"], "sysctls"),
    (&["--ulimit"], "ulimits"),
    (&["--memory", "-m"], "memory"),
    (&["--cpus"], "cpus"),
    (&["--pids-limit"], "pids_limit"),
    (&["--hostname", "-h"], "hostname"),
    (&["--dns"], "dns"),
    (&["--dns-search"], "dns_search"),
    (&["--dns-option"], "dns_options"),
    (&["--add-host"], "extra_hosts"),
    (&["--group-add"], "group_add"),
    (&["--workdir", "-w"], "working_dir"),
    (&["--init"], "init"),
    (&["--stop-signal"], "stop_signal"),
    (&["--userns"], "userns"),
    (&["--tz"], "timezone"),
    (&["--log-driver"], "log_driver"),
    (&["--log-opt"], "log_options"),
    (&["--device"], "devices"),
    (&["--env", "-e"], "environment"),
    (&["--env-file"], "environment_files"),
    (&["--label", "-l"], "labels"),
    (&["--publish", "-p"], "ports"),
    (&["--volume", "-v"], "volumes"),
    (&["--user", "-u"], "user"),
    (&["--entrypoint"], "entrypoint"),
];

/// The label podman auto-update reads; quadgen sets it from `auto_update`.
const AUTO_UPDATE_LABEL: &str = "io.containers.autoupdate";

impl Checker {
    /// Refuses podman arguments that override what quadgen generates, and warns about those a
    /// field covers. Each argument is one word: `--opt=value`, or `--opt` and `value`.
    pub(super) fn check_podman_args(&mut self, args: &[Str]) {
        for (i, arg) in args.iter().enumerate() {
            let a = arg.get_ref();
            let (option, inline) = split_option(a);
            if !option.starts_with('-') {
                continue;
            }
            if let Some((_, help)) = REFUSED.iter().find(|(opts, _)| opts.contains(&option)) {
                self.err_help(
                    span(arg),
                    format!("podman argument `{option}` would override what quadgen generates"),
                    *help,
                );
                continue;
            }
            if matches!(option, "--label" | "-l") {
                let value = inline.or_else(|| args.get(i + 1).map(|v| v.get_ref().as_str()));
                if value.is_some_and(|v| v.starts_with(AUTO_UPDATE_LABEL)) {
                    self.err_help(
                        span(arg),
                        format!("the `{AUTO_UPDATE_LABEL}` label is set by quadgen"),
                        "use `auto_update = \"registry\"`, `\"local\"` or `\"none\"`",
                    );
                    continue;
                }
            }
            let value = inline.or_else(|| args.get(i + 1).map(|v| v.get_ref().as_str()));
            let covered = COVERED.iter().find(|(opts, _)| opts.contains(&option));
            if let Some((_, field)) = covered.filter(|_| a_field_takes(option, value)) {
                self.diags.push(
                    Diagnostic::warning(
                        span(arg),
                        format!("podman argument `{option}` has an inventory field: quadgen does not check it here"),
                    )
                    .with_help(format!("use `{field}` instead")),
                );
            }
        }
    }
}

/// Whether the covering field can say this value: most fields take any value of their option, but
/// only some `--security-opt` forms have fields, `log_driver` takes podman's own drivers and
/// `sysctls` only namespaced sysctls (a warning to use the field would send the user to an error).
fn a_field_takes(option: &str, value: Option<&str>) -> bool {
    let Some(value) = value else {
        return true;
    };
    match option {
        "--security-opt" => {
            // podman splits at the first `=`, or at the first `:` when there is none.
            let value = if value.contains('=') {
                value.to_string()
            } else {
                value.replacen(':', "=", 1)
            };
            value == "no-new-privileges"
                || value.starts_with("no-new-privileges=")
                || value.starts_with("seccomp=")
                || value == "label=disable"
                || value.starts_with("label=type:")
        }
        "--sysctl" => value
            .split_once('=')
            .is_some_and(|(name, value)| !value.is_empty() && is_container_sysctl(name)),
        "--log-driver" => matches!(
            value,
            "journald" | "k8s-file" | "none" | "passthrough" | "passthrough-tty"
        ),
        _ => true,
    }
}

/// `--opt=value` → (`--opt`, `value`); `-lvalue` or `-l=value` → (`-l`, `value`); anything else
/// is the option alone (its value, if any, is the next argument).
fn split_option(arg: &str) -> (&str, Option<&str>) {
    if let Some(long) = arg.strip_prefix("--") {
        return match long.split_once('=') {
            Some((o, v)) => (&arg[..o.len() + 2], Some(v)),
            None => (arg, None),
        };
    }
    match arg.char_indices().nth(2) {
        Some((i, _)) if arg.starts_with('-') => {
            let (o, rest) = arg.split_at(i);
            (o, Some(rest.strip_prefix('=').unwrap_or(rest)))
        }
        _ => (arg, None),
    }
}
