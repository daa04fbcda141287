//! What the HTTP handlers ask of the system beyond one store call: each service is a workflow
//! over the ports, called by a handler once it has authenticated, authorized and validated the
//! request, and answering in domain terms (the handler turns that into HTTP).

pub mod manufacturers;
pub mod replay;
pub mod test_ping;
