//! First attempts that this process owns outright, and so need not claim in the store.
//!
//! An attempt is normally claimed in the store — a write conditioned on the version read, that
//! sets a lease — because several messages may name one delivery (a fan-out re-run, a repeat
//! of a message) and several processes may receive them. Where one process does all the
//! fan-out and all the delivering over a store that no other process writes (the local runner
//! on the embedded backend), nothing outside it can touch a delivery its fan-out has just
//! created, and every attempt inside it checks here first: the first attempt of such a
//! delivery, made from the copy its creation message carries, skips the claim and writes its
//! outcome straight over version 0. That is one store write per delivery fewer, on the path of
//! every delivery (about a tenth of the local runner's CPU in fan-out).
//!
//! An entry lives from the fan-out that created the delivery to the end of its first attempt,
//! or to the first attempt that has to claim after all, or to the acknowledgement of a message
//! for it (a delivery abandoned unsent); a restart forgets every entry, and the deliveries then
//! claim as elsewhere.
//!
//! An unclaimed attempt leaves nothing in the store until its outcome is written. Should that
//! write fail after the request went out, the entry stays, marked lost: the next attempt
//! claims, and its claim records the lost one as an attempt whose outcome is not recorded, so
//! that a second request always has a reason on record. (A crash at that point forgets the
//! mark with everything else in memory: the price of the saved write, in this process only.)

use std::collections::HashMap;
use std::sync::Mutex;

type Entries = HashMap<Box<str>, State, foldhash::fast::RandomState>;

/// Where a remembered delivery's first attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not begun.
    Waiting,
    /// Under way, unclaimed; `sent`: its request went out.
    UnderWay { sent: bool, recorded: bool },
    /// Its request went out and its outcome could not be written.
    Lost,
}

/// Most deliveries waiting for their first attempt that are remembered (about 100 bytes
/// each); beyond that, new deliveries claim as elsewhere.
pub const MAX_ENTRIES: usize = 65_536;

/// What an attempt must do before it sends.
#[derive(Debug)]
pub enum Begin<'a> {
    /// Nobody else has touched this delivery and nobody will until the guard drops: send
    /// without a claim, and record the outcome over the version of the copy.
    Owned(Owning<'a>),
    /// Another attempt in this process is under way without a claim: wait for it.
    Busy,
    /// Claim in the store, as everywhere else.
    Claim,
    /// Claim, and record first the earlier attempt whose request went out but whose outcome
    /// could not be written.
    ClaimAfterLost,
}

/// Fresh deliveries of this process, and which of them are being attempted unclaimed.
#[derive(Debug)]
pub struct FirstAttempts {
    enabled: bool,
    /// Delivery id → whether its unclaimed first attempt is under way. (A few lookups per
    /// delivery in a map of up to tens of thousands: SipHash made them 2% of the runner's CPU.)
    entries: Mutex<Entries>,
}

impl FirstAttempts {
    /// `enabled` only where this process is the only one that fans out and delivers over its
    /// store; otherwise every attempt claims.
    pub fn new(enabled: bool) -> Self {
        FirstAttempts {
            enabled,
            entries: Mutex::default(),
        }
    }

    /// Remembers deliveries that this process's fan-out has just created (before their
    /// messages are sent).
    pub fn created<'i>(&self, ids: impl IntoIterator<Item = &'i str>) {
        if !self.enabled {
            return;
        }
        let mut entries = self.lock();
        for id in ids {
            if entries.len() >= MAX_ENTRIES {
                break;
            }
            entries.entry(id.into()).or_insert(State::Waiting);
        }
    }

    /// Decides how the attempt of `id` that is about to send goes on. `fresh_copy`: the
    /// attempt works from the copy that the delivery's creation message carries (as created,
    /// version 0), not from the store.
    pub fn begin(&self, id: &str, fresh_copy: bool) -> Begin<'_> {
        if !self.enabled {
            return Begin::Claim;
        }
        let mut entries = self.lock();
        match entries.get_mut(id) {
            None => Begin::Claim,
            Some(State::UnderWay { .. }) => Begin::Busy,
            Some(State::Lost) => {
                entries.remove(id);
                Begin::ClaimAfterLost
            }
            Some(state) if fresh_copy => {
                *state = State::UnderWay {
                    sent: false,
                    recorded: false,
                };
                Begin::Owned(Owning {
                    attempts: self,
                    id: id.to_string(),
                })
            }
            Some(_) => {
                // Another message for it came first (a fan-out re-run): it claims, and the
                // creation message, when it comes, finds the claim.
                entries.remove(id);
                Begin::Claim
            }
        }
    }

    /// Forgets a delivery whose message is done with, unless its unclaimed attempt is under
    /// way (that one forgets it when it ends). Without this, deliveries that end unattempted
    /// (their subscription deleted while they waited) would fill the map for good.
    pub fn forget(&self, id: &str) {
        if !self.enabled {
            return;
        }
        let mut entries = self.lock();
        if entries.get(id) == Some(&State::Waiting) {
            entries.remove(id);
        }
    }

    /// Notes that the unclaimed attempt of `id` (if one is under way) sent its request.
    pub fn sent(&self, id: &str) {
        self.mark(id, |sent, _| *sent = true);
    }

    /// Notes that the outcome of the unclaimed attempt of `id` (if one is under way) is
    /// written.
    pub fn recorded(&self, id: &str) {
        self.mark(id, |_, recorded| *recorded = true);
    }

    fn mark(&self, id: &str, f: impl FnOnce(&mut bool, &mut bool)) {
        if !self.enabled {
            return;
        }
        if let Some(State::UnderWay { sent, recorded }) = self.lock().get_mut(id) {
            f(sent, recorded);
        }
    }

    /// How many deliveries are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The map stays consistent across a panic (each change is one call).
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An unclaimed first attempt under way; dropping it (once the outcome is recorded, or on
/// any early end) forgets the delivery, whose later attempts claim.
#[derive(Debug)]
pub struct Owning<'a> {
    attempts: &'a FirstAttempts,
    id: String,
}

impl Drop for Owning<'_> {
    fn drop(&mut self) {
        let mut entries = self.attempts.lock();
        match entries.get_mut(self.id.as_str()) {
            Some(
                state @ State::UnderWay {
                    sent: true,
                    recorded: false,
                },
            ) => *state = State::Lost,
            _ => {
                entries.remove(self.id.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_deliverys_first_attempt_is_owned_once_and_everything_else_claims_or_waits() {
        let attempts = FirstAttempts::new(true);
        attempts.created(["a", "b"]);
        assert_eq!(attempts.len(), 2);

        let owned = attempts.begin("a", true);
        assert!(matches!(owned, Begin::Owned(_)), "{owned:?}");
        assert!(
            matches!(attempts.begin("a", true), Begin::Busy),
            "a repeat of the creation message waits"
        );
        assert!(
            matches!(attempts.begin("a", false), Begin::Busy),
            "so does a message that would read the store"
        );
        drop(owned);
        assert!(
            matches!(attempts.begin("a", true), Begin::Claim),
            "once the first attempt ended, later ones claim"
        );

        assert!(
            matches!(attempts.begin("b", false), Begin::Claim),
            "a message for it that came first claims"
        );
        assert!(
            matches!(attempts.begin("b", true), Begin::Claim),
            "and the creation message then claims too (and finds the claim)"
        );
        assert!(matches!(attempts.begin("unknown", true), Begin::Claim));
        assert!(attempts.is_empty());
    }

    #[test]
    fn forgetting_spares_an_attempt_under_way() {
        let attempts = FirstAttempts::new(true);
        attempts.created(["a", "b"]);
        let owned = attempts.begin("a", true);
        attempts.forget("a");
        attempts.forget("b");
        assert_eq!(attempts.len(), 1, "only the one under way is left");
        assert!(matches!(attempts.begin("a", true), Begin::Busy));
        drop(owned);
        assert!(attempts.is_empty());
    }

    #[test]
    fn an_attempt_sent_but_not_recorded_makes_the_next_claim_record_it() {
        let attempts = FirstAttempts::new(true);
        attempts.created(["a", "b"]);
        let owned = attempts.begin("a", true);
        attempts.sent("a");
        drop(owned);
        assert!(matches!(attempts.begin("a", true), Begin::ClaimAfterLost));
        assert!(matches!(attempts.begin("a", true), Begin::Claim), "once");

        let owned = attempts.begin("b", true);
        attempts.sent("b");
        attempts.recorded("b");
        drop(owned);
        assert!(matches!(attempts.begin("b", true), Begin::Claim));
        assert!(attempts.is_empty());
    }

    #[test]
    fn disabled_every_attempt_claims_and_nothing_is_remembered() {
        let attempts = FirstAttempts::new(false);
        attempts.created(["a"]);
        assert!(attempts.is_empty());
        assert!(matches!(attempts.begin("a", true), Begin::Claim));
    }

    #[test]
    fn at_most_max_entries_are_remembered_and_the_rest_claim() {
        let attempts = FirstAttempts::new(true);
        let ids: Vec<String> = (0..MAX_ENTRIES + 10).map(|i| format!("d{i}")).collect();
        attempts.created(ids.iter().map(String::as_str));
        assert_eq!(attempts.len(), MAX_ENTRIES);
        let last = ids.last().expect("ids");
        assert!(matches!(attempts.begin(last, true), Begin::Claim));
        assert!(matches!(attempts.begin(&ids[0], true), Begin::Owned(_)));
    }
}
