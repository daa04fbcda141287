//! Opaque, type-prefixed identifiers (`cl_`, `sub_`, `evt_`, `dlv_`).
//!
//! New ids are time-ordered (48-bit milliseconds then 80 random bits, Crockford base32, as in
//! ULID) so that lists sort by creation. Delivery ids are derived from (event, subscription) so
//! that fan-out is idempotent: running it twice for one event names the same deliveries.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Client id prefix.
pub const CLIENT: &str = "cl_";
/// Subscription id prefix.
pub const SUBSCRIPTION: &str = "sub_";
/// Event id prefix.
pub const EVENT: &str = "evt_";
/// Delivery id prefix.
pub const DELIVERY: &str = "dlv_";

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

/// The delivery id of an event for a subscription: the same inputs always give the same id.
///
/// An event id of the form Hookline gives them (`evt_` and 26 time-ordered characters) leads
/// the delivery id, followed by 12 bytes of SHA-256 of (event, subscription) in hex. One
/// event's deliveries thus sit side by side, in the order the events were accepted, in any
/// index sorted by delivery id: on the embedded backend a fan-out's hundred inserts then share
/// a page of the id index instead of dirtying a page each. Any other event id (none that
/// Hookline makes) gives 16 bytes of the digest in hex instead.
pub fn delivery_id(event_id: &str, subscription_id: &str) -> String {
    let Some(time_ordered) = event_id
        .strip_prefix(EVENT)
        .filter(|t| t.len() == 26 && t.bytes().all(|b| CROCKFORD.contains(&b)))
    else {
        return hashed_delivery_id(event_id, subscription_id);
    };
    let d = pair_digest(event_id, subscription_id);
    let mut out = String::with_capacity(DELIVERY.len() + 26 + 24);
    out.push_str(DELIVERY);
    out.push_str(time_ordered);
    push_hex(&mut out, &d.as_ref()[..12]);
    out
}

/// The delivery id of an event whose id is not time-ordered: 16 bytes of SHA-256 of
/// (event, subscription) in hex.
fn hashed_delivery_id(event_id: &str, subscription_id: &str) -> String {
    let d = pair_digest(event_id, subscription_id);
    let mut out = String::with_capacity(DELIVERY.len() + 32);
    out.push_str(DELIVERY);
    push_hex(&mut out, &d.as_ref()[..16]);
    out
}

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

/// A manual delivery id (test pings, replays), unique per call.
pub fn manual_delivery_id(unix_ms: i128) -> String {
    new_id(DELIVERY, unix_ms)
}

/// True if `id` has the prefix and a plausible body (used to answer 404 early on junk ids).
pub fn has_prefix(id: &str, prefix: &str) -> bool {
    id.len() > prefix.len()
        && id.len() <= 128
        && id.starts_with(prefix)
        && id[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
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
    fn ids_sort_by_creation_time() {
        let a = new_id(EVENT, 1_000);
        let b = new_id(EVENT, 2_000);
        assert!(a < b, "{a} < {b}");
        assert_eq!(a.len(), EVENT.len() + 26);
    }

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

    #[test]
    fn delivery_id_is_deterministic_and_distinct() {
        let (e1, e2) = (new_id(EVENT, 1_000), new_id(EVENT, 1_000));
        assert_eq!(delivery_id(&e1, "sub_1"), delivery_id(&e1, "sub_1"));
        assert_ne!(delivery_id(&e1, "sub_1"), delivery_id(&e1, "sub_2"));
        assert_ne!(delivery_id(&e1, "sub_1"), delivery_id(&e2, "sub_1"));
        assert_ne!(delivery_id("evt_1", "sub_1"), delivery_id("evt_1s", "ub_1"));
        assert!(has_prefix(&delivery_id(&e1, "sub_1"), DELIVERY));
    }

    #[test]
    fn an_events_deliveries_share_its_time_ordered_id_and_sort_by_acceptance() {
        let (early, late) = (new_id(EVENT, 1_000), new_id(EVENT, 2_000));
        let a = delivery_id(&early, "sub_zzz");
        let b = delivery_id(&late, "sub_aaa");
        assert!(a < b, "{a} < {b}");
        assert!(a.starts_with(&format!("dlv_{}", &early[EVENT.len()..])));
        assert_eq!(a.len(), DELIVERY.len() + 26 + 24);
    }

    #[test]
    fn other_event_ids_hash_the_pair() {
        let hashed = delivery_id("evt_1", "sub_1");
        assert_eq!(hashed.len(), DELIVERY.len() + 32);
        assert!(
            hashed[DELIVERY.len()..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
    }
}
