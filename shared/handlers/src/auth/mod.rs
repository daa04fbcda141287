//! Authentication: ES256 access tokens (RFC 9068) issued by the client-credentials grant,
//! their verification on every `/v1` call, and the scopes and states a caller holds.

pub mod caller;
pub mod keys;
pub mod rotation;
pub mod schemas;
pub mod token;
pub mod verified;

pub use caller::Caller;
pub use keys::JwtKeys;
