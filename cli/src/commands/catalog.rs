//! `hookline catalog [NAME]`: the stack's event types, or one type's schema and example.

use serde_json::Value;

use super::Ctx;
use crate::args::CatalogArgs;
use crate::error::CliError;
use crate::output::{print_json, print_table};

/// Lists the catalog, or shows one type.
pub async fn run(ctx: &Ctx, args: CatalogArgs) -> Result<(), CliError> {
    let api = ctx.api()?;
    let answer = api.get("/v1/event-types", &[]).await?;
    let Some(name) = args.name else {
        ctx.out.show(&answer, |v| {
            let items: Vec<Value> = v["data"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    let yes = |v: &Value| Value::from(if v.is_null() { "-" } else { "yes" });
                    t["has_schema"] = yes(&t["schema"]);
                    t["has_example"] = yes(&t["example"]);
                    t
                })
                .collect();
            print_table(
                &[
                    ("name", "name"),
                    ("schema", "has_schema"),
                    ("example", "has_example"),
                    ("description", "description"),
                ],
                &items,
            );
        });
        return Ok(());
    };
    let found = answer["data"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"] == name.as_str()))
        .ok_or_else(|| CliError::Invalid(format!("no event type '{name}' in the catalog")))?;
    ctx.out.show(found, |t| {
        println!(
            "{}: {}",
            name,
            t["description"].as_str().unwrap_or_default()
        );
        println!("schema:");
        print_json(&t["schema"]);
        println!("example:");
        print_json(&t["example"]);
    });
    Ok(())
}
