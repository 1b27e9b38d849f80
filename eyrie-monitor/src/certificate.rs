//! `certificate` checks: a verified TLS handshake with the target through
//! the guarded client, then the days until the leaf certificate's
//! `notAfter`, counted from the injected `now` and graded against the
//! monitor's thresholds (fewer days left is worse). A certificate the
//! client does not trust (expired, wrong name, unknown issuer) is an `error`.

use std::time::Duration;

use eyrie_core::model::monitoring::grade_days_left;
use eyrie_core::{CheckOutcome, Timestamp};

use crate::http::{Clients, describe, guarded_url};

/// How long the handshake and the answer may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Seconds since the epoch at which a DER certificate expires.
pub fn not_after(der: &[u8]) -> Result<i64, String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| format!("the certificate could not be read: {e}"))?;
    Ok(cert.validity().not_after.timestamp())
}

/// Whole days from `now` to `expires` (seconds since the epoch), rounded down; negative once expired.
pub fn days_left(expires: i64, now: Timestamp) -> i64 {
    expires.saturating_sub(now.as_unix_seconds()).div_euclid(86_400)
}

/// One `certificate` check of `url` (`https://host[:port]`).
pub(crate) async fn check(
    clients: &Clients,
    url: &str,
    warning: Option<u64>,
    error: Option<u64>,
    now: Timestamp,
) -> CheckOutcome {
    let url = match guarded_url(clients.policy(), url) {
        Ok(url) if url.scheme() == "https" => url,
        Ok(url) => return CheckOutcome::error(None, format!("{} is not https: no certificate to check", url.scheme())),
        Err(why) => return CheckOutcome::error(None, why),
    };
    let client = match clients.client(true, 0) {
        Ok(client) => client,
        Err(why) => return CheckOutcome::unknown(why),
    };
    let response = match client.head(url.clone()).timeout(TIMEOUT).send().await {
        Ok(response) => response,
        Err(e) => return CheckOutcome::error(None, format!("no trusted TLS answer: {}", describe(&e))),
    };
    let leaf = response.extensions().get::<reqwest::tls::TlsInfo>().and_then(|info| info.peer_certificate());
    let Some(der) = leaf else {
        return CheckOutcome::unknown("the TLS session showed no certificate");
    };
    let expires = match not_after(der) {
        Ok(expires) => expires,
        Err(why) => return CheckOutcome::unknown(why),
    };
    let days = days_left(expires, now);
    let state = grade_days_left(days, warning, error);
    let host = url.host_str().unwrap_or_default();
    CheckOutcome::new(
        state,
        Some(u64::try_from(days).unwrap_or(0)),
        format!("certificate of {host} expires in {days} days"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_whole_and_go_negative_after_expiry() {
        let now = Timestamp::from_unix_seconds(1_000_000);
        assert_eq!(days_left(1_000_000 + 14 * 86_400, now), 14);
        assert_eq!(days_left(1_000_000 + 14 * 86_400 - 1, now), 13);
        assert_eq!(days_left(1_000_000 - 1, now), -1);
    }
}
