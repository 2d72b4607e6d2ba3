//! The checks of the security, resource and runtime fields and of the escape hatches, as a user
//! sees them: located errors with what to do.

use std::path::Path;

use crate::compile::compile;
use crate::compile::version::PodmanVersion;

const HEAD: &str =
    "[containers.web]\nimage = \"docker.io/library/busybox:latest\"\nauto_update = \"none\"\n";

/// The rendered errors of an inventory that must be refused.
fn refused(fields: &str) -> String {
    let src = format!("{HEAD}{fields}");
    match compile(Path::new("inv.toml"), &src, PodmanVersion::DEFAULT) {
        Ok(_) => panic!("must be refused:\n{src}"),
        Err(r) => r.render(false),
    }
}

/// The rendered warnings of an inventory that must build.
fn warnings(fields: &str) -> String {
    let src = format!("{HEAD}{fields}");
    match compile(Path::new("inv.toml"), &src, PodmanVersion::DEFAULT) {
        Ok(c) => crate::compile::diagnostic::render(&c.warnings, "inv.toml", &src, false),
        Err(r) => panic!("rejected:\n{}", r.render(false)),
    }
}

#[test]
fn a_misspelt_capability_is_located_with_a_did_you_mean() {
    let text = refused("cap_add = [\"NET_ADMIN\", \"CAP_NET_ADMN\"]\n");
    assert!(
        text.contains("`CAP_NET_ADMN` is not a Linux capability"),
        "{text}"
    );
    assert!(text.contains("inv.toml:4:25"), "{text}");
    assert!(text.contains("did you mean `NET_ADMIN`?"), "{text}");
    let text = refused("cap_drop = [\"sys_admn\"]\n");
    assert!(text.contains("did you mean `SYS_ADMIN`?"), "{text}");
}

#[test]
fn capabilities_are_accepted_in_any_form_and_written_in_one() {
    let src = format!(
        "{HEAD}cap_add = [\"net_admin\", \"CAP_NET_ADMIN\", \"Cap_Perfmon\", \"bpf\", \"CHECKPOINT_RESTORE\"]\ncap_drop = [\"all\"]\n"
    );
    let c = compile(Path::new("i.toml"), &src, PodmanVersion::DEFAULT).expect("valid");
    let text = &c.files[0].text;
    for line in [
        "AddCapability=CAP_NET_ADMIN\nAddCapability=CAP_PERFMON\nAddCapability=CAP_BPF\nAddCapability=CAP_CHECKPOINT_RESTORE\n",
        "DropCapability=ALL\n",
    ] {
        assert!(text.contains(line), "{text}");
    }
}

#[test]
fn bad_ulimits_are_located() {
    let text = refused("ulimits = { nofiles = \"1024\" }\n");
    assert!(
        text.contains("`nofiles` is not a ulimit podman knows"),
        "{text}"
    );
    assert!(text.contains("inv.toml:4:13"), "{text}");
    assert!(text.contains("did you mean `nofile`?"), "{text}");
    let text = refused("ulimits = { nofile = \"65535:1024\" }\n");
    assert!(
        text.contains("the soft limit is above the hard limit"),
        "{text}"
    );
    let text = refused("ulimits = { nofile = \"-1\" }\n");
    assert!(text.contains("`nofile` cannot be unlimited"), "{text}");
    let text = refused("ulimits = { nproc = \"unlimited\" }\n");
    assert!(text.contains("-1 is unlimited"), "{text}");
}

#[test]
fn bad_sizes_are_located() {
    let text = refused("shm_size = \"1 GB\"\n");
    assert!(text.contains("shm_size `1 GB` is not a size"), "{text}");
    assert!(text.contains("inv.toml:4:12"), "{text}");
    for bad in [
        "memory = \"2x\"",
        "memory = \"0\"",
        "memory = \"-1g\"",
        "shm_size = \"\"",
    ] {
        let text = refused(&format!("{bad}\n"));
        assert!(text.contains("is not a size"), "{bad}: {text}");
    }
    let text = refused("tmpfs = [\"/run:size=lots\"]\n");
    assert!(text.contains("`size=lots` is not a tmpfs option"), "{text}");
    let text = refused("tmpfs = [\"/run:mode=1777,noexc\"]\n");
    assert!(text.contains("did you mean `noexec`?"), "{text}");
    let text = refused("tmpfs = [\"run\"]\n");
    assert!(text.contains("not an absolute container path"), "{text}");
    let text = refused("cpus = \"1,5\"\n");
    assert!(text.contains("not a number of CPUs"), "{text}");
    let text = refused("pids_limit = 0\n");
    assert!(text.contains("pids_limit 0 is not a limit"), "{text}");
}

#[test]
fn cdi_devices_and_device_permissions_are_checked() {
    let text = refused("devices = [\"nvidia.com/gpu\"]\n");
    assert!(
        text.contains("`nvidia.com/gpu` is not a CDI device name"),
        "{text}"
    );
    assert!(text.contains("inv.toml:4:12"), "{text}");
    assert!(text.contains("nvidia.com/gpu=all"), "{text}");
    let text = refused("devices = [\"-nvidia.com/gpu=all\"]\n");
    assert!(text.contains("is not a CDI device name"), "{text}");
    let text = refused("devices = [\"/dev/fuse:/dev/fuse:rwx\"]\n");
    assert!(text.contains("`rwx` are not device permissions"), "{text}");
    let text = refused("devices = [\"/dev/fuse:/dev/fuse:rr\"]\n");
    assert!(text.contains("`rr` are not device permissions"), "{text}");
    let src = format!("{HEAD}devices = [\"nvidia.com/gpu=all\", \"/dev/fuse:/dev/fuse:rwm\"]\n");
    let c = compile(Path::new("i.toml"), &src, PodmanVersion::DEFAULT).expect("valid");
    let text = &c.files[0].text;
    assert!(text.contains("AddDevice=nvidia.com/gpu=all\n"), "{text}");
    assert!(text.contains("RequiresMountsFor=/dev/fuse\n"), "{text}");
    assert!(!text.contains("RequiresMountsFor=nvidia"), "{text}");
}

#[test]
fn runtime_values_are_checked() {
    for (field, message) in [
        (
            "sysctls = { \"kernel.panic\" = \"1\" }",
            "it is not namespaced",
        ),
        (
            "extra_hosts = [\"nas.lan=10.0.0.2\"]",
            "is not `NAME:ADDRESS`",
        ),
        ("extra_hosts = [\"nas.lan:[fd00::2]\"]", "no brackets"),
        (
            "extra_hosts = [\"nas.lan:10.0.0.256\"]",
            "is not `NAME:ADDRESS`",
        ),
        ("dns = [\"dns.quad9.net\"]", "is not an IP address"),
        ("hostname = \"my_host\"", "is not a host name"),
        ("stop_signal = \"SIGTREM\"", "did you mean `SIGTERM`?"),
        ("userns = \"keepid\"", "did you mean `keep-id`?"),
        ("log_driver = \"journal\"", "did you mean `journald`?"),
        ("working_dir = \"app\"", "is not an absolute path"),
        ("timezone = \"../etc/passwd\"", "is not a time zone"),
        (
            "seccomp_profile = \"default.json\"",
            "is not an absolute path",
        ),
        (
            "security_label_type = \"spc_t:s0\"",
            "is not an SELinux type",
        ),
        ("group_add = [\"--privileged\"]", "is not a group"),
    ] {
        let text = refused(&format!("{field}\n"));
        assert!(text.contains(message), "{field}: {text}");
        assert!(text.contains("inv.toml:4:"), "{field}: {text}");
    }
}

#[test]
fn privileged_warns_with_what_it_grants() {
    let text = warnings("privileged = true\n");
    assert!(
        text.contains("every capability, every host device"),
        "{text}"
    );
    assert!(text.contains("inv.toml:4:14"), "{text}");
    assert_eq!(warnings("privileged = false\n"), "");
}

#[test]
fn podman_args_that_override_quadgen_are_refused_with_the_field_to_use() {
    let text = refused(
        "podman_args = [\"--name=evil\", \"--pull=newer\", \"--network=host\", \"--label\", \"io.containers.autoupdate=disabled\", \"--rm\", \"--sdnotify=container\"]\n",
    );
    for expected in [
        "podman argument `--name` would override what quadgen generates",
        "use `pull`",
        "use `networks`",
        "the `io.containers.autoupdate` label is set by quadgen",
        "podman argument `--rm`",
        "podman argument `--sdnotify`",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert!(text.contains("inv.toml:4:16"), "{text}");
    for short in [
        "-l=io.containers.autoupdate=disabled",
        "-lio.containers.autoupdate=x",
    ] {
        let text = refused(&format!("podman_args = [\"{short}\"]\n"));
        assert!(text.contains("is set by quadgen"), "{short}: {text}");
    }
    let text = refused("podman_args = [\"-d\"]\n");
    assert!(text.contains("quadlet sets it"), "{text}");
}

#[test]
fn podman_args_a_field_covers_warn_with_the_field() {
    let text = warnings("podman_args = [\"--cap-add=NET_ADMIN\", \"--shm-size\", \"1g\"]\n");
    assert!(text.contains("use `cap_add` instead"), "{text}");
    assert!(text.contains("use `shm_size` instead"), "{text}");
    assert!(!text.contains("error"), "{text}");
    for covered in [
        "\"--security-opt=no-new-privileges\"",
        "\"--security-opt\", \"seccomp=unconfined\"",
        "\"--security-opt\", \"label=type:spc_t\"",
    ] {
        let text = warnings(&format!("podman_args = [{covered}]\n"));
        assert!(text.contains("use `no_new_privileges"), "{covered}: {text}");
    }
}

/// Values no field can say (an AppArmor profile, podman's `json-file` alias) are what the escape
/// hatch is for: no warning that sends the user to a field which would refuse them.
#[test]
fn podman_args_values_no_field_takes_do_not_warn() {
    let text = warnings(
        "podman_args = [\"--security-opt=apparmor=unconfined\", \"--security-opt\", \"label=level:s0\", \"--log-driver=json-file\", \"--sysctl=kernel.hostname=x\", \"--sysctl\", \"net.ipv4.ip_forward=\"]\n",
    );
    assert!(!text.contains("instead"), "{text}");
    // A sysctl the field takes still points to it.
    let text = warnings("podman_args = [\"--sysctl\", \"net.ipv4.ip_forward=1\"]\n");
    assert!(text.contains("use `sysctls` instead"), "{text}");
}

#[test]
fn raw_keys_that_override_quadgen_are_refused() {
    let text = refused(
        "[containers.web.quadlet.Container]\nLabel = \"io.containers.autoupdate=disabled\"\nPull = \"always\"\nPodmanArgs = \"--name=evil\"\n",
    );
    assert!(
        text.contains("label is set by quadgen from `auto_update`"),
        "{text}"
    );
    assert!(text.contains("inv.toml:5:9"), "{text}");
    assert!(text.contains("`Pull=` is set by quadgen"), "{text}");
    assert!(text.contains("use the inventory's `podman_args`"), "{text}");
    let text = refused("[containers.web.quadlet.Service]\nExecStart = \"/bin/true\"\n");
    assert!(text.contains("`ExecStart=` is set by quadgen"), "{text}");
    let text = warnings("[containers.web.quadlet.Container]\nShmSize = \"1g\"\n");
    assert!(text.contains("use `shm_size` instead"), "{text}");
}

#[test]
fn defaults_carry_the_new_fields_and_merge_their_maps() {
    let src = "[defaults]\ncap_add = [\"NET_RAW\"]\nsysctls = { \"net.ipv4.ip_forward\" = \"1\", \"net.core.somaxconn\" = \"1024\" }\n\
               [containers.web]\nimage = \"docker.io/library/busybox:latest\"\nauto_update = \"none\"\nsysctls = { \"net.core.somaxconn\" = \"4096\" }\n";
    let c = compile(Path::new("i.toml"), src, PodmanVersion::DEFAULT).expect("valid");
    let text = &c.files[0].text;
    assert!(text.contains("AddCapability=CAP_NET_RAW\n"), "{text}");
    assert!(
        text.contains("Sysctl=net.core.somaxconn=4096\nSysctl=net.ipv4.ip_forward=1\n"),
        "{text}"
    );
}

#[test]
fn options_podman_refuses_with_the_host_or_no_network_are_refused() {
    let text = refused(
        "networks = [\"host\"]\nsysctls = { \"net.ipv4.ip_forward\" = \"1\", \"kernel.shmmax\" = \"1\" }\n",
    );
    assert!(
        text.contains("podman refuses the sysctl `net.ipv4.ip_forward`"),
        "{text}"
    );
    assert_eq!(
        text.matches("podman refuses the sysctl").count(),
        1,
        "{text}"
    );
    assert!(text.contains("inv.toml:5:13"), "{text}");
    let text = refused("networks = [\"none\"]\ndns = [\"9.9.9.9\"]\n");
    assert!(text.contains("podman refuses DNS settings"), "{text}");
    assert!(text.contains("inv.toml:5:7"), "{text}");
}
