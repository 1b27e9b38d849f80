//! What a monitor checks and how (SPEC §6): the type-specific options of a
//! [`Monitor`](super::Monitor), their bounds and defaults, one check's
//! [`CheckOutcome`] and a [`StateChange`].
//!
//! Bounds (every field a tenant fills):
//!
//! | field | bound | default |
//! | --- | --- | --- |
//! | `interval_seconds` | [`MIN_INTERVAL_SECONDS`]..=[`MAX_INTERVAL_SECONDS`] | [`DEFAULT_INTERVAL_SECONDS`] |
//! | `timeout_ms` | 100..=60 000 | 10 000 |
//! | `expected_statuses` | 1..=16 codes, each 100..=599 | `[200]` |
//! | `body_contains` | at most 256 bytes, no control characters | none |
//! | `max_redirects` | 0..=10 | 3 |
//! | HTTP latency thresholds (ms) | 1..=600 000, `warning <= error` | 2 000 / 10 000 |
//! | resource thresholds (% of limit) | 1..=1 000, `warning <= error` | 80 / 95 |
//! | certificate thresholds (days left) | 0..=3 650, `error <= warning` | 14 / 3 |
//! | monitors per deployment | at most [`MAX_MONITORS_PER_DEPLOYMENT`] | |

use crate::clock::Timestamp;
use crate::ids::{DeploymentId, MonitorId, ProjectId};
use crate::validate::ValidationError;

use super::{MonitorState, MonitorType};

/// Default seconds between two checks.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 60;
/// The shortest interval a monitor may have.
pub const MIN_INTERVAL_SECONDS: u64 = 10;
/// The longest interval a monitor may have (one day).
pub const MAX_INTERVAL_SECONDS: u64 = 86_400;
/// Monitors one deployment may have.
pub const MAX_MONITORS_PER_DEPLOYMENT: u32 = 16;
/// Bytes of a check's message kept in its log.
pub const MAX_CHECK_MESSAGE_BYTES: usize = 512;

/// The HTTP method of a request check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET` (the default).
    #[default]
    Get,
    /// `HEAD`.
    Head,
    /// `POST` with an empty body.
    Post,
    /// `OPTIONS`.
    Options,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Post => "POST",
            HttpMethod::Options => "OPTIONS",
        }
    }
}

/// The options of an `http_request` monitor (ignored by the other types).
/// Start from [`HttpOptions::default`] (`GET`, expecting 200, 10 s, TLS
/// verified, 3 redirects) and change it with the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HttpOptions {
    /// The request method.
    pub method: HttpMethod,
    /// Statuses that count as an answer (after redirects).
    pub expected_statuses: Vec<u16>,
    /// How long the whole request may take, in milliseconds; longer is an error.
    pub timeout_ms: u64,
    /// Text the response body must contain.
    pub body_contains: Option<String>,
    /// Whether the server's certificate is verified (on by default).
    pub verify_tls: bool,
    /// Redirects followed, at most.
    pub max_redirects: u8,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            method: HttpMethod::Get,
            expected_statuses: vec![200],
            timeout_ms: 10_000,
            body_contains: None,
            verify_tls: true,
            max_redirects: 3,
        }
    }
}

impl HttpOptions {
    /// With this request method.
    pub fn with_method(mut self, method: HttpMethod) -> Self {
        self.method = method;
        self
    }

    /// Counting these statuses as an answer.
    pub fn with_expected_statuses(mut self, statuses: Vec<u16>) -> Self {
        self.expected_statuses = statuses;
        self
    }

    /// Allowing the whole request this many milliseconds.
    pub fn with_timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }

    /// Requiring the response body to contain `text`.
    pub fn with_body_contains(mut self, text: impl Into<String>) -> Self {
        self.body_contains = Some(text.into());
        self
    }

    /// Verifying the server's certificate (`true`) or not.
    pub fn with_verify_tls(mut self, verify_tls: bool) -> Self {
        self.verify_tls = verify_tls;
        self
    }

    /// Following at most this many redirects.
    pub fn with_max_redirects(mut self, max_redirects: u8) -> Self {
        self.max_redirects = max_redirects;
        self
    }

    /// Checks every bound of the table in the module docs.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let statuses = &self.expected_statuses;
        if statuses.is_empty() || statuses.len() > 16 {
            return Err(ValidationError::field("expected_statuses", statuses.len(), "must hold 1 to 16 status codes"));
        }
        if let Some(bad) = statuses.iter().find(|s| !(100..=599).contains(*s)) {
            return Err(ValidationError::field("expected_statuses", bad, "a status code is 100 to 599"));
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return Err(ValidationError::field("timeout_ms", self.timeout_ms, "must be 100 to 60000 milliseconds"));
        }
        if let Some(text) = &self.body_contains
            && (text.is_empty() || text.len() > 256 || text.chars().any(char::is_control))
        {
            return Err(ValidationError::field(
                "body_contains",
                text,
                "must be 1 to 256 bytes without control characters",
            ));
        }
        if self.max_redirects > 10 {
            return Err(ValidationError::field("max_redirects", self.max_redirects, "must be at most 10"));
        }
        Ok(())
    }
}

/// The default thresholds of a monitor type: `(warning, error)`.
pub fn default_thresholds(monitor_type: MonitorType) -> (Option<u64>, Option<u64>) {
    match monitor_type {
        MonitorType::HttpRequest => (Some(2_000), Some(10_000)),
        MonitorType::Resource => (Some(80), Some(95)),
        MonitorType::Certificate => (Some(14), Some(3)),
        MonitorType::Cpu | MonitorType::Memory | MonitorType::Disk => (Some(80), Some(95)),
    }
}

/// Checks a type's thresholds: their range, and an order that makes sense
/// (a warning before an error: lower latency or use, more days left).
pub fn check_thresholds(
    monitor_type: MonitorType,
    warning: Option<u64>,
    error: Option<u64>,
) -> Result<(), ValidationError> {
    let (range, unit): (std::ops::RangeInclusive<u64>, &str) = match monitor_type {
        MonitorType::HttpRequest => (1..=600_000, "milliseconds from 1 to 600000"),
        MonitorType::Certificate => (0..=3_650, "days from 0 to 3650"),
        _ => (1..=1_000, "percent from 1 to 1000"),
    };
    for (name, value) in [("warning", warning), ("error", error)] {
        if let Some(v) = value
            && !range.contains(&v)
        {
            return Err(ValidationError::field(name, v, format!("must be {unit}")));
        }
    }
    if let (Some(w), Some(e)) = (warning, error) {
        if monitor_type == MonitorType::Certificate && e > w {
            return Err(ValidationError::field("error", e, format!("must be at most the warning ({w} days left)")));
        }
        if monitor_type != MonitorType::Certificate && e < w {
            return Err(ValidationError::field("error", e, format!("must not be below the warning ({w})")));
        }
    }
    Ok(())
}

/// Checks an interval against [`MIN_INTERVAL_SECONDS`] and [`MAX_INTERVAL_SECONDS`].
pub fn check_interval(seconds: u64) -> Result<(), ValidationError> {
    if (MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(ValidationError::field("interval_seconds", seconds, "must be 10 to 86400 seconds"))
    }
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// Its verdict.
    pub state: MonitorState,
    /// Latency in milliseconds, a percentage or days left.
    pub value: Option<u64>,
    /// A short message (cut to [`MAX_CHECK_MESSAGE_BYTES`] when logged).
    pub message: String,
}

impl CheckOutcome {
    /// An outcome.
    pub fn new(state: MonitorState, value: Option<u64>, message: impl Into<String>) -> Self {
        CheckOutcome { state, value, message: message.into() }
    }

    /// A check that could not be made: `unknown`, with the reason.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(MonitorState::Unknown, None, message)
    }

    /// A check whose target failed: `error`, with the reason.
    pub fn error(value: Option<u64>, message: impl Into<String>) -> Self {
        Self::new(MonitorState::Error, value, message)
    }

    /// The message cut at a character boundary to at most [`MAX_CHECK_MESSAGE_BYTES`].
    pub fn short_message(&self) -> String {
        let mut end = self.message.len().min(MAX_CHECK_MESSAGE_BYTES);
        while !self.message.is_char_boundary(end) {
            end -= 1;
        }
        self.message[..end].to_owned()
    }
}

/// A monitor's state changed: what the notification hook receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The monitor.
    pub monitor_id: MonitorId,
    /// Its project.
    pub project_id: ProjectId,
    /// The deployment it watches.
    pub deployment_id: DeploymentId,
    /// What it checks.
    pub monitor_type: MonitorType,
    /// The state before.
    pub from: MonitorState,
    /// The state now.
    pub to: MonitorState,
    /// When it changed.
    pub at: Timestamp,
    /// The message of the result that decided it (or why it went stale).
    pub message: String,
}

/// Damping: the state after a `result`, given the current state and the
/// previous result that disagreed with it (`pending`). A state changes only
/// when two consecutive results agree on a new one. Returns the new state
/// and the new pending result.
pub fn damped(
    current: MonitorState,
    pending: Option<MonitorState>,
    result: MonitorState,
) -> (MonitorState, Option<MonitorState>) {
    if result == current {
        (current, None)
    } else if pending == Some(result) {
        (result, None)
    } else {
        (current, Some(result))
    }
}

/// The verdict for a value where higher is worse (latency, use): at or
/// above `error` is an error, at or above `warning` a warning.
pub fn grade_rising(value: u64, warning: Option<u64>, error: Option<u64>) -> MonitorState {
    if error.is_some_and(|e| value >= e) {
        MonitorState::Error
    } else if warning.is_some_and(|w| value >= w) {
        MonitorState::Warning
    } else {
        MonitorState::Ok
    }
}

/// The verdict for days left on a certificate, where fewer is worse: at or
/// below `error` days an error, at or below `warning` days a warning.
pub fn grade_days_left(days: i64, warning: Option<u64>, error: Option<u64>) -> MonitorState {
    let at_most = |limit: Option<u64>| limit.is_some_and(|l| days <= i64::try_from(l).unwrap_or(i64::MAX));
    if at_most(error) {
        MonitorState::Error
    } else if at_most(warning) {
        MonitorState::Warning
    } else {
        MonitorState::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MonitorState::*;

    #[test]
    fn damping_needs_two_agreeing_results() {
        assert_eq!(damped(Ok, None, Warning), (Ok, Some(Warning)), "one slow answer does not flap");
        assert_eq!(damped(Ok, Some(Warning), Ok), (Ok, None), "and is forgotten by the next good one");
        assert_eq!(damped(Ok, Some(Warning), Warning), (Warning, None), "two agree: the state changes");
        assert_eq!(damped(Ok, Some(Warning), Error), (Ok, Some(Error)), "two that disagree do not");
        assert_eq!(damped(Unknown, None, Ok), (Unknown, Some(Ok)));
    }

    #[test]
    fn thresholds_are_reached_at_their_value() {
        assert_eq!(grade_rising(1999, Some(2000), Some(10_000)), Ok);
        assert_eq!(grade_rising(2000, Some(2000), Some(10_000)), Warning);
        assert_eq!(grade_rising(10_000, Some(2000), Some(10_000)), Error);
        assert_eq!(grade_days_left(15, Some(14), Some(3)), Ok);
        assert_eq!(grade_days_left(14, Some(14), Some(3)), Warning);
        assert_eq!(grade_days_left(3, Some(14), Some(3)), Error);
        assert_eq!(grade_days_left(-2, Some(14), Some(3)), Error, "expired");
    }

    #[test]
    fn threshold_order_must_make_sense() {
        assert!(check_thresholds(MonitorType::HttpRequest, Some(500), Some(100)).is_err());
        assert!(check_thresholds(MonitorType::HttpRequest, Some(100), Some(500)).is_ok());
        assert!(check_thresholds(MonitorType::Certificate, Some(3), Some(14)).is_err());
        assert!(check_thresholds(MonitorType::Certificate, Some(14), Some(3)).is_ok());
        assert!(check_thresholds(MonitorType::Resource, Some(0), None).is_err());
        assert!(check_interval(9).is_err() && check_interval(10).is_ok());
    }

    #[test]
    fn messages_are_cut_at_a_character_boundary() {
        let long = CheckOutcome::unknown("é".repeat(400));
        let short = long.short_message();
        assert!(short.len() <= MAX_CHECK_MESSAGE_BYTES && short.chars().all(|c| c == 'é'));
    }
}
