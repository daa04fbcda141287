//! Conformance: the manufacturer registry — one record per licence number even when two
//! writers race, writes over the version read, and lists by state and name prefix.

use hookline_domain::manufacturer::{ContactInput, FssaiLicence, ManufacturerInput};
use hookline_domain::{ClientId, Manufacturer, StateCode};

use super::{Run, at_ms, both, exact_page_sizes, walk};
use crate::error::PortError;
use crate::store::{ManufacturerQuery, Store};

/// A licence number of this run: ten digits from the run's random tag, then `seq`.
fn licence(run: &Run, seq: u16) -> FssaiLicence {
    let digits: String = run
        .tag
        .bytes()
        .rev()
        .take(10)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    FssaiLicence::from_stored(format!("{digits}{seq:04}"))
}

/// A manufacturer of this run named `name`, used by `states`.
fn manufacturer(run: &Run, seq: u16, name: &str, states: &[&StateCode]) -> Manufacturer {
    let input = ManufacturerInput {
        name: format!("Conformance {} {name}", run.tag),
        fssai_licence: licence(run, seq).to_string(),
        licence_valid_until: "2030-12-31".into(),
        address: "Plot 1, Industrial Area".into(),
        district: "Krishna".into(),
        state: "AP".into(),
        pincode: "520001".into(),
        contact: ContactInput {
            name: "Contact".into(),
            phone: "9848012345".into(),
            email: "contact@example.org".into(),
        },
        commodity: "FRK".into(),
        states: states.iter().map(|s| s.to_string()).collect(),
    };
    let details = input
        .validate()
        .unwrap_or_else(|e| panic!("the suite's manufacturer must be valid: {e:?}"));
    Manufacturer::new(details, run.client_id(), at_ms(run.start_ms))
}

/// Two state codes of this run (no other run uses them) for the lists, one for the rest.
fn states(run: &Run) -> (StateCode, StateCode) {
    let a = StateCode::from_stored(format!("R{}", &run.state[1..]));
    let b = StateCode::from_stored(format!("S{}", &run.state[1..]));
    (a, b)
}

/// The state of the records the lists do not look at.
fn other_state(run: &Run) -> StateCode {
    StateCode::from_stored(run.state.to_string())
}

async fn insert(store: &dyn Store, m: &Manufacturer) -> bool {
    store
        .insert_manufacturer(m)
        .await
        .expect("insert_manufacturer")
}

async fn update(store: &dyn Store, m: &Manufacturer, expected: u64) -> bool {
    store
        .update_manufacturer(m, expected)
        .await
        .expect("update_manufacturer")
}

async fn stored(store: &dyn Store, number: &FssaiLicence) -> Option<Manufacturer> {
    store
        .get_manufacturer(number)
        .await
        .expect("get_manufacturer")
}

/// Insert (once per number), get, update over the version read.
pub(super) async fn manufacturers(store: &dyn Store, run: &Run) {
    let a = other_state(run);
    let m = manufacturer(run, 1, "Annapurna", &[&a]);
    let number = &m.details.fssai_licence;
    assert!(
        insert(store, &m).await,
        "insert_manufacturer of a new number must write"
    );
    let again = manufacturer(run, 1, "Someone Else", &[&a]);
    assert!(
        !insert(store, &again).await,
        "insert_manufacturer of a registered number must be refused"
    );
    let got = stored(store, number).await;
    assert_eq!(
        got.as_ref(),
        Some(&m),
        "get_manufacturer must return it as inserted"
    );

    let mut details = m.details.clone();
    details.contact.phone = "+919800000000".into();
    let next = m.updated(
        details,
        ClientId::from_stored("cl_other"),
        at_ms(run.start_ms + 5),
    );
    assert!(
        update(store, &next, 1).await,
        "update_manufacturer over the stored version must write"
    );
    assert!(
        !update(store, &next, 1).await,
        "update_manufacturer over a version that moved must be refused"
    );
    let got = stored(store, number).await;
    assert_eq!(
        got.as_ref(),
        Some(&next),
        "the update must be stored as written"
    );

    let absent = manufacturer(run, 2, "Nobody", &[&a]);
    let missing = store.update_manufacturer(&absent, 1).await;
    assert!(
        matches!(missing, Err(PortError::NotFound)),
        "update_manufacturer of an unknown number must be NotFound, got {missing:?}"
    );
    let none = stored(store, &absent.details.fssai_licence).await;
    assert_eq!(none, None, "an unknown number reads as None");
}

/// Two writers of one number at once: exactly one insert, and exactly one update over one
/// version, wins.
pub(super) async fn concurrent_writes(store: &dyn Store, run: &Run) {
    let a = other_state(run);
    let first = manufacturer(run, 3, "First", &[&a]);
    let second = manufacturer(run, 3, "Second", &[&a]);
    let (x, y) = both(
        store.insert_manufacturer(&first),
        store.insert_manufacturer(&second),
    )
    .await;
    let wins = [
        x.expect("insert_manufacturer"),
        y.expect("insert_manufacturer"),
    ];
    assert_eq!(
        wins.iter().filter(|w| **w).count(),
        1,
        "of two concurrent inserts of one number exactly one must win, got {wins:?}"
    );
    let stored = stored(store, &first.details.fssai_licence)
        .await
        .expect("the winner is stored");
    let winner = if wins[0] { &first } else { &second };
    assert_eq!(&stored, winner, "the stored record is the winner's");

    let edit = |phone: &str| {
        let mut d = stored.details.clone();
        d.contact.phone = phone.to_string();
        stored.updated(d, run.client_id(), at_ms(run.start_ms + 9))
    };
    let (p, q) = (edit("+919800000001"), edit("+919800000002"));
    let (x, y) = both(
        store.update_manufacturer(&p, stored.version),
        store.update_manufacturer(&q, stored.version),
    )
    .await;
    let wins = [
        x.expect("update_manufacturer"),
        y.expect("update_manufacturer"),
    ];
    assert_eq!(
        wins.iter().filter(|w| **w).count(),
        1,
        "of two concurrent updates over one version exactly one must win, got {wins:?}"
    );
}

/// Lists by state, by name prefix and both, paged; a record leaves a state's list when the
/// state leaves its `states`, and moves in the name order when renamed.
pub(super) async fn list_manufacturers(store: &dyn Store, run: &Run) {
    let (a, b) = states(run);
    let mut written = Vec::new();
    for (i, name) in ["Delta", "alpha", "Charlie", "bravo", "Alpha Two"]
        .iter()
        .enumerate()
    {
        let both_states = i % 2 == 0;
        let states: Vec<&StateCode> = if both_states { vec![&a, &b] } else { vec![&a] };
        let seq = 10 + u16::try_from(i).unwrap_or(0);
        let m = manufacturer(run, seq, name, &states);
        assert!(insert(store, &m).await);
        written.push(m);
    }
    let names = |q: ManufacturerQuery, limit: usize| {
        let q = q.clone();
        async move {
            let pages = walk("list_manufacturers", limit, |c| {
                let q = q.clone();
                async move { store.list_manufacturers(&q, c.as_deref(), limit).await }
            })
            .await;
            let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
            let names: Vec<String> = pages
                .into_iter()
                .flatten()
                .map(|m| m.details.name.rsplit(' ').next().unwrap_or("").to_string())
                .collect();
            (names, sizes)
        }
    };
    let prefix = format!("CONFORMANCE  {}", run.tag);
    let (got, sizes) = names(ManufacturerQuery::new(Some(a.clone()), None), 2).await;
    assert_eq!(
        got,
        ["alpha", "Two", "bravo", "Charlie", "Delta"],
        "a state's list is sorted by name, case ignored"
    );
    assert_eq!(sizes, exact_page_sizes(5, 2), "pages of exactly `limit`");
    let (got, _) = names(ManufacturerQuery::new(Some(b.clone()), None), 10).await;
    assert_eq!(got, ["Two", "Charlie", "Delta"], "only the state's own");
    let all_a = ManufacturerQuery::new(None, Some(&format!("{prefix} AL")));
    let (got, _) = names(all_a, 1).await;
    assert_eq!(
        got,
        ["alpha", "Two"],
        "a name prefix, case and blanks ignored"
    );
    let b_c = ManufacturerQuery::new(Some(b.clone()), Some(&format!("{prefix} c")));
    let (got, _) = names(b_c, 10).await;
    assert_eq!(got, ["Charlie"], "a state and a name prefix together");

    // Delta leaves state b and is renamed Echo.
    let delta = &written[0];
    let mut details = delta.details.clone();
    details.states = vec![a.clone()];
    details.name = format!("Conformance {} Echo", run.tag);
    let next = delta.updated(details, run.client_id(), at_ms(run.start_ms + 20));
    assert!(update(store, &next, 1).await);
    let (got, _) = names(ManufacturerQuery::new(Some(b.clone()), None), 10).await;
    assert_eq!(
        got,
        ["Two", "Charlie"],
        "a state that left the list no longer lists it"
    );
    let (got, _) = names(ManufacturerQuery::new(Some(a.clone()), None), 10).await;
    assert_eq!(
        got,
        ["alpha", "Two", "bravo", "Charlie", "Echo"],
        "renamed in place"
    );
    let (got, _) = names(ManufacturerQuery::new(None, Some(&prefix)), 3).await;
    assert_eq!(got.len(), 7, "every manufacturer of the run by its prefix");
}
