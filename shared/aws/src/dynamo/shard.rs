//! Write sharding of the lists that every write of a kind would otherwise land on (all
//! deliveries; all events of a day): such a list is spread over [`SHARDS`] index partitions
//! `list#0` … `list#15`, an item going to the shard of its id, and read back by merging the
//! shards (`query`). One partition key of a GSI takes about 1,000 write units a second, and
//! past that DynamoDB throttles the writes to the table itself; time-ordered sort keys always
//! write at the newest end, so DynamoDB cannot split such a partition to spread the heat.

/// Shards of a sharded list. It may grow (reads merge every shard, whatever the count was when
/// an item was written) but must never shrink: the items of a dropped shard would vanish from
/// the list until rewritten or expired.
pub(crate) const SHARDS: u32 = 16;

/// The shard of an item id: 64-bit FNV-1a of its bytes, mixed with MurmurHash3's finalizer
/// (FNV's low bits depend only on the low bits of each byte), modulo [`SHARDS`]. Written out
/// here so it is the same on every build and platform, which std's hashers do not promise.
pub(crate) fn shard_of(id: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    // The remainder is below SHARDS, a u32.
    u32::try_from(h % u64::from(SHARDS)).unwrap_or(0)
}

/// The partition of item `id` in the sharded list `list`: `list#n`.
pub(crate) fn shard_partition(list: &str, id: &str) -> String {
    format!("{list}#{}", shard_of(id))
}

/// Every partition of the sharded list `list`, as it is read: its shards `list#0` … in order,
/// then `list` itself, where items written before the list was sharded stay until they are
/// rewritten (which moves them to their shard) or expire. Once every stack has run the sharded
/// writes for longer than the retention, `list` is empty and could be dropped from this list
/// (its position is last, so the shards' positions in cursors would not change).
pub(crate) fn list_partitions(list: &str) -> Vec<String> {
    (0..SHARDS)
        .map(|n| format!("{list}#{n}"))
        .chain(std::iter::once(list.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_fixed_and_spread() {
        // Pinned: the function must not change between builds (it decides where items live).
        let pinned: Vec<u32> = ["", "a", "b", "dlv_1", "evt_01JQ3Z8Y6V2F0K9T5M4N7P1R8S"]
            .iter()
            .map(|id| shard_of(id))
            .collect();
        assert_eq!(pinned, [6, 11, 0, 11, 1]);
        let mut counts = [0u32; SHARDS as usize];
        for i in 0..3200 {
            let n = shard_of(&format!("dlv_01JQ3Z8Y6V2F0K9T5M4N{i:06}"));
            assert!(n < SHARDS);
            counts[n as usize] += 1;
        }
        // 200 per shard on average; a fair hash stays well within ±30%.
        assert!(
            counts.iter().all(|c| (140..=260).contains(c)),
            "uneven shards: {counts:?}"
        );
        assert_eq!(shard_partition("DELIVERIES", "a"), "DELIVERIES#11");
        let all = list_partitions("EVENTS#2026-03-01");
        assert_eq!(all.len(), SHARDS as usize + 1);
        assert_eq!(all[0], "EVENTS#2026-03-01#0");
        assert_eq!(all[15], "EVENTS#2026-03-01#15");
        assert_eq!(all[16], "EVENTS#2026-03-01");
    }
}
