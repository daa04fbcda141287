//! End-to-end test support lives in tests/tests/e2e/support.
