//! The one error type of Eyrie, with a portable [`ErrorKind`].
//!
//! Adapters (stores, executors) map their own failures into [`Error`] so that
//! callers never downcast a backend error: they match on [`Error::kind`] and ask
//! [`Error::is_retryable`].

use crate::validate::ValidationError;

/// The portable classification of an [`Error`]; stable across backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The addressed record does not exist.
    NotFound,
    /// A record with the same identity or unique key already exists.
    AlreadyExists,
    /// A write was based on a stale revision or lost a race; read again and retry.
    Conflict,
    /// The actor may not do this; [`Error::PermissionDenied`] carries the explanation.
    PermissionDenied,
    /// The request is well-formed but a platform rule forbids it (limits, eligibility, `allow_drop`).
    PolicyViolation,
    /// A state machine refused the requested transition.
    InvalidTransition,
    /// The input is malformed.
    Invalid,
    /// A backend (store, cluster) failed; see [`Error::is_retryable`].
    Backend,
    /// A stored record could not be decoded; the rest of the store is unaffected.
    Corrupt,
    /// The deployment already has an active job; actions do not queue.
    Busy,
}

/// Everything that can go wrong in Eyrie.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The addressed record does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of record, e.g. `"deployment"`.
        entity: &'static str,
        /// Its identifier as text.
        id: String,
    },
    /// A record with the same identity or unique key already exists.
    #[error("{entity} {key} already exists")]
    AlreadyExists {
        /// The kind of record, e.g. `"project"`.
        entity: &'static str,
        /// The conflicting key, e.g. the slug.
        key: String,
    },
    /// A write was based on a stale revision, or lost a race to another writer.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The actor is not allowed to perform the action.
    #[error("permission denied: {0}")]
    PermissionDenied(crate::permission::Denied),
    /// A platform rule forbids the request.
    #[error("refused by policy: {0}")]
    PolicyViolation(String),
    /// A state machine refused a transition.
    #[error("{machine} cannot go from {from} to {to}")]
    InvalidTransition {
        /// Which state machine: `"deployment"`, `"cluster"`, `"invitation"`.
        machine: &'static str,
        /// The current state.
        from: String,
        /// The requested state.
        to: String,
    },
    /// The input is malformed.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// A stored record (or index entry) could not be decoded.
    #[error("corrupt record {record}: {reason}")]
    Corrupt {
        /// Which record, e.g. `dep-00000000000000a1`, or the raw key in hex.
        record: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The deployment already has an active job: actions do not queue.
    #[error("deployment {deployment} already has an active job{}; actions do not queue: wait for it or cancel it", job.map(|j| format!(" ({j})")).unwrap_or_default())]
    Busy {
        /// The deployment asked for.
        deployment: crate::ids::DeploymentId,
        /// Its active job, when known.
        job: Option<crate::ids::JobId>,
    },
    /// A backend failed.
    #[error("backend failure: {message}")]
    Backend {
        /// What failed, without secrets.
        message: String,
        /// Whether the same call may succeed if repeated.
        retryable: bool,
    },
}

impl Error {
    /// The portable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::PolicyViolation(_) => ErrorKind::PolicyViolation,
            Error::InvalidTransition { .. } => ErrorKind::InvalidTransition,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::Backend { .. } => ErrorKind::Backend,
            Error::Busy { .. } => ErrorKind::Busy,
        }
    }

    /// Whether repeating the same call may succeed: conflicts (after a re-read)
    /// and backend failures that say so. Everything else fails the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Conflict(_) => true,
            Error::Backend { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: &'static str, id: impl std::fmt::Display) -> Self {
        Error::NotFound { entity, id: id.to_string() }
    }

    /// Shorthand for [`Error::AlreadyExists`].
    pub fn already_exists(entity: &'static str, key: impl std::fmt::Display) -> Self {
        Error::AlreadyExists { entity, key: key.to_string() }
    }

    /// Shorthand for a backend failure.
    pub fn backend(message: impl Into<String>, retryable: bool) -> Self {
        Error::Backend { message: message.into(), retryable }
    }

    /// Shorthand for [`Error::PolicyViolation`].
    pub fn policy(message: impl Into<String>) -> Self {
        Error::PolicyViolation(message.into())
    }
}

/// `Result` with Eyrie's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_retryability() {
        let cases = [
            (Error::not_found("project", 1), ErrorKind::NotFound, false),
            (Error::already_exists("project", "acme"), ErrorKind::AlreadyExists, false),
            (Error::Conflict("stale".into()), ErrorKind::Conflict, true),
            (Error::PermissionDenied("no".into()), ErrorKind::PermissionDenied, false),
            (Error::policy("full"), ErrorKind::PolicyViolation, false),
            (Error::Backend { message: "io".into(), retryable: true }, ErrorKind::Backend, true),
            (Error::Backend { message: "corrupt".into(), retryable: false }, ErrorKind::Backend, false),
        ];
        for (error, kind, retryable) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert_eq!(error.is_retryable(), retryable, "{error}");
        }
    }
}
