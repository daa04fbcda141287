//! Opaque, type-prefixed identifiers (`cl_`, `sub_`, `evt_`, `dlv_`, `imp_`, `sync_`).
//!
//! New ids are time-ordered (48-bit milliseconds then 80 random bits, Crockford base32, as in
//! ULID) so that lists sort by creation. Delivery ids are derived from (event, subscription) so
//! that fan-out is idempotent: running it twice for one event names the same deliveries.
//! Each kind of id has its type ([`ClientId`], [`SubscriptionId`], [`EventId`],
//! [`DeliveryId`]), parsed from a request's text by its exact shape.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

mod typed;

pub use typed::{
    ClientId, ConnectionId, DeliveryId, EventId, ImportId, RequestId, SubscriptionId, SyncRequestId,
};

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Longest id any Hookline resource has (a bootstrap admin may be given its own id).
pub const MAX_ID_LEN: usize = 128;

/// Whether `text` can be the id of something Hookline stores: 1–[`MAX_ID_LEN`] letters,
/// digits, `_`, `-` and `.`. Anything else (a key DynamoDB would refuse, a path of control
/// characters) names nothing, and is answered as not found before any backend sees it.
pub fn is_plausible_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Fills `buf` with cryptographically secure random bytes.
pub fn random_bytes(buf: &mut [u8]) {
    // The system RNG only fails if the OS has no entropy source at all; there is no sane
    // fallback for a security token, so that is fatal by design.
    SystemRandom::new()
        .fill(buf)
        .expect("the operating system's random number generator is unavailable");
}

/// A new time-ordered id with the given prefix, for a creation time in Unix milliseconds.
pub fn new_id(prefix: &str, unix_ms: i128) -> String {
    let mut rnd = [0u8; 10];
    random_bytes(&mut rnd);
    let ms = (unix_ms.max(0) as u128) & ((1u128 << 48) - 1);
    let mut value: u128 = ms << 80;
    for (i, b) in rnd.iter().enumerate() {
        value |= (*b as u128) << (72 - 8 * i);
    }
    let mut out = String::with_capacity(prefix.len() + 26);
    out.push_str(prefix);
    for i in (0..26).rev() {
        let idx = ((value >> (5 * i)) & 0x1f) as usize;
        out.push(CROCKFORD[idx] as char);
    }
    out
}

/// SHA-256 of (event, subscription): what a fan-out delivery id is derived from.
fn pair_digest(event_id: &str, subscription_id: &str) -> digest::Digest {
    digest::digest(
        &digest::SHA256,
        format!("{event_id}\u{0}{subscription_id}").as_bytes(),
    )
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    use std::fmt::Write;
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// A uniform random number in [0, 1), for retry jitter. Not for anything secret: it comes
/// from `fastrand`'s per-thread generator (seeded once from the OS), because asking the OS
/// for four bytes on every delivery attempt was 1.5% of the delivery path's CPU.
pub fn random_unit() -> f64 {
    fastrand::f64()
}

/// 128 random bits for a token that must differ from every other but need not stay secret
/// (a receipt handle of the embedded queue, which tells one receive of a message from the
/// next). From the same generator as [`random_unit`]: the OS generator it replaced was 0.6%
/// of the runner's CPU in fan-out, all of it on the queue's one writer thread.
pub fn random_u128() -> u128 {
    fastrand::u128(..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_unit_is_in_the_unit_interval_and_varies() {
        let draws: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(draws.iter().any(|x| *x < 0.5) && draws.iter().any(|x| *x >= 0.5));
    }

    #[test]
    fn random_u128_draws_differ() {
        let draws: std::collections::HashSet<u128> = (0..1000).map(|_| random_u128()).collect();
        assert_eq!(draws.len(), 1000);
    }
}
