//! File-system edges of install: reading what is in the unit directory, crash-safe writes, and the
//! lock. Every error names its path.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use crate::unit::sha256_hex;

/// The lock file in a unit directory: install and uninstall hold it while they work.
pub const LOCK_FILE: &str = ".quadgen.lock";

/// A file as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFile {
    pub sha256: String,
    pub text: String,
}

/// What is on disk in the unit directory, for the names that matter to a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// File name → content, for every present file among those asked about.
    pub files: BTreeMap<String, ObservedFile>,
}

/// An I/O error, with what was being done and to which path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{path}`: {source}")]
pub struct IoError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> IoError + use<> {
    let path = path.to_path_buf();
    move |source| IoError {
        action,
        path,
        source,
    }
}

/// Reads the files among `names` that exist in `root`, with their hashes.
pub fn observe<'a>(
    root: &Path,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<Observed, IoError> {
    let mut observed = Observed::default();
    for name in names {
        let path = root.join(name);
        match read_regular(&path) {
            Ok(bytes) => {
                let sha256 = sha256_hex(&bytes);
                let text = String::from_utf8_lossy(&bytes).into_owned();
                observed
                    .files
                    .insert(name.clone(), ObservedFile { sha256, text });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("read", &path)(e)),
        }
    }
    Ok(observed)
}

/// Reads `path` if it is a regular file. A symlink is refused, never followed (`O_NOFOLLOW`): a
/// managed name pointing out of the unit directory must not make quadgen read (and print in a
/// diff) a file elsewhere. A FIFO or device is refused too, without blocking on it.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other(
                    "it is a symlink, and quadgen never follows a link out of the unit directory; remove it (or replace it with a regular file) and run again",
                )
            } else {
                e
            }
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(
            "it is not a regular file; remove it and run again",
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The names of the entries of `root` (sorted); none when it does not exist.
pub fn list_dir(root: &Path) -> Result<Vec<String>, IoError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list", root)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("list", root))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Writes `dir/name` so that it is either the old or the new content, never half of either: a
/// temporary file in the same directory, fsync, rename over. The caller fsyncs the directory
/// (once, after all writes) with [`sync_dir`].
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), IoError> {
    let path = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(".quadgen-tmp-")
        .tempfile_in(dir)
        .map_err(io("create a temporary file in", dir))?;
    tmp.write_all(bytes).map_err(io("write", tmp.path()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(io("set permissions of", tmp.path()))?;
    tmp.as_file().sync_all().map_err(io("fsync", tmp.path()))?;
    tmp.persist(&path).map_err(|e| IoError {
        action: "write",
        path,
        source: e.error,
    })?;
    Ok(())
}

/// Writes new files (mode 0644, each fsynced) into a directory nobody else sees until it is
/// complete (a build's staging directory, renamed into place whole): without the temporary file
/// and rename of [`write_atomic`]. Each file is created by the directory's descriptor, so the
/// path is walked once, not once per file; two threads may write through one `NewFiles`.
/// [`NewFiles::sync`] then makes the directory durable before it is renamed into sight. (Not one
/// `syncfs` for all: that would also flush every other program's pending writes on the same file
/// system, which on a busy disk costs far more than it saves.)
#[derive(Debug)]
pub struct NewFiles<'d> {
    dir: &'d Path,
    dir_fd: rustix::fd::OwnedFd,
    /// Whether a file created with mode 0644 gets exactly that (the umask clears none of its
    /// bits), so no file needs a `chmod`; learnt from the first file.
    mode_is_exact: std::sync::OnceLock<bool>,
}

impl<'d> NewFiles<'d> {
    /// Opens the directory `dir` to write into.
    pub fn open(dir: &'d Path) -> Result<Self, IoError> {
        Ok(Self {
            dir,
            dir_fd: open_dir(dir)?,
            mode_is_exact: std::sync::OnceLock::new(),
        })
    }

    /// Writes the new file `name` (which must not exist).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), IoError> {
        use rustix::fs::{Mode, OFlags};
        let failed = |action| move |errno| errno_io(action, &self.dir.join(name))(errno);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        let mode = Mode::from_bits_truncate(0o644);
        let file = rustix::fs::openat(&self.dir_fd, name, flags, mode).map_err(failed("create"))?;
        let mut left = bytes;
        while !left.is_empty() {
            match rustix::io::write(&file, left) {
                Ok(0) => return Err(failed("write")(rustix::io::Errno::IO)),
                Ok(n) => left = &left[n..],
                Err(rustix::io::Errno::INTR) => {}
                Err(errno) => return Err(failed("write")(errno)),
            }
        }
        let exact = match self.mode_is_exact.get() {
            Some(&exact) => exact,
            None => {
                let stat = rustix::fs::fstat(&file).map_err(failed("stat"))?;
                *self
                    .mode_is_exact
                    .get_or_init(|| stat.st_mode & 0o7777 == 0o644)
            }
        };
        if !exact {
            rustix::fs::fchmod(&file, mode).map_err(failed("set permissions of"))?;
        }
        rustix::fs::fsync(&file).map_err(failed("fsync"))
    }

    /// Makes the directory's entries durable (each file already is).
    pub fn sync(self) -> Result<(), IoError> {
        rustix::fs::fsync(&self.dir_fd).map_err(errno_io("fsync", self.dir))
    }
}

/// A file of a directory, read whole by [`read_plain_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainFile {
    pub name: String,
    /// The permission bits (`0o644`).
    pub mode: u32,
    pub bytes: Vec<u8>,
}

/// Every entry of `dir`, read whole; `None` when one is not a regular file (a symlink, a
/// directory, …), cannot be read, or when they total more than `max_bytes`. Each file is opened
/// by the directory's descriptor, so the path is walked once, not once per file.
pub fn read_plain_files(dir: &Path, max_bytes: u64) -> Option<Vec<PlainFile>> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let dir_fd = open_dir(dir).ok()?;
    let mut files = Vec::new();
    let mut total = 0u64;
    for entry in rustix::fs::Dir::read_from(&dir_fd).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let fd = rustix::fs::openat(&dir_fd, name, flags | OFlags::NOFOLLOW, Mode::empty()).ok()?;
        let stat = rustix::fs::fstat(&fd).ok()?;
        let size = u64::try_from(stat.st_size).ok()?;
        total += size;
        let regular = rustix::fs::FileType::from_raw_mode(stat.st_mode).is_file();
        if !regular || total > max_bytes {
            return None;
        }
        // One byte more than the size: a file that grew since `fstat` reads longer.
        let mut bytes = vec![0; usize::try_from(size).ok()? + 1];
        let mut filled = 0;
        loop {
            match rustix::io::read(&fd, &mut bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => return None,
            }
            if filled >= bytes.len() {
                return None;
            }
            if filled as u64 == size {
                // A regular file read to its size is read whole (a short read means its end).
                break;
            }
        }
        bytes.truncate(filled);
        files.push(PlainFile {
            name: name.to_str().ok()?.to_string(),
            mode: stat.st_mode & 0o7777,
            bytes,
        });
    }
    Some(files)
}

/// Makes renames and removals in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), IoError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io("fsync", dir))
}

/// Removes `dir/name`; a file already gone is fine.
pub fn remove(dir: &Path, name: &str) -> Result<(), IoError> {
    let path = dir.join(name);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &path)(e)),
        _ => Ok(()),
    }
}

/// Renames `dir/from` to `dir/to`.
pub fn rename(dir: &Path, from: &str, to: &str) -> Result<(), IoError> {
    let path = dir.join(from);
    std::fs::rename(&path, dir.join(to)).map_err(io("rename", &path))
}

/// Creates `root` (and its parents) when missing.
pub fn create_root(root: &Path) -> Result<(), IoError> {
    std::fs::create_dir_all(root).map_err(io("create directory", root))
}

/// The name a hand-edited `file_name` is kept under when `--force` replaces it:
/// `NAME.container.quadgen-edit-UNIXSECS`, which quadlet ignores (it reads files by extension),
/// with `-N` added when taken. `exists` says whether a name is taken.
pub fn backup_name(file_name: &str, unix_secs: u64, exists: impl Fn(&str) -> bool) -> String {
    let base = format!("{file_name}.quadgen-edit-{unix_secs}");
    if !exists(&base) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !exists(name))
        .unwrap_or(base)
}

/// Whether a file name is a backup of a hand edit.
pub fn is_backup(name: &str) -> bool {
    name.contains(".quadgen-edit-")
}

/// A `flock` (the install lock, or [`lock_dir`]'s on a directory itself), held until dropped.
#[derive(Debug)]
pub struct Lock {
    _held: rustix::fd::OwnedFd,
}

/// Whether a lock excludes only [`LockMode::Exclusive`] holders or everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Many holders at once; waits while an exclusive holder has it.
    Shared,
    /// One holder; waits while anyone has it.
    Exclusive,
}

/// Locks the directory `dir` in `mode`. When it is held against us, calls `waiting` once and
/// waits.
pub fn lock_dir(dir: &Path, mode: LockMode, waiting: impl FnOnce(&Path)) -> Result<Lock, IoError> {
    let fd = open_dir(dir)?;
    flock_or_wait(&fd, mode, dir, waiting)?;
    Ok(Lock { _held: fd })
}

/// The directory `dir`, opened to create, read or lock files by its descriptor.
fn open_dir(dir: &Path) -> Result<rustix::fd::OwnedFd, IoError> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(dir, flags, Mode::empty()).map_err(errno_io("open", dir))
}

/// [`io`] for a `rustix` error.
fn errno_io(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(rustix::io::Errno) -> IoError + use<> {
    let to_io = io(action, path);
    move |errno| to_io(errno.into())
}

/// `flock`s `fd` (the file or directory at `path`) in `mode`; when it is held against us, calls
/// `waiting` once and waits.
fn flock_or_wait(
    fd: impl rustix::fd::AsFd,
    mode: LockMode,
    path: &Path,
    waiting: impl FnOnce(&Path),
) -> Result<(), IoError> {
    use rustix::fs::FlockOperation;
    let failed = |errno| errno_io("lock", path)(errno);
    let (now, wait) = match mode {
        LockMode::Shared => (
            FlockOperation::NonBlockingLockShared,
            FlockOperation::LockShared,
        ),
        LockMode::Exclusive => (
            FlockOperation::NonBlockingLockExclusive,
            FlockOperation::LockExclusive,
        ),
    };
    match rustix::fs::flock(&fd, now) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => {
            waiting(path);
            rustix::fs::flock(&fd, wait).map_err(failed)
        }
        Err(errno) => Err(failed(errno)),
    }
}

/// Temporary files of a write that was killed before its rename: only the lock holder can be
/// writing, so every one left is stale. Best effort: a failure here changes nothing else.
fn remove_stale_temp_files(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".quadgen-tmp-")
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Takes `root/.quadgen.lock` (and removes temporary files a killed install left). When another install holds it, calls `waiting` once and waits.
///
/// The lock file is opened with `O_NOFOLLOW`: a symlink planted at its name is refused, never
/// followed to create or truncate a file elsewhere.
pub fn lock(root: &Path, waiting: impl FnOnce(&Path)) -> Result<Lock, IoError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = root.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(io(
            "open the lock file (it must be a plain file, not a symlink)",
            &path,
        ))?;
    flock_or_wait(&file, LockMode::Exclusive, &path, waiting)?;
    remove_stale_temp_files(root);
    Ok(Lock { _held: file.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_are_not_quadlet_files_and_never_clash() {
        let name = backup_name("app.container", 1700000000, |_| false);
        assert_eq!(name, "app.container.quadgen-edit-1700000000");
        let ext = name.rsplit('.').next().unwrap_or_default();
        assert!(crate::unit::UnitKind::from_extension(ext).is_none());
        let taken = [
            "app.container.quadgen-edit-1",
            "app.container.quadgen-edit-1-1",
        ];
        assert_eq!(
            backup_name("app.container", 1, |n| taken.contains(&n)),
            "app.container.quadgen-edit-1-2"
        );
        assert!(is_backup(&name));
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_atomic(dir.path(), "a.container", b"one").expect("write");
        write_atomic(dir.path(), "a.container", b"two").expect("write");
        sync_dir(dir.path()).expect("sync");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.container")).expect("read"),
            "two"
        );
        assert_eq!(list_dir(dir.path()).expect("list"), vec!["a.container"]);
        let mode = std::fs::metadata(dir.path().join("a.container"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn second_lock_waits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = lock(dir.path(), |_| panic!("no wait expected")).expect("lock");
        let root = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _second = lock(&root, |_| tx.send(()).expect("send")).expect("lock");
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("second install says it waits");
        drop(first);
        t.join().expect("second install gets the lock");
    }

    #[test]
    fn errors_name_the_path() {
        let err = write_atomic(Path::new("/nonexistent/dir"), "a.container", b"x")
            .expect_err("no such dir");
        assert!(err.to_string().contains("`/nonexistent/dir`"), "{err}");
    }

    #[test]
    fn a_symlink_at_the_lock_name_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("mkdir");
        let victim = dir.path().join("victim");
        let missing = dir.path().join("missing");
        std::fs::write(&victim, "precious").expect("write");
        for target in [&victim, &missing] {
            let link = root.join(LOCK_FILE);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(target, &link).expect("symlink");
            let err = lock(&root, |_| panic!("no wait")).expect_err("a symlink");
            let text = err.to_string();
            assert!(text.contains("not a symlink"), "{text}");
            assert!(text.contains(&link.display().to_string()), "{text}");
        }
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        assert!(!missing.exists(), "no file created through the link");
    }

    #[test]
    fn observe_never_follows_a_symlink_out_of_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("mkdir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "TOP SECRET").expect("write");
        std::os::unix::fs::symlink(&secret, root.join("a.container")).expect("symlink");
        let name = "a.container".to_string();
        let err = observe(&root, [&name]).expect_err("a symlink");
        let text = err.to_string();
        assert!(text.contains("is a symlink"), "{text}");
        assert!(!text.contains("TOP SECRET"), "{text}");
        // A FIFO is refused without blocking.
        let fifo = std::ffi::CString::new(
            root.join("b.container")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let name = "b.container".to_string();
        let err = observe(&root, [&name]).expect_err("a fifo");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
