//! The disk side of [`super::ManifestDir`]: atomic writes that leave an
//! unchanged file alone, reading manifests back, and cleaning up after a
//! writer that died between creating its temporary file and renaming it.
//!
//! A file is written as `.<file>.tmp-<pid>-<n>` in its own directory, synced,
//! then renamed over `<file>`, and the directory is synced: a reader (Argo
//! CD, Flux, this module) sees the old file or the new one, never half of
//! one. Temporary names start with a dot and do not end in `.yaml`, so
//! neither this module nor a GitOps tool reads them as manifests.
//!
//! Blocking: call these from `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use eyrie_core::{Error, Result};
use serde_json::Value;

use crate::kinds::Kind;
use crate::render::Object;

/// What a manifest file's name ends with.
pub(super) const EXTENSION: &str = ".yaml";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An I/O failure on `path` while doing `what`, as an Eyrie error. Most are
/// retryable (a full disk, a busy file); a refused permission or bad input
/// will not get better by asking again.
pub(super) fn io_error(what: &str, path: &Path, e: &io::Error) -> Error {
    let retryable =
        !matches!(e.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData);
    Error::backend(format!("cannot {what} {}: {e}", path.display()), retryable)
}

/// The temporary-file prefix of `file_name`.
fn temp_prefix(file_name: &str) -> String {
    format!(".{file_name}.tmp-")
}

/// Writes `bytes` to `path` atomically unless the file already holds exactly
/// these bytes; returns whether it wrote. `private` files are created
/// readable by their owner only (Secrets).
pub(super) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<bool> {
    match fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("read", path, &e)),
    }
    let dir = path.parent().ok_or_else(|| Error::backend(format!("{} has no directory", path.display()), false))?;
    fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!("{}{}-{n}", temp_prefix(file_name), std::process::id()));
    let result = write_new(&temp, bytes, private).and_then(|()| {
        fs::rename(&temp, path).map_err(|e| io_error("rename into place", path, &e))?;
        sync_dir(dir)
    });
    if result.is_err() {
        // Best effort: a leftover is cleaned by the next write of this file.
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| true)
}

fn write_new(temp: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(temp).map_err(|e| io_error("create", temp, &e))?;
    file.write_all(bytes).map_err(|e| io_error("write", temp, &e))?;
    file.sync_all().map_err(|e| io_error("sync", temp, &e))
}

/// Makes a rename or a removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("sync", dir, &e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes `path`; a missing file is fine. Returns whether it removed one.
pub(super) fn remove(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("remove", path, &e)),
    }
}

/// Removes the temporary files left in `dir` by a writer of one of
/// `file_names` that died before its rename. Only these names: the job
/// engine never runs two calls for one deployment at once, so no live
/// writer owns them, while another deployment's writer may be busy beside.
pub(super) fn clean_temps<'a>(dir: &Path, file_names: impl IntoIterator<Item = &'a str>) -> Result<usize> {
    let prefixes: Vec<String> = file_names.into_iter().map(temp_prefix).collect();
    let mut removed = 0;
    for entry in entries(dir)? {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if prefixes.iter().any(|p| name.starts_with(p.as_str())) && remove(&entry.path())? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// The entries of `dir`; none when it does not exist.
fn entries(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.collect::<io::Result<Vec<_>>>().map_err(|e| io_error("list", dir, &e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error("list", dir, &e)),
    }
}

/// Reads the manifest at `path`: `None` when there is none.
pub(super) fn read(path: &Path) -> Result<Option<Object>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, &e)),
    };
    parse(path, &text).map(Some)
}

/// Parses one manifest. The message names the file, never its content (a
/// Secret's data).
fn parse(path: &Path, text: &str) -> Result<Object> {
    let corrupt = |reason: &str| Error::Corrupt { record: path.display().to_string(), reason: reason.to_owned() };
    let body: Value = serde_saphyr::from_str(text).map_err(|_| corrupt("not a YAML document"))?;
    let kind = body.get("kind").and_then(Value::as_str).and_then(Kind::from_kind).ok_or_else(|| corrupt("no kind"))?;
    let meta = |field: &str| body.pointer(&format!("/metadata/{field}")).and_then(Value::as_str).map(str::to_owned);
    let name = meta("name").ok_or_else(|| corrupt("no metadata.name"))?;
    let namespace = meta("namespace");
    Ok(Object { kind, name, namespace, body })
}

/// Every manifest in `dir` (files named `*.yaml` not starting with a dot),
/// with its path. A file that does not parse as one of Eyrie's kinds is left
/// out: it is not Eyrie's (a temporary file never matches).
pub(super) fn read_all(dir: &Path) -> Result<Vec<(PathBuf, Object)>> {
    let mut out = Vec::new();
    for entry in entries(dir)? {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(EXTENSION) {
            continue;
        }
        let path = entry.path();
        match read(&path) {
            Ok(Some(object)) => out.push((path, object)),
            Ok(None) => {}
            Err(e) if e.kind() == eyrie_core::ErrorKind::Corrupt => {
                tracing::warn!(path = %path.display(), "skipping a file that is not an Eyrie manifest");
            }
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
