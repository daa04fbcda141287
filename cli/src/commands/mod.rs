//! One module per command; `run` picks the one the arguments name.

mod apps;
mod catalog;
mod connections;
mod deliveries;
mod events;
mod listen;
mod login;
mod manufacturers;
mod replay;
mod subscriptions;
mod verify;

use std::io::Read as _;

use serde_json::{Map, Value};

use crate::api::Api;
use crate::args::{Cli, Command};
use crate::error::CliError;
use crate::output::Output;
use crate::profiles::{self, Profile, ProfilesFile};

/// What every command gets: how to print and which profile to use.
pub struct Ctx {
    /// How to print.
    pub out: Output,
    /// `--profile` / `HOOKLINE_PROFILE`.
    pub profile: Option<String>,
}

impl Ctx {
    /// The API client of the chosen profile. `HOOKLINE_API`, `HOOKLINE_CLIENT_ID` and
    /// `HOOKLINE_CLIENT_SECRET`, all three set, stand in for a profile (CI jobs).
    pub fn api(&self) -> Result<Api, CliError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if self.profile.is_none()
            && let (Some(api), Some(client_id), Some(client_secret)) = (
                var("HOOKLINE_API"),
                var("HOOKLINE_CLIENT_ID"),
                var("HOOKLINE_CLIENT_SECRET"),
            )
        {
            return Api::new(Profile {
                api,
                client_id,
                client_secret,
            });
        }
        let path = profiles::path()?;
        let file = ProfilesFile::load(&path)?;
        let name = file.chosen(self.profile.as_deref());
        let profile = file.profiles.get(&name).cloned().ok_or_else(|| {
            CliError::usage(format!(
                "no profile '{name}' in {}: run `hookline login --profile {name} --api URL --client-id ID`",
                path.display()
            ))
        })?;
        Api::new(profile)
    }
}

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Ctx {
        out: Output { json: cli.json },
        profile: cli.profile,
    };
    match cli.command {
        Command::Login(args) => login::login(&ctx, args).await,
        Command::Profiles => login::list(&ctx),
        Command::Events(c) => events::run(&ctx, c).await,
        Command::Subscriptions(c) => subscriptions::run(&ctx, c).await,
        Command::Deliveries(c) => deliveries::run(&ctx, c).await,
        Command::Replay(args) => replay::run(&ctx, args).await,
        Command::Catalog(args) => catalog::run(&ctx, args).await,
        Command::Manufacturers(c) => manufacturers::run(&ctx, c).await,
        Command::Apps(c) => apps::run(&ctx, c).await,
        Command::Connections(c) => connections::run(&ctx, c).await,
        Command::Listen(args) => listen::run(&ctx, args).await,
        Command::Verify(args) => verify::run(&ctx, args),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "hookline",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// JSON given on the command line: the text itself, `@FILE`, or `-` (standard input).
pub fn json_arg(what: &str, text: &str) -> Result<Value, CliError> {
    let source = match text {
        "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| CliError::usage(format!("reading {what} from standard input: {e}")))?;
            s
        }
        t => match t.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("reading {what} from {path}: {e}")))?,
            None => t.to_string(),
        },
    };
    serde_json::from_str(&source).map_err(|e| CliError::usage(format!("{what} is not JSON: {e}")))
}

/// An update: `PATCH path` with `body` and, when `--enable` or `--disable` is given,
/// `enabled`. Nothing to change is a usage error, before any request.
pub async fn patch(
    api: &Api,
    path: &str,
    mut body: Map<String, Value>,
    enable: bool,
    disable: bool,
) -> Result<Value, CliError> {
    if enable || disable {
        body.insert("enabled".into(), Value::Bool(enable));
    }
    if body.is_empty() {
        return Err(CliError::usage(
            "nothing to change: name at least one field",
        ));
    }
    api.send(reqwest::Method::PATCH, path, Some(&Value::Object(body)))
        .await
}

/// A JSON object given on the command line (as [`json_arg`] reads it).
pub fn object_arg(what: &str, text: &str) -> Result<Value, CliError> {
    match json_arg(what, text)? {
        v @ Value::Object(_) => Ok(v),
        _ => Err(CliError::usage(format!("{what} must be a JSON object"))),
    }
}

/// A path segment for an id given on the command line: ids are letters, digits, `_`, `-`
/// and `.`; anything else is refused here rather than sent as another path.
pub fn id_segment(id: &str) -> Result<&str, CliError> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && id != "."
        && id != ".."
    {
        Ok(id)
    } else {
        Err(CliError::usage(format!("'{id}' is not an id")))
    }
}
