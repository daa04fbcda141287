//! An app definition, as an integration developer writes it (JSON; its JSON Schema is
//! published at `GET /v1/apps/schema`, and `apps/*.json` are examples).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One version of an app: what Hookline needs to authenticate to the tool, act on it and
/// listen to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDefinition {
    /// Unique key of the app (`^[a-z][a-z0-9_-]{1,63}$`), the same in every version.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What the app connects to.
    #[serde(default)]
    pub description: String,
    /// Semantic version (`1.2.0`, `2.0.0-beta.1`).
    pub version: String,
    /// How requests to the tool authenticate.
    pub auth: AuthScheme,
    /// Fields each connection fills in (a party name, a location id).
    #[serde(default)]
    pub properties: Vec<FieldSpec>,
    /// Variables of this version, given values when it is published (`env.NAME` in
    /// templates).
    #[serde(default)]
    pub environment: Vec<EnvVarSpec>,
    /// The request a connection test makes (a 2xx answer means the connection works).
    #[serde(default)]
    pub test: Option<RequestTemplate>,
    /// Actions by key.
    #[serde(default)]
    pub actions: BTreeMap<String, ActionSpec>,
    /// Triggers by key.
    #[serde(default)]
    pub triggers: BTreeMap<String, TriggerSpec>,
}

/// A field a person fills in: a connection's property, a session scheme's credential, an
/// action's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Key (`^[a-z][a-z0-9_]{0,63}$`), as templates name it.
    pub key: String,
    /// Label shown to people.
    #[serde(default)]
    pub label: String,
    /// Value type.
    #[serde(rename = "type", default)]
    pub kind: FieldType,
    /// Whether a value must be given.
    #[serde(default)]
    pub required: bool,
    /// The only values allowed, if the field is a choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<Value>>,
    /// Secret: write-only, kept in the secret store, redacted from every record.
    #[serde(default)]
    pub secret: bool,
    /// Help text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
}

/// A field's value type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Text.
    #[default]
    String,
    /// A number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
}

/// An environment variable of an app version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvVarSpec {
    /// Name (`^[A-Z][A-Z0-9_]{0,63}$`).
    pub key: String,
    /// Secret: its value is kept in the secret store, never returned.
    #[serde(default)]
    pub secret: bool,
    /// Whether publishing must give it a value.
    #[serde(default = "yes")]
    pub required: bool,
    /// What it is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn yes() -> bool {
    true
}

/// How requests to the tool authenticate. Each scheme's credential fields are fixed
/// ([`AuthScheme::credential_fields`]), except a session's, which it declares.
// One scheme per app definition: the session variant's size costs nothing worth a `Box` in
// every pattern that reads it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthScheme {
    /// No authentication.
    None,
    /// HTTP Basic (RFC 7617): credentials `username`, `password`.
    Basic,
    /// An API key in a header or a query parameter: credential `api_key`.
    ApiKey {
        /// Where it goes.
        #[serde(rename = "in")]
        location: KeyLocation,
        /// The header's or parameter's name.
        name: String,
    },
    /// OAuth 2.0 client credentials (RFC 6749 §4.4): credentials `client_id`,
    /// `client_secret`; the token is cached until it expires and fetched again on a 401.
    Oauth2ClientCredentials {
        /// Token endpoint (a template over `env` and `props`).
        token_url: String,
        /// Scope requested, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// How the client authenticates to the token endpoint.
        #[serde(default)]
        client_auth: ClientAuth,
    },
    /// A login request whose answer holds a token that later requests carry; logged in again
    /// on a 401 or when the token expires.
    Session {
        /// The credential fields the login needs (`credentials.<key>` in its templates).
        fields: Vec<FieldSpec>,
        /// The login request.
        login: RequestTemplate,
        /// JSON pointer of the token in the login answer's body (`/token`).
        token: String,
        /// JSON pointer of the token's lifetime in seconds in the answer, if it says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_in: Option<String>,
        /// Lifetime assumed when the answer does not say (seconds; default 3600).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_seconds: Option<u32>,
        /// How requests carry the token.
        apply: SessionApply,
    },
    /// HTTP Digest (RFC 7616; MD5 or SHA-256, `qop=auth`): credentials `username`,
    /// `password`; each request answers the server's challenge.
    Digest,
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyLocation {
    /// A request header.
    Header,
    /// A query parameter.
    Query,
}

/// How an OAuth 2 client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_secret_basic`.
    #[default]
    Basic,
    /// `client_secret_post` (in the form body).
    Body,
}

/// How a session token is carried: a header whose value is a template over `session.token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionApply {
    /// Header name (`Authorization`, `X-Session`).
    pub header: String,
    /// Header value template (`Bearer {{ session.token }}`).
    pub value: String,
}

/// An HTTP request template. Every string (URL, header values, query values, and every string
/// leaf of `body`) is a template; a body string that is exactly one `{{ expression }}` is
/// replaced by the expression's value with its JSON type (a number stays a number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTemplate {
    /// Method.
    pub method: HttpMethod,
    /// URL (`{{ env.BASE_URL }}/orders/{{ found.id }}`).
    pub url: String,
    /// Headers (credential headers are the scheme's: a name that says it carries one is
    /// refused).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Query parameters, appended to the URL's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Form body (`application/x-www-form-urlencoded`), instead of a JSON one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<BTreeMap<String, String>>,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl HttpMethod {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Creates an item.
    Create,
    /// Changes an item.
    Update,
    /// Looks an item up.
    Search,
}

/// An action: a request, optionally preceded by a search whose result (`found`) it uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// Display name.
    #[serde(default)]
    pub label: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Create, update or search.
    pub kind: ActionKind,
    /// The fields a workflow maps into it (`input.<key>` in its templates).
    #[serde(default)]
    pub inputs: Vec<FieldSpec>,
    /// The request.
    pub request: RequestTemplate,
    /// For a search: JSON pointer of the found item in the answer (missing or `null`: not
    /// found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// For a create or update: the key of a search action of this app run first, with the
    /// same inputs; its item is `found` in this action's templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// When the search finds nothing: `fail` (the default: the attempt fails and is retried),
    /// `skip` (the step succeeds doing nothing), or the key of a create action of this app to
    /// run instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_not_found: Option<String>,
}

/// A trigger: how the tool's events become Hookline events of one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerSpec {
    /// Display name.
    #[serde(default)]
    pub label: String,
    /// What it reports.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The Hookline event type each item is published as (must be in the catalog).
    pub event_type: String,
    /// Hook or polling.
    #[serde(flatten)]
    pub kind: TriggerKind,
}

/// How a trigger learns of the tool's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriggerKind {
    /// The tool POSTs to the connection's inbound URL.
    Hook {
        /// How an inbound request proves it comes from the tool (none: the URL's secret
        /// token alone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verify: Option<HookVerify>,
        /// JSON pointer of the tool's own id for the event in the body (a repeat of an id is
        /// published once).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// JSON pointer of the event's data in the body (default: the whole body).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    /// Hookline asks the tool for new items on a schedule.
    Polling {
        /// The request (templates over `props`, `env`, `cursor`).
        request: RequestTemplate,
        /// JSON pointer of the array of items in the answer (`/orders`; `""`: the body).
        items: String,
        /// JSON pointer of an item's id within the item (`/id`).
        id: String,
        /// The cursor kept between polls, if the tool takes one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<PollCursor>,
        /// Shortest interval a connection may poll at (seconds).
        min_interval_seconds: u32,
        /// Interval of a connection that names none (seconds; default: the minimum).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_interval_seconds: Option<u32>,
    },
}

/// The cursor of a polling trigger: the largest value of an item field seen so far, given to
/// the next poll's templates as `cursor` (`null` on the first poll).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollCursor {
    /// JSON pointer of the field within an item (`/updated_at`, `/seq`).
    pub field: String,
}

/// How an inbound hook request is verified. Secrets are templates over `props` (secret
/// properties included), `credentials` and `env`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HookVerify {
    /// An HMAC of the raw body in a header.
    Hmac {
        /// The header carrying it.
        header: String,
        /// The key.
        secret: String,
        /// Hash (default SHA-256).
        #[serde(default)]
        algorithm: HmacAlgorithm,
        /// Encoding (default hex).
        #[serde(default)]
        encoding: HmacEncoding,
        /// Text before the digest in the header (`sha256=`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    StandardWebhooks {
        /// The `whsec_…` secret.
        secret: String,
    },
    /// A shared token in a header or query parameter (exactly one).
    Token {
        /// Header carrying it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
        /// Query parameter carrying it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        /// The token.
        secret: String,
    },
}

/// An HMAC's hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HmacAlgorithm {
    /// SHA-256.
    #[default]
    Sha256,
    /// SHA-1 (older tools).
    Sha1,
    /// SHA-512.
    Sha512,
}

/// An HMAC's encoding in its header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HmacEncoding {
    /// Lower-case hex.
    #[default]
    Hex,
    /// Standard base64.
    Base64,
}

impl AuthScheme {
    /// The credential fields a connection gives for this scheme. Every credential is
    /// write-only and kept in the secret store, whatever its `secret` flag says.
    pub fn credential_fields(&self) -> Vec<FieldSpec> {
        let field = |key: &str, label: &str, secret: bool| FieldSpec {
            key: key.into(),
            label: label.into(),
            kind: FieldType::String,
            required: true,
            choices: None,
            secret,
            help: String::new(),
        };
        match self {
            AuthScheme::None => vec![],
            AuthScheme::Basic | AuthScheme::Digest => vec![
                field("username", "Username", true),
                field("password", "Password", true),
            ],
            AuthScheme::ApiKey { .. } => vec![field("api_key", "API key", true)],
            AuthScheme::Oauth2ClientCredentials { .. } => vec![
                field("client_id", "Client id", true),
                field("client_secret", "Client secret", true),
            ],
            AuthScheme::Session { fields, .. } => fields.clone(),
        }
    }

    /// `none`, `basic`, `api_key`, `oauth2_client_credentials`, `session` or `digest`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthScheme::None => "none",
            AuthScheme::Basic => "basic",
            AuthScheme::ApiKey { .. } => "api_key",
            AuthScheme::Oauth2ClientCredentials { .. } => "oauth2_client_credentials",
            AuthScheme::Session { .. } => "session",
            AuthScheme::Digest => "digest",
        }
    }
}
