//! The sealing key ring: loaded from a file or an environment variable, and
//! generated on first use when the file does not exist yet.
//!
//! # Format
//!
//! One key per line, `<key id>:<64 hex digits>` (32 bytes). The first key
//! seals; the others only open what they sealed before a rotation. In a
//! file, blank lines and lines starting with `#` are skipped; in an
//! environment variable keys are separated by `;` or new lines.
//!
//! ```text
//! # rotated 2026-05-01: k-2 seals, k-1 still opens older secrets
//! k-2:6f1c…(64 hex digits)
//! k-1:9a07…
//! ```
//!
//! # Generation and protection
//!
//! A missing key file is created with one random key (from the operating
//! system), readable and writable by its owner only (`0600`), written to a
//! temporary file first and linked into place, so two processes starting
//! at once end up with the same key. A key file that others can read is
//! used, with a warning naming the path. No key material appears in an
//! error, a log line or a `Debug` output; messages name the file or the
//! variable and the line number.
//!
//! Keep the key apart from the store in production (a secret manager, a
//! mounted secret): whoever has both reads every sealed secret.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use eyrie_core::service::{KeyRing, SealingKey};
use eyrie_core::{Error, Result, ValidationError};

use crate::system::{OsNonces, os_random};

/// The environment variable the builder reads keys from by default.
pub const KEYS_ENV: &str = "EYRIE_SEALING_KEYS";

fn invalid(source: &str, line: usize, reason: &str) -> Error {
    let place = if line == 0 { source.to_owned() } else { format!("{source} line {line}") };
    Error::Invalid(ValidationError::field("sealing keys", place, reason))
}

fn io_error(what: &str, path: &Path, e: &io::Error) -> Error {
    Error::backend(format!("cannot {what} the key file {}: {e}", path.display()), false)
}

fn hex_key(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut key = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        key[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(key)
}

/// Parses key lines (see the module docs); `source` names where they came
/// from in messages. The content is never quoted.
pub fn parse_keys(text: &str, source: &str) -> Result<KeyRing> {
    let mut ring: Option<KeyRing> = None;
    let lines = text.split(['\n', ';']).map(str::trim).enumerate();
    for (i, line) in lines.filter(|(_, l)| !l.is_empty() && !l.starts_with('#')) {
        let Some((id, hex)) = line.split_once(':') else {
            return Err(invalid(source, i + 1, "expected <key id>:<64 hex digits>"));
        };
        let key = hex_key(hex.trim()).ok_or_else(|| invalid(source, i + 1, "the key is not 64 hex digits"))?;
        let key = SealingKey::from_bytes(key);
        ring = Some(match ring {
            None => KeyRing::new(id.trim(), key, OsNonces)?,
            Some(ring) => ring.with_key(id.trim(), key)?,
        });
    }
    ring.ok_or_else(|| invalid(source, 0, "holds no key"))
}

/// The key ring in the environment variable `var`; `None` when it is unset.
pub fn from_env(var: &str) -> Result<Option<KeyRing>> {
    match std::env::var(var) {
        Ok(text) => parse_keys(&text, &format!("${var}")).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(invalid(&format!("${var}"), 0, "is not UTF-8")),
    }
}

/// The key ring in the file at `path`, created with one fresh key when the
/// file does not exist.
pub fn from_file(path: &Path) -> Result<KeyRing> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => generate(path)?,
        Err(e) => return Err(io_error("read", path, &e)),
    };
    warn_if_readable_by_others(path);
    parse_keys(&text, &path.display().to_string())
}

/// Creates the key file with one random key; if another process created it
/// meanwhile, reads theirs. Returns the file's content.
fn generate(path: &Path) -> Result<String> {
    let mut key = [0u8; 32];
    os_random(&mut key)?;
    let mut id = [0u8; 4];
    os_random(&mut id)?;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let text =
        format!("# Eyrie sealing keys: the first one seals. Keep this file secret.\nk-{}:{}\n", hex(&id), hex(&key));

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| io_error("create the directory of", path, &e))?;
    }
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(io_error("write", path, &e));
    }
    // A hard link never replaces an existing file: if another process got
    // there first, its key wins and ours is thrown away.
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new sealing key file");
            Ok(text)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::read_to_string(path).map_err(|e| io_error("read", path, &e))
        }
        Err(e) => Err(io_error("create", path, &e)),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the sealing key file is readable by other users");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use eyrie_core::service::Sealer;
    use eyrie_core::{ErrorKind, SecretString};

    use super::*;

    const K1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const K2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn the_first_key_seals_and_the_others_open() {
        let old = parse_keys(&format!("k-1:{K1}"), "test").unwrap();
        let sealed = old.seal(&SecretString::new("s3cret"), "cluster/1/kubeconfig").unwrap();
        let rotated = parse_keys(&format!("# comment\nk-2:{K2}\n\nk-1:{K1}\n"), "test").unwrap();
        assert_eq!(rotated.active_key_id(), "k-2");
        assert_eq!(rotated.open(&sealed, "cluster/1/kubeconfig").unwrap().expose(), "s3cret");
        let env_style = parse_keys(&format!("k-2:{K2};k-1:{K1}"), "$X").unwrap();
        assert_eq!(env_style.active_key_id(), "k-2");
    }

    #[test]
    fn bad_keys_are_refused_without_quoting_them() {
        for text in ["", "# only a comment", "k-1", &format!("k-1:{}", &K1[..60]), "k-1:zz11secretsecret", "bad id:00"]
        {
            let err = parse_keys(text, "keys.txt").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid, "{text:?}: {err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        let err = parse_keys(&format!("k-1:{K1}\nk-2:{}", &K2[..10]), "keys.txt").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(!err.to_string().contains("2222222222"), "{err}");
    }

    #[test]
    fn a_missing_file_is_generated_once_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("sealing.keys");
        let first = from_file(&path).unwrap();
        let sealed = first.seal(&SecretString::new("s3cret"), "ds/1/credentials").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = from_file(&path).unwrap();
        assert_eq!(again.active_key_id(), first.active_key_id());
        assert_eq!(again.open(&sealed, "ds/1/credentials").unwrap().expose(), "s3cret");
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left");
        assert!(!format!("{first:?}").contains(&fs::read_to_string(&path).unwrap()[60..80]));
    }

    #[test]
    fn an_unset_variable_gives_no_ring() {
        // Setting a variable needs `unsafe` in edition 2024 (forbidden here);
        // what a set variable holds goes through `parse_keys`, tested above.
        assert!(from_env("EYRIE_TEST_KEYS_NEVER_SET").unwrap().is_none());
    }
}
