//! TEMPORARY (issue 23 skeleton): the integration apps' ports, answered by their default
//! bodies until this backend implements them.

use hookline_ports::{AppStore, ConnectionStore, PollStore, SecretStore};

use crate::EmbeddedBackend;

impl AppStore for EmbeddedBackend {}
impl ConnectionStore for EmbeddedBackend {}
impl PollStore for EmbeddedBackend {}
impl SecretStore for EmbeddedBackend {}
