//! `login`, profiles and exit codes.

use serde_json::json;

use crate::harness::{ADMIN_ID, Hookline, Run, logged_in, not_logged_in};

#[tokio::test]
async fn login_checks_the_credentials_and_saves_an_owner_only_profile() {
    let (app, cli, api) = not_logged_in().await;
    // The secret comes on standard input, never on the command line.
    let out = cli
        .run_stdin(
            &["login", "--api", &api, "--client-id", ADMIN_ID],
            &format!("{}\n", app.admin_secret()),
        )
        .await;
    assert!(out.ok().contains("saved as profile 'default'"), "{out:?}");

    let path = cli.config_path();
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&path)
        .expect("the profiles file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the profiles file must be owner-only");
    let dir_mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o077, 0, "its new directory must be owner-only");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(ADMIN_ID) && text.contains(&api), "{text}");

    // The saved profile works, and `profiles` lists it without its secret.
    cli.run(&["subscriptions", "list"]).await.ok();
    let listed = cli.run(&["profiles", "--json"]).await.json();
    assert_eq!(listed["data"][0]["name"], "default");
    assert_eq!(listed["data"][0]["default"], true);
    assert!(!listed.to_string().contains(app.admin_secret()));
}

#[tokio::test]
async fn a_refused_secret_is_exit_3_and_saves_nothing() {
    let (_app, cli, api) = not_logged_in().await;
    let out = login_with_secret(&cli, &api, ADMIN_ID, "not-the-secret").await;
    let line = out.failed(3);
    assert!(line.contains("invalid_client"), "{line}");
    assert!(!cli.config_path().exists(), "nothing may be saved");
}

#[tokio::test]
async fn an_unreachable_api_is_exit_3() {
    let cli = Hookline::new();
    // A port nothing listens on: reserved, then let go.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let api = format!("http://{addr}");
    let out = login_with_secret(&cli, &api, "cl_x", "s").await;
    assert!(out.failed(3).contains("cannot reach"), "{out:?}");
}

#[tokio::test]
async fn usage_errors_and_a_missing_profile_are_exit_2() {
    let cli = Hookline::new();
    let out = cli.run(&["subscriptions", "list", "--no-such-flag"]).await;
    assert_eq!(out.code, Some(2), "{out:?}");
    let out = cli.run(&["subscriptions", "list"]).await;
    assert!(out.failed(2).contains("no profile 'default'"), "{out:?}");
    let out = cli.run(&["--profile", "staging", "events", "list"]).await;
    assert!(out.failed(2).contains("no profile 'staging'"), "{out:?}");
}

#[tokio::test]
async fn profiles_are_chosen_by_flag_or_environment_and_api_errors_are_one_line_exit_1() {
    let (app, cli) = logged_in().await;
    let portal = app.portal(&["AP"]).await;
    app.remember_secret("portal secret", &portal.secret);
    cli.login(&app, &portal.id, &portal.secret, Some("ap-portal"))
        .await;

    let send = |profile: Option<&'static str>| {
        let mut args = vec!["events", "send", "--type", "LotDispatched", "--state", "TG"];
        if let Some(p) = profile {
            args.extend(["--profile", p]);
        }
        args
    };
    // The default profile (the admin) may publish for TG; the AP portal may not.
    let out = cli.run(&send(None)).await;
    assert!(out.ok().starts_with("evt_"), "{out:?}");
    let out = cli.run(&send(Some("ap-portal"))).await;
    let line = out.failed(1);
    assert!(line.starts_with("error 403 forbidden"), "{line}");

    let mut cmd = cli.command(&send(None));
    cmd.env("HOOKLINE_PROFILE", "ap-portal");
    let out = cli.run_with(cmd, None).await;
    assert!(out.failed(1).starts_with("error 403 forbidden"), "{out:?}");

    // With --json the error is the problem document itself, on one line.
    let mut args = send(Some("ap-portal"));
    args.push("--json");
    let out = cli.run(&args).await;
    let problem: serde_json::Value = serde_json::from_str(out.failed(1)).expect("a JSON problem");
    assert_eq!(problem["code"], json!("forbidden"));
    assert_eq!(problem["status"], json!(403));
}

#[tokio::test]
async fn completions_are_printed_for_a_shell() {
    let cli = Hookline::new();
    let out = cli.run(&["completions", "bash"]).await;
    assert!(out.ok().contains("hookline"), "{out:?}");
    assert!(out.stdout.contains("subscriptions"));
}

#[tokio::test]
async fn credentials_from_the_environment_stand_in_for_a_profile() {
    let (app, cli, api) = not_logged_in().await;
    let mut cmd = cli.command(&["subscriptions", "list", "--json"]);
    cmd.env("HOOKLINE_API", api)
        .env("HOOKLINE_CLIENT_ID", ADMIN_ID)
        .env("HOOKLINE_CLIENT_SECRET", app.admin_secret());
    let out = cli.run_with(cmd, None).await;
    assert_eq!(out.json()["data"], json!([]));
    assert!(!cli.config_path().exists(), "no file is needed or written");
}

/// `login` with the secret on the command line.
async fn login_with_secret(cli: &Hookline, api: &str, id: &str, secret: &str) -> Run {
    let args = [
        "login",
        "--api",
        api,
        "--client-id",
        id,
        "--client-secret",
        secret,
    ];
    cli.run(&args).await
}
