//! The retry schedule: how long to wait after each failed attempt.

use std::time::Duration;

/// Longest delay SQS can hold a message invisible (12 hours).
pub const MAX_DELAY: Duration = Duration::from_secs(12 * 3600);

/// Delays after failed attempts 1, 2, …; attempts past the end repeat the last delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 12 h (about 40 hours).
    fn default() -> Self {
        let s = [
            5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200,
        ];
        RetrySchedule {
            delays: s.into_iter().map(Duration::from_secs).collect(),
        }
    }
}

impl RetrySchedule {
    /// Parses a comma list of durations: `500ms`, `5s`, `2m`, `1h` (plain numbers are seconds).
    pub fn parse(text: &str) -> Result<RetrySchedule, String> {
        let mut delays = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            delays.push(parse_duration(part)?);
        }
        if delays.is_empty() {
            return Err("the retry schedule needs at least one delay".into());
        }
        Ok(RetrySchedule { delays })
    }

    /// The delay after failed attempt `attempt` (1-based) of the current cycle, with `unit` a
    /// uniform random number in [0, 1) that spreads it by ±20%.
    pub fn delay_after(&self, attempt: u32, unit: f64) -> Duration {
        let idx = (attempt.max(1) as usize - 1).min(self.delays.len() - 1);
        let base = self.delays[idx];
        let factor = 0.8 + 0.4 * unit.clamp(0.0, 1.0);
        base.mul_f64(factor).min(MAX_DELAY)
    }

    /// The delays, for display.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("'{s}' is not a duration (e.g. 500ms, 5s, 2m, 1h)");
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| err())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(err()),
    };
    if !(0.0..=43200.0).contains(&secs) {
        return Err(format!("'{s}' must be between 0 and 12h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a `Retry-After` value (delay-seconds or HTTP-date relative to `now_unix`), capped
/// at 12 hours.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_DELAY));
    }
    let when = httpdate_parse(v)?;
    Some(Duration::from_secs((when - now_unix).max(0) as u64).min(MAX_DELAY))
}

fn httpdate_parse(v: &str) -> Option<i64> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(v, &fmt)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_spans_about_forty_hours() {
        let s = RetrySchedule::default();
        let total: u64 = (1..=11).map(|a| s.delay_after(a, 0.5).as_secs()).sum();
        assert_eq!(
            total,
            5 + 30 + 120 + 600 + 1800 + 3600 + 7200 + 14400 + 28800 + 43200 + 43200
        );
        assert_eq!(s.delay_after(40, 0.5), Duration::from_secs(43200));
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let s = RetrySchedule::parse("10s").expect("schedule");
        assert_eq!(s.delay_after(1, 0.0), Duration::from_secs(8));
        assert_eq!(s.delay_after(1, 1.0), Duration::from_secs(12));
    }

    #[test]
    fn parses_units_and_refuses_junk() {
        let s = RetrySchedule::parse("500ms, 2s,1m,1h").expect("schedule");
        assert_eq!(s.delays()[0], Duration::from_millis(500));
        assert_eq!(s.delays()[3], Duration::from_secs(3600));
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("5x").is_err());
        assert!(RetrySchedule::parse("13h").is_err());
    }

    #[test]
    fn retry_after_seconds_and_dates_are_capped() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("999999", 0), Some(MAX_DELAY));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
