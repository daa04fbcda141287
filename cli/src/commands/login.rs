//! `hookline login` (checks a client's credentials and saves them as a profile) and
//! `hookline profiles` (lists the saved ones, never their secrets).

use std::io::{BufRead as _, IsTerminal as _};

use serde_json::{Value, json};

use super::Ctx;
use crate::api::Api;
use crate::args::LoginArgs;
use crate::error::CliError;
use crate::output::print_table;
use crate::profiles::{self, Profile, ProfilesFile};

/// Gets a token with the credentials, then saves them under the chosen profile name. The
/// first profile saved becomes the default.
pub async fn login(ctx: &Ctx, args: LoginArgs) -> Result<(), CliError> {
    let client_secret = match args.client_secret {
        Some(s) => s,
        None => read_secret()?,
    };
    let profile = Profile {
        api: args.api.trim_end_matches('/').to_string(),
        client_id: args.client_id,
        client_secret,
    };
    Api::new(profile.clone())?.token().await?;

    let path = profiles::path()?;
    let mut file = ProfilesFile::load(&path)?;
    let name = ctx
        .profile
        .clone()
        .unwrap_or_else(|| profiles::DEFAULT_PROFILE.to_string());
    if file.default_profile.is_none() && file.profiles.is_empty() {
        file.default_profile = Some(name.clone());
    }
    let summary = json!({
        "profile": name,
        "api": profile.api,
        "client_id": profile.client_id,
        "path": path.display().to_string(),
    });
    file.profiles.insert(name.clone(), profile);
    file.save(&path)?;
    ctx.out.show(&summary, |s| {
        println!(
            "logged in to {} as {}; saved as profile '{name}' in {}",
            s["api"].as_str().unwrap_or_default(),
            s["client_id"].as_str().unwrap_or_default(),
            s["path"].as_str().unwrap_or_default()
        );
    });
    Ok(())
}

/// The saved profiles: name, API, client id, and which is the default.
pub fn list(ctx: &Ctx) -> Result<(), CliError> {
    let path = profiles::path()?;
    let file = ProfilesFile::load(&path)?;
    let default = file.chosen(None);
    let items: Vec<Value> = file
        .profiles
        .iter()
        .map(|(name, p)| {
            json!({"name": name, "api": p.api, "client_id": p.client_id, "default": *name == default})
        })
        .collect();
    let value = json!({"data": items, "path": path.display().to_string()});
    ctx.out.show(&value, |v| {
        let items = v["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        print_table(
            &[
                ("name", "name"),
                ("api", "api"),
                ("client id", "client_id"),
                ("default", "default"),
            ],
            items,
        );
    });
    Ok(())
}

/// The secret from a prompt without echo on a terminal, else the first line of standard input.
fn read_secret() -> Result<String, CliError> {
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Client secret: ")
            .map_err(|e| CliError::usage(format!("reading the client secret: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("reading the client secret: {e}")))?;
        line
    };
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        return Err(CliError::usage(
            "no client secret: give --client-secret, or send it on standard input",
        ));
    }
    Ok(secret)
}
