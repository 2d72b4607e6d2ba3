//! Secrets on the host: reading a secret's file, the host-local key its fingerprint is made
//! with, and the podman secrets quadgen owns.
//!
//! # Telling a changed secret without storing anything that gives it away
//!
//! Install must restart a secret's consumers when its content changes, so it must remember
//! something about the content it gave podman. A plain sha256 of the content would do, but the
//! manifest is an ordinary file (copied into backups, shown by `status --json`, readable by any
//! user in an image build): a sha256 of a short password, a PIN or a word from a list is found by
//! trying candidates, offline and fast. So the manifest stores HMAC-SHA256(key, content) instead,
//! with a 32-byte key drawn from the kernel's random source (`getrandom`) on first use and kept
//! beside the manifest as [`KEY_FILE`], mode 0600, created atomically (a temp file renamed
//! without replacing, so two installs never get two keys). Without the key the fingerprint says
//! nothing about the content (HMAC is a PRF); whoever can read the key can already read the
//! secret files on this host. A lost key only costs one restart: every fingerprint differs, so
//! every secret is given to podman again and its consumers restarted.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::host::podman::command_as;
use crate::host::process::{SystemdError, run, run_with_input};
use crate::host::scope::Scope;

/// The key file's name in the unit directory (quadlet reads files by extension: it ignores it).
pub const KEY_FILE: &str = ".quadgen-secret-key";
/// The key's length in bytes.
const KEY_BYTES: usize = 32;
/// The largest secret podman takes (podman-secret-create(1): 512 kB).
pub const MAX_SECRET_BYTES: u64 = 512 * 1000;
/// The label that marks a podman secret as quadgen's.
pub const OWNER_LABEL: &str = "io.quadgen.managed";

/// The host-local HMAC key.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; KEY_BYTES],
    /// Generated now, not yet on disk: [`SecretKey::store`] writes it.
    pub is_new: bool,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("is_new", &self.is_new)
            .finish()
    }
}

/// Why a key file or a secret file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretIoError {
    #[error("cannot read the secret key `{path}`: {source}")]
    Key {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no randomness for a new secret key: {0}")]
    Random(String),
}

impl SecretKey {
    /// A key from raw bytes (tests).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        SecretKey {
            bytes,
            is_new: false,
        }
    }

    /// The key in `root`, or a fresh random one (`is_new`) when there is none yet. Nothing is
    /// written here: a plan must not change the host.
    pub fn load_or_generate(root: &Path) -> Result<Self, SecretIoError> {
        let path = root.join(KEY_FILE);
        match crate::host::fs::read_regular(&path) {
            Ok(bytes) => {
                let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| SecretIoError::Key {
                    path: path.display().to_string(),
                    source: std::io::Error::other(format!(
                        "it is not {KEY_BYTES} bytes; remove it (every secret's consumers restart once)"
                    )),
                })?;
                Ok(SecretKey::from_bytes(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; KEY_BYTES];
                getrandom::fill(&mut bytes).map_err(|e| SecretIoError::Random(e.to_string()))?;
                Ok(SecretKey {
                    bytes,
                    is_new: true,
                })
            }
            Err(source) => Err(SecretIoError::Key {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes a new key to `root/KEY_FILE`, mode 0600, atomically and never over an existing
    /// one. Returns the key on disk: this one, or the one another writer put there first.
    pub fn store(&self, root: &Path) -> std::io::Result<SecretKey> {
        if !self.is_new {
            return Ok(self.clone());
        }
        // tempfile creates the file with mode 0600.
        let mut tmp = tempfile::Builder::new()
            .prefix(".quadgen-tmp-secret-key.")
            .tempfile_in(root)?;
        tmp.write_all(&self.bytes)?;
        tmp.as_file().sync_all()?;
        match tmp.persist_noclobber(root.join(KEY_FILE)) {
            Ok(_) => {
                crate::host::fs::sync_dir(root).map_err(std::io::Error::other)?;
                Ok(SecretKey::from_bytes(self.bytes))
            }
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                SecretKey::load_or_generate(root).map_err(std::io::Error::other)
            }
            Err(e) => Err(e.error),
        }
    }

    /// HMAC-SHA256 of `content` under this key, in lower-case hex.
    pub fn fingerprint(&self, content: &[u8]) -> String {
        // HMAC takes a key of any length: `new_from_slice` cannot fail here.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(content);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Reads a secret's file: a regular file (a symlink is followed: sops-nix and agenix link
/// into their runtime directory) of at most [`MAX_SECRET_BYTES`].
pub fn read_secret_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    if meta.len() > MAX_SECRET_BYTES {
        return Err(std::io::Error::other(format!(
            "it is larger than {MAX_SECRET_BYTES} bytes, the most podman keeps in a secret"
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Who a podman secret of some name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretOwner {
    /// No podman secret of that name.
    Absent,
    /// It carries [`OWNER_LABEL`]`=true`: quadgen made it.
    Quadgen,
    /// Someone else made it: quadgen never replaces or removes it.
    Foreign,
    /// Not asked (`--no-systemd`: no podman call).
    Unknown,
}

/// Asks podman who owns secret `name` (`podman secret exists`, then its label). Without a
/// podman to run, [`SecretOwner::Unknown`]: nothing can be replaced either.
pub fn owner(scope: &Scope, name: &str) -> Result<SecretOwner, SystemdError> {
    let podman = |args: &[&str]| {
        let (program, argv) = command_as(scope, args);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run(&program, &argv)
    };
    match podman(&["secret", "exists", name]) {
        Ok(_) => {}
        Err(SystemdError::Failed { code: Some(1), .. }) => return Ok(SecretOwner::Absent),
        Err(SystemdError::Spawn { .. }) => return Ok(SecretOwner::Unknown),
        Err(e) => return Err(e),
    }
    let format = format!("{{{{index .Spec.Labels \"{OWNER_LABEL}\"}}}}");
    let label = podman(&["secret", "inspect", "--format", &format, name])?;
    Ok(if label.trim() == "true" {
        SecretOwner::Quadgen
    } else {
        SecretOwner::Foreign
    })
}

/// `podman secret create --replace --label io.quadgen.managed=true NAME -`, the value on stdin
/// (never in an argv, which every user can read in /proc).
pub fn create_or_replace(scope: &Scope, name: &str, value: &[u8]) -> Result<(), SystemdError> {
    let label = format!("{OWNER_LABEL}=true");
    let args = [
        "secret",
        "create",
        "--replace",
        "--label",
        &label,
        name,
        "-",
    ];
    let (program, argv) = command_as(scope, &args);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run_with_input(&program, &argv, value).map(|_| ())
}

/// `podman secret rm NAME`.
pub fn remove(scope: &Scope, name: &str) -> Result<(), SystemdError> {
    let (program, argv) = command_as(scope, &["secret", "rm", name]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(&program, &argv).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_keyed() {
        let a = SecretKey::from_bytes([1; KEY_BYTES]);
        let b = SecretKey::from_bytes([2; KEY_BYTES]);
        assert_eq!(a.fingerprint(b"hunter2"), a.fingerprint(b"hunter2"));
        assert_ne!(a.fingerprint(b"hunter2"), a.fingerprint(b"hunter3"));
        assert_ne!(a.fingerprint(b"hunter2"), b.fingerprint(b"hunter2"));
        // Not the plain sha256 a dictionary attack would try.
        assert_ne!(
            a.fingerprint(b"hunter2"),
            crate::unit::sha256_hex(b"hunter2")
        );
        // RFC 4231 test case 2: the crate computes HMAC-SHA256 itself.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn key_is_created_once_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = SecretKey::load_or_generate(dir.path()).expect("generate");
        assert!(fresh.is_new);
        assert!(!dir.path().join(KEY_FILE).exists(), "a plan writes nothing");
        let stored = fresh.store(dir.path()).expect("store");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = SecretKey::load_or_generate(dir.path()).expect("load");
        assert!(!again.is_new);
        assert_eq!(again.fingerprint(b"x"), stored.fingerprint(b"x"));
        // A second new key never replaces the first: the one on disk wins.
        let other =
            SecretKey::load_or_generate(tempfile::tempdir().expect("t").path()).expect("generate");
        let kept = other.store(dir.path()).expect("store");
        assert_eq!(kept.fingerprint(b"x"), stored.fingerprint(b"x"));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, [std::ffi::OsString::from(KEY_FILE)]);
    }

    #[test]
    fn a_key_file_of_the_wrong_size_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(KEY_FILE), b"short").expect("write");
        let err = SecretKey::load_or_generate(dir.path()).expect_err("short key");
        assert!(err.to_string().contains(KEY_FILE), "{err}");
    }

    #[test]
    fn secret_files_must_be_regular_and_small() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_secret_file(&dir.path().join("missing")).expect_err("missing");
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(read_secret_file(dir.path()).is_err(), "a directory");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; MAX_SECRET_BYTES as usize + 1]).expect("write");
        assert!(read_secret_file(&big).is_err());
        let ok = dir.path().join("ok");
        std::fs::write(&ok, b"s3cret").expect("write");
        assert_eq!(read_secret_file(&ok).expect("read"), b"s3cret");
    }
}
