//! Capturing every span and event at TRACE level, for tests that check what
//! operations say about themselves and that no secret reaches a trace.
//!
//! The subscriber is the thread's default, so a test that uses it should
//! run alone in its test binary on a current-thread runtime: tracing caches
//! per callsite whether anyone listens, and a callsite another test thread
//! registers at the same moment can be cached as unheard.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::format::FmtSpan;

/// What was traced while the capture's guard was held.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Everything traced so far, as text (spans with their fields, on
    /// entering and closing, and events).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Makes a TRACE-level formatter writing into the returned [`Captured`] the
/// thread's default subscriber until the guard is dropped.
pub fn capture() -> (DefaultGuard, Captured) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), captured)
}
