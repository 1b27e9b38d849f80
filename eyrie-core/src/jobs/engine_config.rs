//! The `with_…` setters of [`EngineConfig`] (defined beside the engine).
//! The config is `#[non_exhaustive]`: start from [`EngineConfig::default`]
//! and change what differs.

use std::time::Duration;

use super::engine::EngineConfig;

impl EngineConfig {
    /// With this engine id (shown in its leases) instead of a fresh one.
    pub fn with_engine_id(mut self, engine_id: u64) -> Self {
        self.engine_id = Some(engine_id);
        self
    }

    /// Running at most `n` jobs at once (at least 1).
    pub fn with_max_concurrent_jobs(mut self, n: usize) -> Self {
        self.max_concurrent_jobs = n.max(1);
        self
    }

    /// Holding a claim on a running job `seconds` without renewal.
    pub fn with_lease_seconds(mut self, seconds: u64) -> Self {
        self.lease_seconds = seconds;
        self
    }

    /// Waiting `base` before the first retry (doubling on every attempt).
    pub fn with_retry_base(mut self, base: Duration) -> Self {
        self.retry_base = base;
        self
    }

    /// Waiting at most `cap` between retries.
    pub fn with_retry_cap(mut self, cap: Duration) -> Self {
        self.retry_cap = cap;
        self
    }

    /// Failing a step for good after `attempts` attempts.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_change_only_what_they_name() {
        let base = EngineConfig::default();
        let config = base
            .clone()
            .with_engine_id(7)
            .with_max_concurrent_jobs(0)
            .with_retry_base(Duration::from_millis(10))
            .with_retry_cap(Duration::from_secs(1));
        assert_eq!(config.engine_id, Some(7));
        assert_eq!(config.max_concurrent_jobs, 1, "at least one job runs");
        assert_eq!((config.retry_base, config.retry_cap), (Duration::from_millis(10), Duration::from_secs(1)));
        assert_eq!((config.lease_seconds, config.max_attempts), (base.lease_seconds, base.max_attempts));
    }
}
