//! [`Settings`]: the inheritable configuration shared by groups (defaults),
//! scopes (tier defaults) and deployments (overrides).

use std::collections::BTreeMap;

use crate::ids::{BranchId, ImageId, RepositoryId};
use crate::validate::{GitRef, Quantity, ValidationError};

/// Inheritable settings. Every field is optional: unset means "inherit" —
/// deployment → scope → group → built-in default (see [`crate::EffectiveDeployment`]).
/// `params` holds the type-specific settings (for example Odoo's `workers`
/// or PostgreSQL's `postgres_version`) and is merged key by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Checks what the newtypes cannot: replica bounds and parameter keys
    /// (1–63 characters of `a-z0-9_.-`) and values (at most 4096 characters).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(r) = self.replicas
            && r > MAX_REPLICAS
        {
            return Err(ValidationError::field("replicas", r, format!("must be at most {MAX_REPLICAS}")));
        }
        for (key, value) in &self.params {
            let key_ok = !key.is_empty()
                && key.len() <= 63
                && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
            if !key_ok {
                return Err(ValidationError::field(
                    "params",
                    key,
                    "keys must be 1-63 characters of a-z, 0-9, '_', '.', '-'",
                ));
            }
            if value.len() > 4096 {
                return Err(ValidationError::field("params", key, "values must be at most 4096 characters"));
            }
        }
        Ok(())
    }
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
