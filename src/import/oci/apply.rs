//! One `podman run` flag (read through [`super::flags::ROWS`]) into its inventory field. A value
//! goes into its field only when the inventory takes it ([`super::probe`]); otherwise it stays in
//! `podman_args` as one `--flag=value` word, with a warning giving the inventory's reason.

use super::Notes;
use super::ctr::{Ctr, Origin, keep};
use super::fields::{Fields, Val};
use super::flags::{Field, Flag, Takes, Target};
use super::{network, probe};
use crate::compile::model::{Duration, parse_port};
use crate::import::map::{SECRET_ENV_DIR, secret_looking};
use crate::import::toml_out::string;
use crate::import::{ImportError, MovedSecret};

/// How a value goes into a field.
#[derive(Debug, Clone)]
pub enum Put {
    /// A scalar (the last flag wins, as in podman).
    Set(Val),
    /// One more list item.
    Push(String),
    /// One table entry.
    Insert(String, String),
}

impl Put {
    fn into(self, fields: &mut Fields, name: &str) {
        match self {
            Put::Set(v) => fields.set(name, v),
            Put::Push(item) => fields.push(name, item),
            Put::Insert(k, v) => fields.insert(name, k, v),
        }
    }
}

/// The option (or `extraOptions: WORD`) a flag is reported under.
fn label(flag: &Flag<Origin>) -> Origin {
    let mut at = flag.at.clone();
    if at.option == "extraOptions" {
        at.option = format!("extraOptions: {}", flag.words.join(" "));
    }
    at
}

/// One flag into its field, `podman_args`, or a note.
pub fn apply(ctr: &mut Ctr<'_>, notes: &mut Notes, flag: Flag<Origin>) {
    let at = label(&flag);
    let Some(row) = flag.row else {
        let why = if flag.name.is_empty() {
            "not a podman flag: kept in podman_args as it is (podman would have read it there too)"
        } else {
            "no inventory field: kept in podman_args (passed to podman unchecked)"
        };
        ctr.fields.podman_args.extend(flag.words.iter().cloned());
        ctr.note(notes, &at, why);
        return;
    };
    if row.takes != Takes::Nothing && flag.value.is_none() {
        ctr.not_carried(
            notes,
            &at,
            "it takes a value and has none (podman would refuse it)",
        );
        return;
    }
    let f = match row.target {
        Target::Provided(why) => return ctr.note(notes, &at, &format!("dropped: {why}")),
        Target::Field(f) => f,
    };
    let long = row.names[0];
    match (row.takes, flag.value) {
        // A string slice: podman reads `--cap-add=A,B` as two values.
        (Takes::Values, Some(v)) => {
            for part in v.split(',').filter(|p| !p.is_empty()) {
                field(ctr, notes, &at, long, f, Some(part.to_string()));
            }
        }
        (_, value) => field(ctr, notes, &at, long, f, value),
    }
}

/// One value of the flag `long` into the field `f`.
pub(super) fn field(
    ctr: &mut Ctr<'_>,
    notes: &mut Notes,
    at: &Origin,
    long: &str,
    f: Field,
    value: Option<String>,
) {
    let word = match &value {
        Some(v) => format!("{long}={v}"),
        None => long.to_string(),
    };
    let v = value.clone().unwrap_or_default();
    match f {
        Field::List(n) => list_item(ctr, notes, at, &word, n, v),
        Field::Scalar(n) => scalar(ctr, notes, at, &word, n, v),
        Field::Bool(n) => match go_bool(value.as_deref()) {
            Some(b) => checked(ctr, notes, at, &word, n, Put::Set(Val::Bool(b))),
            None => keep(
                ctr,
                notes,
                at,
                word,
                "not true or false: kept in podman_args",
            ),
        },
        Field::Int(n) => match v.parse::<i64>() {
            Ok(i) => checked(ctr, notes, at, &word, n, Put::Set(Val::Int(i))),
            Err(_) => keep(
                ctr,
                notes,
                at,
                word,
                "not a whole number: kept in podman_args",
            ),
        },
        Field::Seconds(n) => match v.parse::<u64>() {
            Ok(s) => ctr.fields.set(n, Val::Str(format!("{s}s"))),
            Err(_) => ctr.not_carried(
                notes,
                at,
                "not a whole number of seconds (podman would refuse it); the default stop timeout applies",
            ),
        },
        Field::Map(n) => match v.split_once('=') {
            Some((k, val)) => {
                let put = Put::Insert(k.to_string(), val.to_string());
                checked(ctr, notes, at, &word, n, put);
            }
            None => keep(ctr, notes, at, word, "not KEY=VALUE: kept in podman_args"),
        },
        Field::Env => env(ctr, notes, at, &v),
        Field::Label => label_flag(ctr, notes, at, &v),
        Field::Network => network::flag(ctr, notes, at, &v),
        Field::NetworkKey(k) => network::key(ctr, at, long, k, v),
        Field::Health(k) => health(ctr, notes, at, k, &v),
        Field::Pull => pull(ctr, notes, at, &v),
        Field::SecurityOpt => match security_opt(&v) {
            Some((n, put)) => checked(ctr, notes, at, &word, n, put),
            None => keep(
                ctr,
                notes,
                at,
                word,
                "no inventory field for this security option: kept in podman_args (passed to podman unchecked)",
            ),
        },
    }
}

/// A value into the field `name` when the inventory takes it; otherwise `word` stays in
/// `podman_args` with the inventory's reason.
pub(super) fn checked(
    ctr: &mut Ctr<'_>,
    notes: &mut Notes,
    at: &Origin,
    word: &str,
    name: &str,
    put: Put,
) {
    let mut alone = Fields::default();
    put.clone().into(&mut alone, name);
    match probe::accepts(&alone, &[], &[]) {
        Ok(()) => put.into(&mut ctr.fields, name),
        Err(why) => keep(
            ctr,
            notes,
            at,
            word.to_string(),
            &format!("`{name}` does not take it ({why}): kept in podman_args"),
        ),
    }
}

/// A switch's value as podman (Go's `strconv.ParseBool`) reads it; none is `true`.
fn go_bool(v: Option<&str>) -> Option<bool> {
    match v {
        None | Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Some(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Some(false),
        Some(_) => None,
    }
}

/// `--security-opt` values that have an inventory field, read as podman reads them: split at
/// the first `=`, or at the first `:` when there is no `=` (Docker's older form).
fn security_opt(v: &str) -> Option<(&'static str, Put)> {
    if v == "no-new-privileges" {
        return Some(("no_new_privileges", Put::Set(Val::Bool(true))));
    }
    let (k, value) = if v.contains('=') {
        v.split_once('=')?
    } else {
        v.split_once(':')?
    };
    let put = match (k, value) {
        ("no-new-privileges", b) => ("no_new_privileges", Put::Set(Val::Bool(go_bool(Some(b))?))),
        ("label", "disable") => ("security_label_disable", Put::Set(Val::Bool(true))),
        ("label", l) => (
            "security_label_type",
            Put::Set(Val::Str(l.strip_prefix("type:")?.to_string())),
        ),
        ("seccomp", p) => ("seccomp_profile", Put::Set(Val::Str(p.to_string()))),
        _ => return None,
    };
    Some(put)
}

/// A scalar; podman's `json-file` log driver is its `k8s-file`.
fn scalar(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, word: &str, name: &str, v: String) {
    if name == "log_driver" && v == "json-file" {
        ctr.note(
            notes,
            at,
            "`json-file` is podman's alias of `k8s-file`: written as `log_driver = \"k8s-file\"`",
        );
        return checked(
            ctr,
            notes,
            at,
            word,
            name,
            Put::Set(Val::Str("k8s-file".into())),
        );
    }
    checked(ctr, notes, at, word, name, Put::Set(Val::Str(v)));
}

/// A list item; ports are checked (a bad one is refused, as podman would), a named volume is
/// remembered for its table, and every other item is checked by the inventory.
fn list_item(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, word: &str, name: &str, v: String) {
    match name {
        "ports" => {
            if let Err(e) = parse_port(&v) {
                notes.errors.push(ImportError::at(&at.loc, e.to_string()));
                return;
            }
            ctr.fields.push(name, v);
        }
        "volumes" => volume(ctr, notes, at, word, v),
        _ => checked(ctr, notes, at, word, name, Put::Push(v)),
    }
}

/// `-v`: checked by the inventory (with its named volume's table); a named volume is remembered
/// for its table.
fn volume(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, word: &str, v: String) {
    let source = v.split(':').next().unwrap_or_default().to_string();
    let named = v.contains(':') && !source.starts_with('/');
    let mut alone = Fields::default();
    alone.push("volumes", v.clone());
    let tables = if named {
        vec![source.clone()]
    } else {
        Vec::new()
    };
    if let Err(why) = probe::accepts(&alone, &[], &tables) {
        let why = format!("`volumes` does not take it ({why}): kept in podman_args");
        return keep(ctr, notes, at, word.to_string(), &why);
    }
    if named && !ctr.volumes.contains(&source) {
        ctr.volumes.push(source);
    }
    ctr.fields.push("volumes", v);
}

/// `-e KEY=VALUE`: a secret-looking value is never written (the compose importer's rule).
fn env(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, v: &str) {
    let Some((k, value)) = v.split_once('=') else {
        ctr.not_carried(notes, at, &format!("`{v}` takes its value from podman's own environment (the unit's): set it in `environment`"));
        return;
    };
    if !secret_looking(k) {
        ctr.fields
            .insert("environment", k.to_string(), value.to_string());
        return;
    }
    let file = format!("{SECRET_ENV_DIR}/{}.env", ctr.name);
    ctr.fields
        .env_comments
        .push_str(&super::fields::comment_line(&format!(
            "{k}: secret-looking: not written here; put it in {file}"
        )));
    ctr.warn(notes, at, &format!("its value looks secret, so it is not written into the inventory: put the line `{k}=…` (the value is in your Nix configuration, and so in the world-readable Nix store today) into `{file}` (mode 0600); the inventory lists that file in `environment_files`"));
    if !matches!(ctr.fields.get("environment_files"), Some(Val::List(f)) if f.contains(&file)) {
        ctr.fields.push("environment_files", file.clone());
    }
    notes.moved.push(MovedSecret {
        container: ctr.name.to_string(),
        key: k.to_string(),
        env_file: file,
    });
}

/// `-l KEY=VALUE`; podman's auto-update label becomes `auto_update` (quadgen's default is
/// `registry`).
fn label_flag(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, v: &str) {
    let (k, value) = v.split_once('=').unwrap_or((v, ""));
    if k != "io.containers.autoupdate" {
        let put = Put::Insert(k.to_string(), value.to_string());
        return checked(ctr, notes, at, &format!("--label={v}"), "labels", put);
    }
    match value {
        "registry" | "image" => ctr.note(notes, at, "dropped: quadgen sets AutoUpdate=registry on every container (podman-auto-update.timer, with rollback)"),
        "local" => ctr.fields.set("auto_update", Val::Str("local".into())),
        other => ctr.not_carried(notes, at, &format!("`{other}` is not an auto-update policy quadgen knows (registry, local); quadgen's default registry applies")),
    }
}

/// `--health-*`: the health check (durations and retries checked here).
fn health(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, k: &'static str, v: &str) {
    let encoded = match k {
        "retries" => match v.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => {
                notes.errors.push(ImportError::at(
                    &at.loc,
                    format!("`{v}`: health retries are a whole number"),
                ));
                return;
            }
        },
        "interval" | "timeout" | "start_period" => match Duration::parse(v) {
            Ok(_) => string(v),
            Err(e) => {
                notes.errors.push(ImportError::at(&at.loc, e.to_string()));
                return;
            }
        },
        "cmd" if v.is_empty() || v == "none" => {
            let why = "an empty or `none` --health-cmd turns the image's HEALTHCHECK off, which the inventory cannot say (without `health`, quadgen does not wait for the image's check)";
            return ctr.not_carried(notes, at, why);
        }
        _ => string(v),
    };
    ctr.fields.health.retain(|(hk, _)| *hk != k);
    ctr.fields.health.push((k, encoded));
}

/// Health flags without a command tune the image's own HEALTHCHECK, which the inventory cannot
/// (and `podman_args` may not: the start gate depends on `health`).
pub(super) fn finish_health(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    if ctr.fields.health.is_empty() || ctr.fields.health.iter().any(|(k, _)| *k == "cmd") {
        return;
    }
    let at = ctr.origin("extraOptions");
    let words: Vec<String> = ctr
        .fields
        .health
        .drain(..)
        .map(|(k, v)| format!("--health-{}={}", k.replace('_', "-"), v.trim_matches('"')))
        .collect();
    ctr.not_carried(notes, &at, &format!("{} without --health-cmd tune the image's own HEALTHCHECK, which the inventory cannot: the image's own timings apply; set `health = {{ cmd = … }}` to have quadgen's", words.join(" ")));
}

/// `pull`: quadgen's own policy applies, except `never`.
fn pull(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, v: &str) {
    match v {
        "never" => ctr.fields.set("pull", Val::Str("never".into())),
        "missing" | "newer" | "always" => ctr.note(notes, at, &format!("`{v}` dropped: quadgen's own policy applies (Pull=missing with auto-update: a registry outage never blocks a start, and podman-auto-update.timer pulls new images)")),
        other => notes.errors.push(ImportError::at(&at.loc, format!("`{other}` is not a pull policy (always, missing, never, newer)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_options_as_podman_splits_them() {
        let set = |v: &str| match security_opt(v) {
            Some((n, Put::Set(val))) => Some((n, val)),
            _ => None,
        };
        assert_eq!(
            set("no-new-privileges"),
            Some(("no_new_privileges", Val::Bool(true)))
        );
        assert_eq!(
            set("no-new-privileges=false"),
            Some(("no_new_privileges", Val::Bool(false)))
        );
        assert_eq!(
            set("no-new-privileges:true"),
            Some(("no_new_privileges", Val::Bool(true)))
        );
        assert_eq!(
            set("label=disable"),
            Some(("security_label_disable", Val::Bool(true)))
        );
        assert_eq!(
            set("label:disable"),
            Some(("security_label_disable", Val::Bool(true)))
        );
        assert_eq!(
            set("label=type:spc_t"),
            Some(("security_label_type", Val::Str("spc_t".into())))
        );
        assert_eq!(
            set("seccomp=/etc/s.json"),
            Some(("seccomp_profile", Val::Str("/etc/s.json".into())))
        );
        assert_eq!(
            set("seccomp:unconfined"),
            Some(("seccomp_profile", Val::Str("unconfined".into())))
        );
        for none in [
            "label=level:s0:c1",
            "apparmor=unconfined",
            "mask=/proc/x",
            "no-new-privileges=maybe",
            "label",
        ] {
            assert!(security_opt(none).is_none(), "{none}");
        }
    }
}
