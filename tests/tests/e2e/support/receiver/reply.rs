//! `Reply`: how a receiver answers one request.

use std::time::Duration;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub(super) status: u16,
    pub(super) delay: Duration,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: String,
}

impl Reply {
    /// 200 with a short body.
    pub fn ok() -> Reply {
        Reply::status(200).body("ok")
    }

    /// Any status, empty body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            delay: Duration::ZERO,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// 410 Gone.
    pub fn gone() -> Reply {
        Reply::status(410)
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).header("location", location)
    }

    /// `status` (429 or 503) with `Retry-After: secs`.
    pub fn retry_after(status: u16, secs: u64) -> Reply {
        Reply::status(status).header("retry-after", &secs.to_string())
    }

    /// Answer only after `delay` (to provoke timeouts).
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// An extra response header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The response body.
    pub fn body(mut self, body: impl Into<String>) -> Reply {
        self.body = body.into();
        self
    }
}
