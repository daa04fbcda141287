//! Port conformance suite (filled in with the embedded backend).
