//! Hookline's AWS backend: the ports implemented over DynamoDB (store), SQS (queues) and
//! Secrets Manager (JWT signing keys, the secret store) with the official SDK crates. Endpoints come from the
//! standard `AWS_ENDPOINT_URL` (or per-service) variables, so the same code talks to AWS,
//! LocalStack or moto; resource names come from `AwsSettings` and must match `template.yaml`.

pub mod dynamo;
pub mod keys;
pub mod metrics;
pub mod provision;
pub mod secrets;
pub mod settings;
pub mod sqs;

pub use dynamo::DynamoStore;
pub use keys::SecretsKeys;
pub use secrets::ManagedSecrets;
pub use settings::AwsSettings;
pub use sqs::SqsQueue;

// The SDK crates with this crate's features (no `default-https-client`: see Cargo.toml), for
// the wiring that builds clients over an `SdkConfig` without naming them again.
pub use {aws_config, aws_sdk_dynamodb, aws_sdk_secretsmanager, aws_sdk_sqs};

/// Loads the shared SDK configuration (region, credentials, endpoint) from the environment;
/// the SDK's requests go through [`http_client`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// The SDK configuration of a deployed function, from the variables the Lambda runtime sets:
/// the region (`AWS_REGION`, or `AWS_DEFAULT_REGION`), the execution role's credentials
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL`
/// where one is set (an emulator). Retries and timeouts are the SDK's defaults, the same that
/// [`sdk_config`] resolves when no variable or profile overrides them: standard retries (3
/// attempts) and a 3.1 s connect timeout.
///
/// Unlike [`sdk_config`], it reads no profile file, no per-service endpoint variable, and no
/// other credential source (SSO, web identity, container or instance metadata): Lambda
/// provides none of them, and leaving the default provider chains out keeps their code (the
/// STS client among it) out of the function binaries. Missing credentials fail the first
/// request, which every function makes at start (it loads the signing keys).
pub fn function_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_secretsmanager::config::SharedCredentialsProvider;
    use aws_smithy_types::retry::RetryConfig;
    use aws_smithy_types::timeout::TimeoutConfig;

    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_millis(3100))
                .build(),
        )
        .http_client(http_client());
    builder.set_region(
        var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .map(aws_config::Region::new),
    );
    builder.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    builder.build()
}

/// The HTTP client of the SDK clients: reqwest (HTTP/1.1 over rustls), which the handlers
/// already use for webhooks, instead of the SDK's default hyper client — one HTTP stack in
/// each binary instead of two. No redirects are followed (the AWS APIs send none); the
/// proxy variables are honoured, as by the SDK's own client.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_runtime_api::client::http::SharedHttpClient::new(
        sdk_http::ReqwestHttpClient::default(),
    )
}

mod sdk_http {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};
    use std::time::Duration;

    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    /// The (connect, read) timeouts the SDK asks a connector for.
    type Timeouts = (Option<Duration>, Option<Duration>);

    /// One reqwest client per distinct pair of timeouts the SDK asks for: in practice one,
    /// built at the first request and reused, with its connection pool.
    #[derive(Debug, Default)]
    pub(super) struct ReqwestHttpClient {
        connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
    }

    impl HttpClient for ReqwestHttpClient {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            _components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            let key = (settings.connect_timeout(), settings.read_timeout());
            let mut connectors = self
                .connectors
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            connectors
                .entry(key)
                .or_insert_with(|| {
                    let mut builder =
                        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
                    if let Some(t) = key.0 {
                        builder = builder.connect_timeout(t);
                    }
                    if let Some(t) = key.1 {
                        builder = builder.read_timeout(t);
                    }
                    SharedHttpConnector::new(ReqwestConnector(
                        builder.build().map_err(|e| e.to_string()),
                    ))
                })
                .clone()
        }
    }

    /// Sends one SDK request; the client could not be built if it holds an error (TLS set-up).
    #[derive(Debug)]
    struct ReqwestConnector(Result<reqwest::Client, String>);

    impl HttpConnector for ReqwestConnector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let client = match &self.0 {
                Ok(client) => client.clone(),
                Err(e) => {
                    return HttpConnectorFuture::ready(Err(ConnectorError::other(
                        format!("the SDK's HTTP client could not be built: {e}").into(),
                        None,
                    )));
                }
            };
            HttpConnectorFuture::new(send(client, request))
        }
    }

    async fn send(
        client: reqwest::Client,
        request: HttpRequest,
    ) -> Result<HttpResponse, ConnectorError> {
        let method = reqwest::Method::from_bytes(request.method().as_bytes())
            .map_err(|e| ConnectorError::user(e.into()))?;
        let mut outgoing = client.request(method, request.uri());
        for (name, value) in request.headers().iter() {
            outgoing = outgoing.header(name, value);
        }
        // The operations Hookline calls have small, in-memory bodies; a streaming body would
        // need reqwest's `stream` feature.
        let body = request.body().bytes().ok_or_else(|| {
            ConnectorError::user("streaming request bodies are not supported".into())
        })?;
        let response = outgoing
            .body(body.to_vec())
            .send()
            .await
            .map_err(connector_error)?;
        let status = StatusCode::try_from(response.status().as_u16())
            .map_err(|e| ConnectorError::other(e.into(), None))?;
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(connector_error)?;
        let mut out = HttpResponse::new(status, SdkBody::from(bytes));
        for (name, value) in &headers {
            let value = value
                .to_str()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            out.headers_mut()
                .try_append(name.as_str().to_owned(), value.to_owned())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
        }
        Ok(out)
    }

    /// Timeouts and I/O failures are what the SDK's retry strategy retries.
    fn connector_error(e: reqwest::Error) -> ConnectorError {
        if e.is_timeout() {
            ConnectorError::timeout(e.into())
        } else if e.is_connect() || e.is_request() || e.is_body() {
            ConnectorError::io(e.into())
        } else {
            ConnectorError::other(e.into(), None)
        }
    }
}
