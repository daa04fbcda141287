//! TEMPORARY (issue 23 skeleton): the integration apps' ports, answered by their default
//! bodies until this backend implements them.

use crate::{AppStore, ConnectionStore, PollStore, SecretStore};

use super::store::FaultyStore;

impl AppStore for FaultyStore {}
impl ConnectionStore for FaultyStore {}
impl PollStore for FaultyStore {}
impl SecretStore for FaultyStore {}
