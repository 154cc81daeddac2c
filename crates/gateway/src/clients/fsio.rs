//! Reading and writing clients' files safely: a write goes to a temporary file in the same folder, is synced and
//! renamed over the original (so a reader sees the old file or the new one, never half of one), keeps the file's
//! mode (new files 0600, new folders 0700) and follows a symlinked dotfile to the file it points at.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::ClientError;

/// The file's bytes, `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, ClientError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error(path, error)),
    }
}

/// Refuses early, before anything is written anywhere, when `path` exists and cannot be written.
pub fn check_writable(path: &Path) -> Result<(), ClientError> {
    // A file or folder marked read-only is refused even where the OS would let this user write it (root): the
    // mark says "leave this alone".
    let readonly = |p: &Path| fs::metadata(p).is_ok_and(|m| m.permissions().readonly());
    if readonly(path) {
        return Err(ClientError::ReadOnly { path: path.to_path_buf() });
    }
    if let Some(dir) = path.parent()
        && readonly(dir)
    {
        return Err(ClientError::ReadOnly { path: dir.to_path_buf() });
    }
    match OpenOptions::new().write(true).open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(path, error)),
    }
}

/// Writes `bytes` to `path` atomically. Returns the folders it had to create, outermost first.
pub fn write(path: &Path, bytes: &[u8]) -> Result<Vec<PathBuf>, ClientError> {
    let target = resolve(path);
    let dir = target.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let created = create_dirs(&dir)?;
    let mode = existing_mode(&target);
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", target.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())))
        .suffix(".switchboard-tmp")
        .tempfile_in(&dir)
        .map_err(|e| io_error(&dir, e))?;
    temp.write_all(bytes).map_err(|e| io_error(&target, e))?;
    set_mode(temp.as_file(), mode).map_err(|e| io_error(&target, e))?;
    temp.as_file().sync_all().map_err(|e| io_error(&target, e))?;
    temp.persist(&target).map_err(|e| io_error(&target, e.error))?;
    sync_dir(&dir);
    Ok(created)
}

/// Deletes `path` (the link itself when it is a symlink's target that Switchboard created: never).
pub fn remove(path: &Path) -> Result<(), ClientError> {
    match fs::remove_file(resolve(path)) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(path, error)),
    }
}

/// Removes the folders Switchboard created, in the order given (innermost first), where they are empty again.
pub fn remove_empty_dirs(dirs: &[PathBuf]) {
    for dir in dirs {
        let _ = fs::remove_dir(dir);
    }
}

pub fn io_error(path: &Path, error: io::Error) -> ClientError {
    match error.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            ClientError::ReadOnly { path: path.to_path_buf() }
        }
        _ => ClientError::Io { path: path.to_path_buf(), source: error },
    }
}

/// A symlinked config (dotfiles kept in a repository) is written where it points, so the link stays a link.
fn resolve(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>, ClientError> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    missing.reverse();
    for d in &missing {
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(d) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(io_error(d, error)),
        }
    }
    Ok(missing)
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_path: &Path) -> u32 {
    0
}

#[cfg(unix)]
fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
