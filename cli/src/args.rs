//! The command line, as clap parses it: global options, then one command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Hookline from the terminal: publish and list events, manage subscriptions and workflows,
/// inspect and retry deliveries, replay, publish integration apps and manage connections,
/// forward a subscription's events to a local server, and check webhook signatures.
#[derive(Debug, Parser)]
#[command(name = "hookline", version, about, long_about = None)]
pub struct Cli {
    /// The profile to use (see `hookline login`).
    #[arg(long, global = true, env = "HOOKLINE_PROFILE")]
    pub profile: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Save a profile after checking its credentials by getting a token.
    Login(LoginArgs),
    /// The saved profiles.
    Profiles,
    /// Publish and list events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Manage subscriptions.
    #[command(subcommand, alias = "subs")]
    Subscriptions(SubscriptionsCommand),
    /// Inspect and retry deliveries.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Re-deliver a subscription's past events of a time range.
    Replay(ReplayArgs),
    /// The event catalog: every type, or one type's schema and example.
    Catalog(CatalogArgs),
    /// The manufacturer registry's bulk import.
    #[command(subcommand)]
    Manufacturers(ManufacturersCommand),
    /// Integration apps: publish definitions, list and deprecate versions.
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Connections to app versions: create, test, upgrade, delete.
    #[command(subcommand, alias = "cons")]
    Connections(ConnectionsCommand),
    /// Receive a subscription's events by pull delivery and forward each to a local URL.
    Listen(ListenArgs),
    /// Check the signature of a saved webhook request.
    Verify(VerifyArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `hookline login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The API's base URL.
    #[arg(long)]
    pub api: String,
    /// The client id.
    #[arg(long)]
    pub client_id: String,
    /// The client secret (else read from standard input, or prompted for on a terminal).
    #[arg(long)]
    pub client_secret: Option<String>,
}

/// `hookline events …`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Publish one event.
    Send(SendArgs),
    /// List events, newest first (default window: the last 24 hours).
    List(EventListArgs),
    /// One event with its delivery counts.
    Get {
        /// The event id (`evt_…`).
        id: String,
    },
}

/// `hookline events send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The event type.
    #[arg(long = "type", short = 't')]
    pub event_type: String,
    /// The state code.
    #[arg(long, short = 's')]
    pub state: String,
    /// The event's `data` as JSON; `@FILE` reads a file, `-` standard input.
    #[arg(long, short = 'd', default_value = "{}")]
    pub data: String,
    /// The publisher's own event id.
    #[arg(long)]
    pub id: Option<String>,
    /// When it happened (RFC 3339).
    #[arg(long)]
    pub occurred_at: Option<String>,
    /// An `Idempotency-Key` header.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// Paging options of a list.
#[derive(Debug, Args)]
pub struct Page {
    /// At most this many (1–100).
    #[arg(long)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    pub cursor: Option<String>,
}

impl Page {
    /// The query of a list: `client_id` (an admin's view of another client's), `limit` and
    /// `cursor`, each where given.
    pub fn query(self, client_id: Option<String>) -> [(&'static str, Option<String>); 3] {
        [
            ("client_id", client_id),
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor),
        ]
    }
}

/// A time window (RFC 3339 times).
#[derive(Debug, Args)]
pub struct Window {
    /// From this time, included (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Until this time, excluded (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
}

/// `hookline events list`.
#[derive(Debug, Args)]
pub struct EventListArgs {
    #[command(flatten)]
    pub window: Window,
    /// Only this type.
    #[arg(long = "type", short = 't')]
    pub event_type: Option<String>,
    /// Only this state.
    #[arg(long, short = 's')]
    pub state: Option<String>,
    #[command(flatten)]
    pub page: Page,
}

/// `hookline subscriptions …`.
#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// Create a subscription (push to `--url`, or `--pull`).
    Create(CreateArgs),
    /// List subscriptions.
    List {
        /// Another client's (admin).
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// One subscription.
    Get {
        /// The subscription id (`sub_…`).
        id: String,
    },
    /// Change a subscription.
    Update(UpdateArgs),
    /// Delete a subscription.
    Delete {
        /// The subscription id.
        id: String,
    },
    /// Print the signing secret (`whsec_…`), for a receiver that verifies signatures.
    Secret {
        /// The subscription id.
        id: String,
    },
    /// Rotate the signing secret (the old one keeps signing for 24 h): prints the new one.
    Rotate {
        /// The subscription id.
        id: String,
    },
    /// Send a `hookline.ping` test event to the subscription.
    Test {
        /// The subscription id.
        id: String,
    },
}

/// The fields `create` and `update` share.
#[derive(Debug, Args)]
pub struct SubscriptionFields {
    /// Event types (exact, `Prefix*`, or `*`); repeat or separate with commas.
    #[arg(long = "events", short = 'e', value_delimiter = ',')]
    pub event_types: Vec<String>,
    /// States; repeat or separate with commas.
    #[arg(long, value_delimiter = ',')]
    pub states: Vec<String>,
    /// A description.
    #[arg(long)]
    pub description: Option<String>,
    /// An event pattern (JSON).
    #[arg(long)]
    pub filter: Option<String>,
    /// The payload format (`hookline`, `cloudevents`, `template`).
    #[arg(long)]
    pub format: Option<String>,
    /// At most this many attempts.
    #[arg(long)]
    pub max_attempts: Option<u32>,
    /// Any other fields, as a JSON object merged into the request.
    #[arg(long)]
    pub body: Option<String>,
}

/// `hookline subscriptions create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The receiver's URL (push).
    #[arg(long, conflicts_with_all = ["pull", "actions"], required_unless_present_any = ["pull", "actions"])]
    pub url: Option<String>,
    /// A pull subscription: no URL, fetched with `hookline listen` or the messages API.
    #[arg(long, conflicts_with = "actions")]
    pub pull: bool,
    /// A workflow: its steps (JSON, `@FILE` or `-`), a list of `{"connection_id", "action",
    /// "input"}`; each matching event runs them.
    #[arg(long)]
    pub actions: Option<String>,
    #[command(flatten)]
    pub fields: SubscriptionFields,
    /// Create it disabled.
    #[arg(long)]
    pub disabled: bool,
}

/// `hookline subscriptions update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The subscription id.
    pub id: String,
    /// A new receiver URL.
    #[arg(long)]
    pub url: Option<String>,
    #[command(flatten)]
    pub fields: SubscriptionFields,
    /// Enable it.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Disable it.
    #[arg(long)]
    pub disable: bool,
}

/// `hookline deliveries …`.
#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries.
    List(DeliveryListArgs),
    /// One delivery with its attempts.
    Get {
        /// The delivery id (`dlv_…`).
        id: String,
    },
    /// Deliver it again now.
    Retry {
        /// The delivery id.
        id: String,
    },
    /// Deliveries per hour by status (default: the last 24 hours).
    Stats(DeliveryFilter),
}

/// Which deliveries: the filters that the list and the statistics share.
#[derive(Debug, Args)]
pub struct DeliveryFilter {
    /// Only this subscription's.
    #[arg(long)]
    pub subscription: Option<String>,
    /// Only this event type.
    #[arg(long = "type", short = 't')]
    pub event_type: Option<String>,
    /// Created in this window.
    #[command(flatten)]
    pub window: Window,
}

/// `hookline deliveries list`.
#[derive(Debug, Args)]
pub struct DeliveryListArgs {
    #[command(flatten)]
    pub filter: DeliveryFilter,
    /// Only this event's.
    #[arg(long)]
    pub event: Option<String>,
    /// Only this status (`pending`, `retrying`, `succeeded`, `failed`).
    #[arg(long)]
    pub status: Option<String>,
    #[command(flatten)]
    pub page: Page,
}

/// `hookline replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The subscription.
    #[arg(long)]
    pub subscription: String,
    /// From this time (RFC 3339).
    #[arg(long)]
    pub since: String,
    /// Until this time (RFC 3339; default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// Only the events whose delivery failed.
    #[arg(long)]
    pub only_failed: bool,
    /// Replay the range in steps of this many minutes (one request each, a bar shows them).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub step_minutes: u32,
}

/// `hookline manufacturers …`.
#[derive(Debug, Subcommand)]
pub enum ManufacturersCommand {
    /// Import a CSV file or an XLSX workbook of manufacturers, with a progress bar.
    Import(ImportArgs),
}

/// `hookline manufacturers import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file (`.csv` or `.xlsx`; the columns of the import template).
    pub file: PathBuf,
    /// Check the file and plan each row's outcome without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// `hookline catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// One type: its schema and example.
    pub name: Option<String>,
}

/// `hookline listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Where to POST each event (`http://localhost:3000/hooks`).
    #[arg(long)]
    pub forward_to: String,
    /// Consume this pull subscription from its acknowledged cursor (kept on exit).
    #[arg(long, conflicts_with_all = ["event_types", "states"], required_unless_present = "event_types")]
    pub subscription: Option<String>,
    /// Event types of a temporary pull subscription (deleted on exit).
    #[arg(long = "events", short = 'e', value_delimiter = ',')]
    pub event_types: Vec<String>,
    /// States of the temporary subscription.
    #[arg(long, value_delimiter = ',')]
    pub states: Vec<String>,
    /// The temporary subscription also receives the events this client publishes itself.
    #[arg(long, conflicts_with = "subscription")]
    pub include_own_events: bool,
}

/// `hookline verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The subscription's signing secret (`whsec_…`).
    #[arg(long, env = "HOOKLINE_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The saved request: JSON `{"headers": {…}, "body": "…"}` (a pull message) or raw HTTP.
    #[arg(long)]
    pub request: PathBuf,
    /// How far `webhook-timestamp` may be from now, in seconds (0: not checked).
    #[arg(long, default_value_t = 300)]
    pub tolerance: u64,
}

/// `hookline apps …`.
#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Publish a version of an app from its definition file (JSON).
    Publish(PublishArgs),
    /// The apps, each with its versions.
    List {
        #[command(flatten)]
        page: Page,
    },
    /// An app's versions, in semver order.
    Versions {
        /// The app's key.
        key: String,
        #[command(flatten)]
        page: Page,
    },
    /// One version: its definition and environment (secret values hidden).
    Get {
        /// The app's key.
        key: String,
        /// The version (semver).
        version: String,
    },
    /// Deprecate a version: its connections keep running, new ones are refused.
    Deprecate {
        /// The app's key.
        key: String,
        /// The version (semver).
        version: String,
    },
    /// The JSON Schema of a definition.
    Schema,
}

/// `hookline apps publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The definition (a JSON file, or `-` for standard input).
    pub file: String,
    /// The version's environment values (JSON object, `@FILE` or `-`); secret ones are
    /// stored as secrets and never shown again.
    #[arg(long)]
    pub env: Option<String>,
}

/// `hookline connections …`.
#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Connect to an app version with credentials and properties.
    Create(ConnectionCreateArgs),
    /// List connections.
    List {
        /// Another client's (admin).
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// One connection (credentials are never shown: `secrets_set` lists their keys).
    Get {
        /// The connection id (`con_…`).
        id: String,
    },
    /// Change a connection's name, properties, credentials, polling or state of use.
    Update(ConnectionUpdateArgs),
    /// Move a connection to another version of its app.
    Upgrade {
        /// The connection id.
        id: String,
        /// The target version.
        version: String,
    },
    /// Send the app's test request with the connection's authentication (exit 1 if not 2xx).
    Test {
        /// The connection id.
        id: String,
    },
    /// The connection's polling triggers: next and last run, last error, items published.
    Polls {
        /// The connection id.
        id: String,
    },
    /// Delete a connection, its secrets and its poll schedules.
    Delete {
        /// The connection id.
        id: String,
    },
}

/// The fields `connections create` and `update` share. Credentials are best given as
/// `@FILE` or `-`: a command line is visible to other users of the machine and kept in the
/// shell's history.
#[derive(Debug, Args)]
pub struct ConnectionFields {
    /// Its name.
    #[arg(long)]
    pub name: Option<String>,
    /// Property values (JSON object, `@FILE` or `-`).
    #[arg(long)]
    pub properties: Option<String>,
    /// Credentials (JSON object, `@FILE` or `-`); write-only.
    #[arg(long)]
    pub credentials: Option<String>,
    /// Polling settings per trigger (JSON object, `@FILE` or `-`), e.g.
    /// `{"new_orders": {"interval_seconds": 300}}`.
    #[arg(long)]
    pub polling: Option<String>,
}

/// `hookline connections create`.
#[derive(Debug, Args)]
pub struct ConnectionCreateArgs {
    /// The app's key.
    #[arg(long)]
    pub app: String,
    /// The app version (semver).
    #[arg(long)]
    pub version: String,
    /// The state its triggers' events are published for.
    #[arg(long)]
    pub state: String,
    #[command(flatten)]
    pub fields: ConnectionFields,
}

/// `hookline connections update`.
#[derive(Debug, Args)]
pub struct ConnectionUpdateArgs {
    /// The connection id.
    pub id: String,
    #[command(flatten)]
    pub fields: ConnectionFields,
    /// Enable it.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Disable it: no polls, no hooks, its workflow steps fail (and are retried).
    #[arg(long)]
    pub disable: bool,
}
