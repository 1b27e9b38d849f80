//! [`Settings`]: the inheritable configuration shared by groups (defaults),
//! scopes (tier defaults) and deployments (overrides).

use std::collections::BTreeMap;

use crate::ids::{BranchId, ImageId, RepositoryId};
use crate::validate::{GitRef, Quantity, ValidationError};

/// Inheritable settings. Every field is optional: unset means "inherit" —
/// deployment → scope → group → built-in default (see [`crate::EffectiveDeployment`]).
/// `params` holds the type-specific settings (for example Odoo's `workers`
/// or PostgreSQL's `postgres_version`) and is merged key by key.
/// Start from [`Settings::default`] (inherit everything) and set fields with
/// the `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Settings {
    /// The git repository to build or run from.
    pub repository_id: Option<RepositoryId>,
    /// The branch of that repository.
    pub branch_id: Option<BranchId>,
    /// A pinned commit (or tag) of that branch.
    pub commit_ref: Option<GitRef>,
    /// The container image.
    pub image_id: Option<ImageId>,
    /// Number of replicas.
    pub replicas: Option<u32>,
    /// CPU request.
    pub cpu_request: Option<Quantity>,
    /// CPU limit.
    pub cpu_limit: Option<Quantity>,
    /// Memory request.
    pub memory_request: Option<Quantity>,
    /// Memory limit.
    pub memory_limit: Option<Quantity>,
    /// Persistent storage size (filestore, database volume).
    pub storage_size: Option<Quantity>,
    /// Type-specific settings, merged key by key.
    pub params: BTreeMap<String, String>,
}

/// The largest replica count accepted.
pub const MAX_REPLICAS: u32 = 1000;

impl Settings {
    /// Checks what the newtypes cannot: replica bounds and `params` (see
    /// [`check_params`] with [`MAX_PARAMS`] entries and [`MAX_PARAMS_BYTES`]).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(r) = self.replicas
            && r > MAX_REPLICAS
        {
            return Err(ValidationError::field("replicas", r, format!("must be at most {MAX_REPLICAS}")));
        }
        check_params("params", &self.params, MAX_PARAMS, MAX_PARAMS_BYTES)
    }
}

/// Entries of a [`Settings::params`] map, at most.
pub const MAX_PARAMS: usize = 64;
/// Bytes of a [`Settings::params`] map (keys and values), at most.
pub const MAX_PARAMS_BYTES: usize = 32 * 1024;
/// The longest parameter value, in bytes.
pub const MAX_PARAM_VALUE_BYTES: usize = 4096;

/// Checks a map a tenant fills (settings `params`, job parameters): at most
/// `max_entries` entries and `max_bytes` bytes of keys and values; keys of
/// 1–63 characters of `a-z0-9_.-`; values of at most
/// [`MAX_PARAM_VALUE_BYTES`] bytes without control characters other than
/// newline and tab.
pub fn check_params(
    field: &'static str,
    params: &BTreeMap<String, String>,
    max_entries: usize,
    max_bytes: usize,
) -> Result<(), ValidationError> {
    if params.len() > max_entries {
        return Err(ValidationError::field(field, params.len(), format!("must have at most {max_entries} entries")));
    }
    let bytes: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > max_bytes {
        return Err(ValidationError::field(field, bytes, format!("must hold at most {max_bytes} bytes")));
    }
    for (key, value) in params {
        let key_ok = !key.is_empty()
            && key.len() <= 63
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if !key_ok {
            return Err(ValidationError::field(field, key, "keys must be 1-63 characters of a-z, 0-9, '_', '.', '-'"));
        }
        if value.len() > MAX_PARAM_VALUE_BYTES {
            let why = format!("values must be at most {MAX_PARAM_VALUE_BYTES} bytes");
            return Err(ValidationError::field(field, key, why));
        }
        if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(ValidationError::field(field, key, "values must not contain control characters"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(Settings::default().validate().is_ok());
        let mut s = Settings { replicas: Some(MAX_REPLICAS + 1), ..Settings::default() };
        assert!(s.validate().unwrap_err().reason.contains("at most"));
        s.replicas = Some(2);
        s.params.insert("Workers".into(), "4".into());
        assert!(s.validate().is_err());
        s.params.clear();
        s.params.insert("workers".into(), "x".repeat(5000));
        assert!(s.validate().is_err());
        s.params.insert("workers".into(), "4".into());
        assert!(s.validate().is_ok());
    }
}
