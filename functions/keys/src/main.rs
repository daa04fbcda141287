//! The `keys` Lambda function: Secrets Manager's rotation of the JWT signing keys, and the
//! only writer of either key secret. Each invocation is one step of a rotation (create the
//! next key set, publish its public keys, test it, make it current); Secrets Manager runs
//! them on the schedule in template.yaml, at deploy time (the first key), and whenever an
//! admin runs `aws secretsmanager rotate-secret`.

use hookline_runtime::lambda::{RotationStep, key_secrets, rotation_step};
use hookline_runtime::{self as runtime, StartError};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;

/// What Secrets Manager sends a rotation function.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RotationRequest {
    secret_id: String,
    client_request_token: String,
    step: String,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logs();
    let sdk = runtime::function_sdk_config();
    let start = || -> Result<_, StartError> {
        let keys = key_secrets(&sdk, &runtime::settings_from_env()?);
        Ok((keys, runtime::rotation_policy_from_env()?))
    };
    let (keys, policy) = start().inspect_err(|e| {
        tracing::error!(error = %e, "hookline-keys cannot start");
    })?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RotationRequest>| {
        let (keys, policy) = (keys.clone(), policy);
        async move {
            let r = event.payload;
            let step = RotationStep::parse(&r.step)
                .ok_or_else(|| format!("unknown rotation step {}", r.step))?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            rotation_step(
                &keys,
                &r.secret_id,
                &r.client_request_token,
                step,
                now,
                &policy,
            )
            .await
            .inspect_err(|e| tracing::error!(error = %e, step = %r.step, "rotation step failed"))?;
            Ok::<(), lambda_runtime::Error>(())
        }
    }))
    .await
}
