//! `hookline apps publish|list|versions|get|deprecate|schema`: integration apps' definitions
//! (`POST /v1/apps`, `GET /v1/apps…`).

use reqwest::Method;
use serde_json::{Map, Value};

use super::{Ctx, id_segment, json_arg, object_arg};
use crate::args::AppsCommand;
use crate::error::CliError;
use crate::output::print_fields;

/// The columns of the app list.
const APP_COLUMNS: [(&str, &str); 4] = [
    ("key", "key"),
    ("latest", "latest_version"),
    ("name", "name"),
    ("description", "description"),
];

/// The columns of a version list.
const VERSION_COLUMNS: [(&str, &str); 4] = [
    ("version", "version"),
    ("status", "status"),
    ("published at", "published_at"),
    ("deprecated at", "deprecated_at"),
];

/// The fields shown for one version.
const FIELDS: [&str; 9] = [
    "key",
    "version",
    "name",
    "description",
    "status",
    "environment",
    "published_by",
    "published_at",
    "deprecated_at",
];

/// Runs an `apps` command.
pub async fn run(ctx: &Ctx, command: AppsCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    match command {
        AppsCommand::Publish(args) => {
            let source = match args.file.as_str() {
                "-" => "-".to_string(),
                path => format!("@{path}"),
            };
            let definition = json_arg("the definition", &source)?;
            let mut body = Map::new();
            body.insert("definition".into(), definition);
            if let Some(env) = args.env {
                body.insert("environment".into(), object_arg("--env", &env)?);
            }
            let answer = api
                .send(Method::POST, "/v1/apps", Some(&Value::Object(body)))
                .await?;
            ctx.out.show(&answer, |v| print_fields(v, &FIELDS));
        }
        AppsCommand::List { page } => {
            let answer = api.get("/v1/apps", &page.query(None)).await?;
            ctx.out.list(&answer, &APP_COLUMNS);
        }
        AppsCommand::Versions { key, page } => {
            let path = format!("/v1/apps/{}/versions", id_segment(&key)?);
            let answer = api.get(&path, &page.query(None)).await?;
            ctx.out.list(&answer, &VERSION_COLUMNS);
        }
        AppsCommand::Get { key, version } => {
            let answer = api.get(&version_path(&key, &version, "")?, &[]).await?;
            ctx.out.show(&answer, |v| {
                print_fields(v, &FIELDS);
                println!("definition:");
                println!(
                    "{}",
                    serde_json::to_string_pretty(&v["definition"]).unwrap_or_default()
                );
            });
        }
        AppsCommand::Deprecate { key, version } => {
            let answer = api
                .send(
                    Method::POST,
                    &version_path(&key, &version, "/deprecate")?,
                    None,
                )
                .await?;
            ctx.out.show(&answer, |v| print_fields(v, &FIELDS));
        }
        AppsCommand::Schema => {
            let answer = api.get("/v1/apps/schema", &[]).await?;
            // The schema is JSON whatever the output mode: it is for tools.
            ctx.out.show(&answer, |v| {
                println!("{}", serde_json::to_string_pretty(v).unwrap_or_default())
            });
        }
    }
    Ok(())
}

/// `/v1/apps/{key}/versions/{version}{rest}`. A version is a semver: letters, digits, `.`,
/// `-` and `+` (sent percent-encoded); anything else is refused here.
fn version_path(key: &str, version: &str, rest: &str) -> Result<String, CliError> {
    let semver_chars = version
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    if !semver_chars {
        return Err(CliError::usage(format!("'{version}' is not a version")));
    }
    Ok(format!(
        "/v1/apps/{}/versions/{}{rest}",
        id_segment(key)?,
        version.replace('+', "%2B")
    ))
}

#[cfg(test)]
mod tests {
    use super::version_path;

    #[test]
    fn versions_are_path_segments_or_refused() {
        assert_eq!(
            version_path("shop", "1.0.0-beta.1+build.7", "/deprecate").expect("a path"),
            "/v1/apps/shop/versions/1.0.0-beta.1%2Bbuild.7/deprecate"
        );
        for bad in ["", ".", "..", "1.0/..", "1 0", "../x", "1.0.0?x=1"] {
            assert!(version_path("shop", bad, "").is_err(), "{bad:?}");
        }
        assert!(version_path("../k", "1.0.0", "").is_err());
    }
}
