//! How object-store failures map into [`eyrie_core::Error`].
//!
//! See the crate docs, section "Errors", for the table.

use eyrie_core::Error;
use eyrie_core::permission::Denied;
use eyrie_core::validate::ValidationError;
use object_store::client::HttpError;

/// Maps one object-store failure during `what` (e.g. `"upload of <key>"`)
/// on `bucket`.
pub(crate) fn map(bucket: &str, what: &str, error: object_store::Error) -> Error {
    use object_store::Error as E;
    let denied = || {
        Error::PermissionDenied(Denied::from(format!(
            "the S3 server refused {what} in bucket {bucket}: check the datasource's credentials \
             (ACCESS_KEY_ID:SECRET_ACCESS_KEY) and the bucket's policy"
        )))
    };
    match error {
        E::NotFound { path, .. } => Error::not_found("backup object", format!("{bucket}/{path}")),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => denied(),
        E::InvalidPath { source } => Error::Invalid(ValidationError::field("object_key", what, source.to_string())),
        other => {
            // Some calls (listing, multipart) report a refusal as a generic
            // error that carries the status.
            let (transport, status) = inspect(&other);
            if matches!(status, Some(401 | 403)) {
                return denied();
            }
            let retryable = transport || status.is_some_and(|s| s >= 500 || s == 429);
            let reason = chain(&other);
            Error::backend(format!("{what} in bucket {bucket} failed: {reason}"), retryable)
        }
    }
}

/// Whether the source chain holds a transport failure (connect, request,
/// time-out, interruption), and the first HTTP status it names.
fn inspect(error: &object_store::Error) -> (bool, Option<u16>) {
    let (mut transport, mut status) = (false, None);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        transport |= e.downcast_ref::<HttpError>().is_some();
        status = status.or_else(|| status_in(&e.to_string()));
        source = e.source();
    }
    (transport, status)
}

/// The HTTP status object_store's request error prints ("… status code: 503 …").
/// object_store does not export its retry error type, so its text is read.
fn status_in(text: &str) -> Option<u16> {
    let (_, rest) = text.split_once("status code: ")?;
    rest.get(..3)?.parse().ok()
}

/// The error and its sources, one line.
fn chain(error: &object_store::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyrie_core::ErrorKind;

    fn generic(message: &str) -> object_store::Error {
        object_store::Error::Generic { store: "S3", source: message.to_owned().into() }
    }

    #[test]
    fn statuses_and_kinds() {
        assert_eq!(status_in("Server returned non-2xx status code: 503 Service Unavailable: "), Some(503));
        assert_eq!(status_in("no status"), None);
        let e = map("b", "head of k", generic("Server returned non-2xx status code: 503 Service Unavailable"));
        assert!(e.is_retryable() && e.kind() == ErrorKind::Backend, "{e}");
        let e = map("b", "head of k", generic("Server returned non-2xx status code: 400 Bad Request"));
        assert!(!e.is_retryable() && e.kind() == ErrorKind::Backend, "{e}");
        let e = map("b", "list", generic("Server returned non-2xx status code: 403 Forbidden: <Error/>"));
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        let e = map("b", "head of k", object_store::Error::NotFound { path: "k".into(), source: "gone".into() });
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let denied = object_store::Error::PermissionDenied { path: "k".into(), source: "403".into() };
        let e = map("b", "upload of k", denied);
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("credentials"), "{e}");
    }
}
