//! How kube-rs failures become Eyrie's one [`Error`].
//!
//! | cluster says | Eyrie error | retryable |
//! | --- | --- | --- |
//! | 404 Not Found | [`Error::NotFound`] | no |
//! | 409 Conflict | [`Error::Conflict`] | yes |
//! | 400 Bad Request, 422 Unprocessable | [`Error::Invalid`] | no |
//! | 401, 403 | [`Error::Backend`] | no |
//! | 408, 429, 500, 502–504 | [`Error::Backend`] | yes |
//! | other 4xx and 5xx | [`Error::Backend`] | no |
//! | no answer: connection failed, time-out | [`Error::Backend`] | yes |
//! | an answer that cannot be read | [`Error::Backend`] | no |
//!
//! Messages name the operation and object, plus the API server's message; they
//! never include request bodies.

use eyrie_core::{Error, ValidationError};

#[cfg(feature = "client")]
/// Maps `err`, raised while doing `what` (e.g. `apply Secret/ns/name`).
pub fn from_kube(err: kube::Error, what: &str) -> Error {
    match err {
        kube::Error::Api(status) => from_status(status.code, &status.reason, &status.message, what),
        kube::Error::HyperError(e) => Error::backend(format!("{what}: connection failed: {e}"), true),
        kube::Error::Service(e) => Error::backend(format!("{what}: no answer from the cluster: {e}"), true),
        kube::Error::ReadEvents(e) => Error::backend(format!("{what}: reading failed: {e}"), true),
        kube::Error::SerdeError(e) => Error::backend(format!("{what}: unreadable answer: {e}"), false),
        kube::Error::FromUtf8(e) => Error::backend(format!("{what}: unreadable answer: {e}"), false),
        other => Error::backend(format!("{what}: {other}"), false),
    }
}

/// Maps an API status (`code`, `reason`, `message`) for `what`.
pub fn from_status(code: u16, reason: &str, message: &str, what: &str) -> Error {
    let detail = if message.is_empty() { reason.to_owned() } else { message.to_owned() };
    match code {
        404 => Error::NotFound { entity: "kubernetes object", id: format!("{what}: {detail}") },
        409 => Error::Conflict(format!("{what}: {detail}")),
        400 | 422 => Error::Invalid(ValidationError::field("kubernetes object", what, detail)),
        408 | 429 | 500 | 502..=504 => Error::backend(format!("{what}: cluster answered {code}: {detail}"), true),
        _ => Error::backend(format!("{what}: cluster answered {code}: {detail}"), false),
    }
}

#[cfg(feature = "client")]
/// Whether `err` is a kube-rs 404.
pub fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

#[cfg(test)]
mod tests {
    use eyrie_core::ErrorKind;

    use super::*;

    #[test]
    fn status_codes() {
        let cases = [
            (404, ErrorKind::NotFound, false),
            (409, ErrorKind::Conflict, true),
            (422, ErrorKind::Invalid, false),
            (400, ErrorKind::Invalid, false),
            (403, ErrorKind::Backend, false),
            (401, ErrorKind::Backend, false),
            (429, ErrorKind::Backend, true),
            (500, ErrorKind::Backend, true),
            (503, ErrorKind::Backend, true),
            (504, ErrorKind::Backend, true),
            (418, ErrorKind::Backend, false),
            (501, ErrorKind::Backend, false),
            (505, ErrorKind::Backend, false),
        ];
        for (code, kind, retryable) in cases {
            let e = from_status(code, "Reason", "message", "apply Secret/ns/x");
            assert_eq!((e.kind(), e.is_retryable()), (kind, retryable), "{code}: {e}");
            assert!(e.to_string().contains("Secret/ns/x"), "{e}");
        }
    }
}
