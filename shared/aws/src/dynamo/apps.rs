//! TEMPORARY (issue 23 skeleton): the integration apps' ports, answered by their default
//! bodies until this backend implements them.

use hookline_ports::{AppStore, ConnectionStore, PollStore, SecretStore};

use super::DynamoStore;

impl AppStore for DynamoStore {}
impl ConnectionStore for DynamoStore {}
impl PollStore for DynamoStore {}
impl SecretStore for DynamoStore {}
