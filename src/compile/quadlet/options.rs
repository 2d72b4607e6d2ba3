//! The container options ([`Security`], [`Resources`], [`Runtime`]) as Quadlet keys,
//! or, where the target's quadlet has no key, as `PodmanArgs=` words.

use super::UnitBuilder;
use crate::compile::model::{ListItem, Resources, Runtime, Security};
use crate::compile::version::{PodmanVersion, check_key};
use crate::unit::Section::{self, Container as C};

/// Capabilities, privileges and confinement. Quadlet writes capabilities in lower case
/// (`--cap-add cap_net_admin`), which podman reads in any case.
pub(super) fn security(b: &mut UnitBuilder, s: &Security) {
    for cap in &s.cap_drop {
        b.push(C, "DropCapability", cap.clone());
    }
    for cap in &s.cap_add {
        b.push(C, "AddCapability", cap.clone());
    }
    if s.no_new_privileges {
        b.push(C, "NoNewPrivileges", "true");
    }
    if let Some(read_only) = s.read_only {
        b.push(C, "ReadOnly", yes_no(read_only));
    }
    if let Some(tmpfs) = s.read_only_tmpfs {
        b.push(C, "ReadOnlyTmpfs", yes_no(tmpfs));
    }
    if let Some(profile) = &s.seccomp_profile {
        b.push(C, "SeccompProfile", profile.written());
    }
    if s.security_label_disable {
        b.push(C, "SecurityLabelDisable", "true");
    }
    if let Some(t) = &s.security_label_type {
        b.push(C, "SecurityLabelType", t.clone());
    }
    // No quadlet (5.4 to 5.8) has a key for it.
    if s.privileged {
        b.push(C, "PodmanArgs", "--privileged");
    }
}

/// Limits, tmpfs mounts, shared memory, sysctls and ulimits. `Memory=` exists from 5.5 on;
/// `--cpus` has no key in any quadlet.
pub(super) fn resources(b: &mut UnitBuilder, r: &Resources, target: PodmanVersion) {
    items(b, "Tmpfs", &r.tmpfs);
    if let Some(size) = &r.shm_size {
        b.push(C, "ShmSize", size.clone());
    }
    items(b, "Sysctl", &r.sysctls);
    items(b, "Ulimit", &r.ulimits);
    if let Some(memory) = &r.memory {
        if has_key("Memory", target) {
            b.push(C, "Memory", memory.clone());
        } else {
            b.push(C, "PodmanArgs", format!("--memory={memory}"));
        }
    }
    if let Some(cpus) = &r.cpus {
        b.push(C, "PodmanArgs", format!("--cpus={cpus}"));
    }
    if let Some(limit) = r.pids_limit {
        b.push(C, "PidsLimit", limit.to_string());
    }
}

/// Hostname, DNS, hosts, groups, working directory, init, stop signal, user namespace, timezone
/// and logging.
pub(super) fn runtime(b: &mut UnitBuilder, r: &Runtime) {
    if let Some(hostname) = &r.hostname {
        b.push(C, "HostName", hostname.clone());
    }
    items(b, "DNS", &r.dns);
    items(b, "DNSSearch", &r.dns_search);
    items(b, "DNSOption", &r.dns_options);
    items(b, "AddHost", &r.extra_hosts);
    items(b, "GroupAdd", &r.group_add);
    if let Some(dir) = &r.working_dir {
        b.push(C, "WorkingDir", dir.written.clone());
    }
    if let Some(init) = r.init {
        b.push(C, "RunInit", yes_no(init));
    }
    if let Some(signal) = &r.stop_signal {
        b.push(C, "StopSignal", signal.clone());
    }
    if let Some(userns) = &r.userns {
        b.push(C, "UserNS", userns.written.clone());
    }
    if let Some(tz) = &r.timezone {
        b.push(C, "Timezone", tz.clone());
    }
    if let Some(driver) = &r.log_driver {
        b.push(C, "LogDriver", driver.clone());
    }
    items(b, "LogOpt", &r.log_options);
}

/// Items of a key quadlet splits on whitespace: a plain word goes to the key, anything else to
/// one `PodmanArgs=` word.
fn items(b: &mut UnitBuilder, key: &str, list: &[ListItem]) {
    for item in list {
        match item.key_value() {
            Some(v) => b.push(C, key, v),
            None => b.push(C, "PodmanArgs", item.arg.quoted.clone()),
        }
    }
}

fn has_key(key: &str, target: PodmanVersion) -> bool {
    check_key(Section::Container, key, target).is_ok()
}

fn yes_no(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}
