//! Claims held in memory: the write that the claim of a delivery's first attempt costs,
//! saved where this process is the only one over its store.
//!
//! An attempt claims its delivery before it sends (`DeliveryStore::claim_delivery`): a write
//! conditioned on the version read, listing the attempt as under way and setting a lease,
//! because several messages may name one delivery and several processes may receive them.
//! The local runner holds the data directory's lock and runs every fan-out and delivery
//! worker over this store: nothing outside it can touch a delivery its own fan-out has just
//! inserted. There the claim of such a delivery (over the version inserted, nothing written
//! since) is kept here instead of written. That is one store write fewer on the path of
//! every delivery (about a tenth of the runner's CPU in fan-out), and about 15% off the
//! fan-out p99 (see `bench/RESULTS.md`).
//!
//! A held claim keeps the port's promise as a written one would: a second claim is
//! [`Claim::Taken`] while the lease lasts; the owner's outcome, written over the claim's
//! version + 1, goes over the stored version and ends the claim; any other write of the
//! delivery, and any claim made once the lease has ended, first writes the held claim as it
//! stands, so that an attempt whose outcome was never written (the request sent, the store
//! failing) is on record, under way, before the next one goes out. The checks that precede a
//! write run on the writer thread, in the order of the writes. A restart forgets every held
//! claim: that attempt is then not on record (the saving's price, in this process only).
//!
//! Entries live from the insert to the first claim or write of the delivery; a delivery
//! never attempted (its message dead-lettered) stays until the process ends, within
//! [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use hookline_domain::Delivery;
use hookline_ports::Claim;
use time::OffsetDateTime;

/// Most deliveries remembered (about 100 bytes each while waiting for their first claim);
/// beyond that, new deliveries claim by a write, as elsewhere.
pub const MAX_ENTRIES: usize = 65_536;

/// What is known of a remembered delivery.
enum Entry {
    /// Inserted by this process at this version, and neither claimed nor written since.
    Fresh(u64),
    /// Claimed without a write: the claim as it would have been written.
    Held(Box<Delivery>),
}

/// A delivery id → what this process knows of it. (A few lookups per delivery in a map of up
/// to tens of thousands: SipHash made them 2% of the runner's CPU.)
type Entries = HashMap<Box<str>, Entry, foldhash::fast::RandomState>;

/// The claims of one store, held in memory when it is the sole process's.
#[derive(Default)]
pub(crate) struct Claims {
    /// Off (the default): every claim is written.
    enabled: bool,
    entries: Mutex<Entries>,
}

/// How a claim goes on, once the memory has been asked.
pub(crate) enum ClaimBy {
    /// Answered from memory.
    Memory(Claim),
    /// Written, as every store writes it.
    Write(Box<Delivery>),
}

/// What a write of a delivery must do first (decided on the writer thread).
pub(crate) enum BeforeWrite {
    /// Nothing: write as asked.
    Nothing,
    /// The owner of a held claim writes its outcome: over `stored`, the version the claim
    /// was made over, which is still the stored one.
    Owner {
        /// The stored version.
        stored: u64,
    },
    /// Write this held claim first (over its own version), then the write asked for.
    WriteHeld(Box<Delivery>),
}

impl Claims {
    /// Claims that are held in memory where possible.
    pub(crate) fn enabled() -> Claims {
        Claims {
            enabled: true,
            entries: Mutex::default(),
        }
    }

    /// Remembers the deliveries this process has just inserted as new.
    pub(crate) fn inserted(&self, deliveries: &[Delivery], created: &[bool]) {
        if !self.enabled {
            return;
        }
        let mut entries = self.lock();
        for (d, _) in deliveries.iter().zip(created).filter(|(_, new)| **new) {
            if entries.len() >= MAX_ENTRIES {
                break;
            }
            entries.insert(d.id.as_str().into(), Entry::Fresh(d.version));
        }
    }

    /// Whether `claim` (made at `at`) can be answered without a write.
    pub(crate) fn claim(&self, claim: Delivery, at: OffsetDateTime) -> ClaimBy {
        if !self.enabled {
            return ClaimBy::Write(Box::new(claim));
        }
        let mut entries = self.lock();
        match entries.get_mut(claim.id.as_str()) {
            Some(entry) if matches!(*entry, Entry::Fresh(v) if v == claim.version) => {
                *entry = Entry::Held(Box::new(claim));
                ClaimBy::Memory(Claim::Claimed)
            }
            Some(Entry::Held(held)) if held.next_attempt_at.is_some_and(|end| end > at) => {
                ClaimBy::Memory(Claim::Taken)
            }
            // Not fresh at this version, or held past its lease: written, after the held
            // claim (see `before_write`).
            _ => ClaimBy::Write(Box::new(claim)),
        }
    }

    /// What a write of delivery `id` over `version` must do first. Runs on the writer
    /// thread, just before the write: any write but the owner's ends what is remembered.
    pub(crate) fn before_write(&self, id: &str, version: u64) -> BeforeWrite {
        if !self.enabled {
            return BeforeWrite::Nothing;
        }
        let mut entries = self.lock();
        match entries.get(id) {
            None => BeforeWrite::Nothing,
            Some(Entry::Held(held)) if held.version.checked_add(1) == Some(version) => {
                BeforeWrite::Owner {
                    stored: held.version,
                }
            }
            Some(_) => match entries.remove(id) {
                Some(Entry::Held(held)) => BeforeWrite::WriteHeld(held),
                _ => BeforeWrite::Nothing,
            },
        }
    }

    /// Forgets `id` (a write that replaces whatever was claimed).
    pub(crate) fn forget(&self, id: &str) {
        if self.enabled {
            self.lock().remove(id);
        }
    }

    /// The owner's outcome is written: its claim ends.
    pub(crate) fn outcome_written(&self, id: &str) {
        if !self.enabled {
            return;
        }
        let mut entries = self.lock();
        if matches!(entries.get(id), Some(Entry::Held(_))) {
            entries.remove(id);
        }
    }

    /// How many deliveries are remembered (waiting for their first claim, or claimed here).
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Each change is one call: the map stays consistent across a panic.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
