//! Creating a stack's resources on an emulator (moto, LocalStack) from the same definitions
//! the SAM template declares: used by the tests and by `infra/local/bootstrap`.

pub mod queues;
pub mod table;
