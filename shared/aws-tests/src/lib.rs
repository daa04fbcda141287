//! The AWS backend's tests over `moto_server` on loopback (in `tests/`): the DynamoDB store
//! and the SQS queues through the conformance suite, and the stack as the Lambda functions run
//! it: the handlers and the runtime wiring, the template's resources and permissions, the
//! fault sweep. No library code: a package of its own so that `hookline-aws` depends on the
//! domain and the ports only.
