//! Time, behind a trait so tests and the domain never read the system clock directly.

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock moved forward by however much a test has advanced it: retry delays and
/// leases pass at once, while everything else keeps real time.
#[derive(Debug, Default)]
pub struct ShiftedClock(std::sync::atomic::AtomicI64);

impl ShiftedClock {
    /// Moves this clock `by` further ahead of the system clock.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        let ms = self.0.load(std::sync::atomic::Ordering::SeqCst);
        OffsetDateTime::now_utc() + time::Duration::milliseconds(ms)
    }
}
