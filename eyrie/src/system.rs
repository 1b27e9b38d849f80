//! The batteries the pure core takes injected: the system clock, ids and
//! nonces from the operating system's randomness.
//!
//! # Ids: time-ordered, random low bits
//!
//! [`TimeOrderedIds`] hands out 64-bit ids laid out as
//!
//! ```text
//! 0 | 41 bits: milliseconds since 2025-01-01 UTC | 22 bits: random, then +1 per id
//! ```
//!
//! - **Within a process** ids strictly increase: each id is the larger of
//!   "now with fresh random low bits" and "the last id + 1", so a burst in
//!   one millisecond or a clock stepping back never repeats one.
//! - **Across restarts** a new process starts at the current time, after
//!   every id the old one gave (unless the clock was set back past them;
//!   then the random bits still separate them).
//! - **Across processes** sharing one store (replicas), two ids collide
//!   only when both were taken in the same millisecond *and* drew the same
//!   22 random bits: about one in four million per such pair. A collision
//!   is never silent: every create is conditional, so the store refuses the
//!   second record (`AlreadyExists`) and nothing is overwritten.
//! - Ids sort by creation time, so the stores append new records at the end
//!   of their B-trees instead of at random places, and an id says roughly
//!   when its record was made. The top bit stays zero (ids fit an `i64`).
//!
//! The ids are above 2^53, the largest integer a JavaScript number holds
//! exactly: a JSON API with browser clients should send ids as strings
//! (or in their printed form, `prj-…`), not as JSON numbers.
//!
//! A block allocator backed by the store would remove the last, tiny
//! cross-process chance; it needs a counter record in the core and is left
//! for when the core has one. The 41-bit clock lasts until 2094.

use std::sync::Mutex;
use std::sync::PoisonError;

pub use eyrie_kube::SystemClock;

use eyrie_core::service::NonceSource;
use eyrie_core::{Clock, Error, IdSource, Result};

/// 2025-01-01T00:00:00Z in Unix milliseconds.
const EPOCH_MS: i64 = 1_735_689_600_000;
const RANDOM_BITS: u32 = 22;
const TIME_MASK: u64 = (1 << 41) - 1;

/// Fills `buf` from the operating system's random source.
pub fn os_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::backend(format!("no randomness from the operating system: {e}"), false))
}

/// Time-ordered 64-bit ids with random low bits; see the module docs.
pub struct TimeOrderedIds {
    clock: Box<dyn Clock>,
    last: Mutex<u64>,
}

impl std::fmt::Debug for TimeOrderedIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeOrderedIds").finish_non_exhaustive()
    }
}

impl TimeOrderedIds {
    /// Ids stamped with the system clock. Fails when the operating system
    /// gives no randomness.
    pub fn new() -> Result<Self> {
        Self::with_clock(SystemClock)
    }

    /// Ids stamped with `clock` (tests, or a clock the embedder trusts more).
    pub fn with_clock(clock: impl Clock + 'static) -> Result<Self> {
        // Prove the random source works now rather than at the first id.
        os_random(&mut [0u8; 4])?;
        Ok(TimeOrderedIds { clock: Box::new(clock), last: Mutex::new(0) })
    }

    fn candidate(&self) -> u64 {
        let since = u64::try_from(self.clock.now().0.saturating_sub(EPOCH_MS)).unwrap_or(0) & TIME_MASK;
        let mut random = [0u8; 4];
        // Checked in the constructor; should the source fail later, the
        // monotonic rule below still keeps ids unique within the process.
        let _ = getrandom::fill(&mut random);
        let low = u64::from(u32::from_le_bytes(random)) & ((1 << RANDOM_BITS) - 1);
        (since << RANDOM_BITS) | low
    }
}

impl IdSource for TimeOrderedIds {
    fn next_id(&self) -> u64 {
        let candidate = self.candidate();
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let id = candidate.max(last.saturating_add(1));
        *last = id;
        id
    }
}

/// Nonces from the operating system's random source (24 random bytes are
/// safe for XChaCha20-Poly1305 without a counter).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsNonces;

impl NonceSource for OsNonces {
    fn fill(&self, nonce: &mut [u8; 24]) {
        if getrandom::fill(nonce).is_err() {
            // Without randomness there is no safe nonce, and the trait cannot
            // fail: stop rather than seal with a repeated one.
            tracing::error!("no randomness from the operating system: aborting rather than reuse a nonce");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use eyrie_core::Timestamp;

    use super::*;

    #[derive(Debug, Clone)]
    struct Manual(Arc<AtomicI64>);

    impl Clock for Manual {
        fn now(&self) -> Timestamp {
            Timestamp(self.0.load(Ordering::SeqCst))
        }
    }

    #[test]
    fn ids_increase_even_in_a_burst_and_when_the_clock_steps_back() {
        let time = Arc::new(AtomicI64::new(EPOCH_MS + 1_000));
        let ids = TimeOrderedIds::with_clock(Manual(time.clone())).unwrap();
        let mut seen = Vec::new();
        for _ in 0..10_000 {
            seen.push(ids.next_id());
        }
        time.store(EPOCH_MS + 500, Ordering::SeqCst); // stepped back
        for _ in 0..100 {
            seen.push(ids.next_id());
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "not strictly increasing");
        assert!(seen.iter().all(|id| id >> 63 == 0), "top bit set");
        assert_eq!(seen[0] >> RANDOM_BITS, 1_000, "the time part is milliseconds since the epoch");
    }

    #[test]
    fn a_restart_continues_after_the_ids_of_the_previous_run() {
        let time = Arc::new(AtomicI64::new(EPOCH_MS + 86_400_000));
        let first = TimeOrderedIds::with_clock(Manual(time.clone())).unwrap();
        let before: Vec<u64> = (0..1000).map(|_| first.next_id()).collect();
        time.fetch_add(1, Ordering::SeqCst);
        let restarted = TimeOrderedIds::with_clock(Manual(time)).unwrap();
        let after = restarted.next_id();
        assert!(before.iter().all(|id| *id < after));
    }

    #[test]
    fn two_processes_in_the_same_millisecond_draw_different_ids() {
        let time = Arc::new(AtomicI64::new(EPOCH_MS + 5));
        let a = TimeOrderedIds::with_clock(Manual(time.clone())).unwrap();
        let b = TimeOrderedIds::with_clock(Manual(time)).unwrap();
        let mut all = HashSet::new();
        for _ in 0..100 {
            assert!(all.insert(a.next_id()));
            assert!(all.insert(b.next_id()));
        }
        assert_eq!(all.len(), 200);
    }

    #[test]
    fn nonces_differ() {
        let (mut x, mut y) = ([0u8; 24], [0u8; 24]);
        OsNonces.fill(&mut x);
        OsNonces.fill(&mut y);
        assert_ne!(x, y);
    }
}
