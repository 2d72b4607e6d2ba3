//! Secrets: `[secrets.NAME]` (a file on the host whose content becomes podman secret `NAME`) and
//! a container's use of one (`Secret=`). The value is never part of the model: only the path of
//! the file install reads it from.

use super::{HostPath, Name};

/// `[secrets.NAME]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The podman secret's name.
    pub name: Name,
    /// The file install reads the value from.
    pub file: HostPath,
}

/// How a container gets a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretKind {
    /// A file in the container: `target` (absolute, or relative to `/run/secrets`; default
    /// `/run/secrets/NAME`), with an optional owner and octal mode.
    Mount {
        target: Option<String>,
        uid: Option<u32>,
        gid: Option<u32>,
        mode: Option<u32>,
    },
    /// An environment variable of the container's processes.
    Env { target: String },
}

/// One entry of a container's `secrets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub secret: Name,
    pub kind: SecretKind,
}

impl SecretUse {
    /// The value of `Secret=` (and of `podman run --secret`): `NAME[,type=…][,target=…]…`. Every
    /// part is checked to be plain characters (no whitespace, quote, `,`, `%`, `$` or `\`), so
    /// the line needs no escaping.
    pub fn written(&self) -> String {
        let mut parts = vec![self.secret.to_string()];
        match &self.kind {
            SecretKind::Env { target } => {
                parts.push("type=env".into());
                parts.push(format!("target={target}"));
            }
            SecretKind::Mount {
                target,
                uid,
                gid,
                mode,
            } => {
                if target.is_some() || uid.is_some() || gid.is_some() || mode.is_some() {
                    parts.push("type=mount".into());
                }
                parts.extend(target.iter().map(|t| format!("target={t}")));
                parts.extend(uid.iter().map(|u| format!("uid={u}")));
                parts.extend(gid.iter().map(|g| format!("gid={g}")));
                parts.extend(mode.iter().map(|m| format!("mode={m:04o}")));
            }
        }
        parts.join(",")
    }
}

/// Whether `name` is an environment variable name podman and a shell accept:
/// `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why a mount target is refused, or `None` when it is a plain path: letters, digits, `_`, `.`,
/// `-`, `/`, no `..` component, no empty one except a leading `/`.
pub fn mount_target_problem(target: &str) -> Option<&'static str> {
    if target.is_empty() {
        return Some("is empty");
    }
    if !target
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
    {
        return Some("may hold only letters, digits, `_`, `.`, `-` and `/`");
    }
    let rest = target.strip_prefix('/').unwrap_or(target);
    if rest
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Some("has an empty, `.` or `..` component");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Name {
        Name::parse(n).expect("name")
    }

    #[test]
    fn written_forms() {
        let plain = SecretUse {
            secret: name("db_password"),
            kind: SecretKind::Mount {
                target: None,
                uid: None,
                gid: None,
                mode: None,
            },
        };
        assert_eq!(plain.written(), "db_password");
        let env = SecretUse {
            secret: name("api"),
            kind: SecretKind::Env {
                target: "API_TOKEN".into(),
            },
        };
        assert_eq!(env.written(), "api,type=env,target=API_TOKEN");
        let mount = SecretUse {
            secret: name("cert"),
            kind: SecretKind::Mount {
                target: Some("/etc/app/cert.pem".into()),
                uid: Some(1000),
                gid: Some(100),
                mode: Some(0o400),
            },
        };
        assert_eq!(
            mount.written(),
            "cert,type=mount,target=/etc/app/cert.pem,uid=1000,gid=100,mode=0400"
        );
    }

    #[test]
    fn targets() {
        assert!(is_env_name("API_TOKEN") && is_env_name("_x1"));
        assert!(!is_env_name("1X") && !is_env_name("A-B") && !is_env_name(""));
        assert_eq!(mount_target_problem("/etc/app/cert.pem"), None);
        assert_eq!(mount_target_problem("cert"), None);
        assert!(mount_target_problem("/a/../b").is_some());
        assert!(mount_target_problem("/a,b").is_some());
        assert!(mount_target_problem("a b").is_some());
        assert!(mount_target_problem("/a//b").is_some());
    }
}
