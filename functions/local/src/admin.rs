//! The admin commands of `hookline-local`: counting and redriving the dead-letter queues.
//!
//! ```text
//! hookline-local dlq count <deliveries|events>
//! hookline-local dlq redrive <deliveries|events> [--max N]
//! ```
//!
//! They open the backend the runner would open, from the same variables (`HOOKLINE_BACKEND`,
//! `HOOKLINE_DATA_DIR`, and on the AWS backend the table and queue variables that
//! `infra/local/bootstrap` prints), and work through the `Queue` port, so one command serves
//! the embedded backend and SQS (AWS, or an emulator such as moto, which lacks SQS's
//! `StartMessageMoveTask`).
//!
//! A redrive moves messages from a dead-letter queue back to its source queue by receive, send
//! and delete ([`hookline_aws::sqs::redrive`]). A message of the deliveries dead-letter queue
//! asks for the delivery's next cycle of attempts, so each one moved retries its delivery once;
//! a message SQS moved there after too many receives is processed again as it was. A message
//! of the events dead-letter queue runs fan-out again, which never makes a delivery twice.
//! Without `--max`, a redrive moves as many messages as the queue held when it started: a
//! delivery that fails again meanwhile goes back to the dead-letter queue and stays there
//! for the next redrive, instead of going round while the command runs.
//!
//! The embedded backend's data directory belongs to one process at a time (its lock,
//! `hookline.lock`, is held by the runner as long as it runs): there the commands refuse to
//! run beside a runner, and a runner started during a command refuses to start. Stop the
//! runner, run the command, start the runner. On SQS they may run beside the workers.

use std::process::ExitCode;

use hookline_ports::{PortError, Queue, QueueName};

use crate::{Backend, Config, RunError};

/// The usage text (`hookline-local --help`).
pub const USAGE: &str = "\
Usage:
  hookline-local
      Start Hookline: the HTTP API and both queue workers.
  hookline-local dlq count <deliveries|events>
      Print the approximate number of messages in that dead-letter queue.
  hookline-local dlq redrive <deliveries|events> [--max N]
      Move up to N messages (default: as many as the queue holds now) from that
      dead-letter queue back to its source queue, and print how many moved.
  hookline-local keys rotate
      Add a new JWT signing key: published at once, signing after
      HOOKLINE_KEY_ACTIVATION_SECS (3600); keys whose last token has expired are dropped.
  hookline-local --help
      Print this text.

The commands use the backend the runner would use (HOOKLINE_BACKEND, HOOKLINE_DATA_DIR,
and on the aws backend the variables infra/local/bootstrap prints). On the embedded
backend, stop the runner first: the data directory belongs to one process at a time.
Exit status: 0 done, 1 failed, 2 bad arguments or configuration.
";

/// A dead-letter queue, named by its source queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dlq {
    /// Deliveries that gave up (or that SQS moved after too many receives).
    Deliveries,
    /// Events that fan-out could not process.
    Events,
}

impl Dlq {
    fn parse(name: &str) -> Result<Dlq, UsageError> {
        match name {
            "deliveries" => Ok(Dlq::Deliveries),
            "events" => Ok(Dlq::Events),
            other => Err(UsageError(format!(
                "'{other}' is not a queue: use deliveries or events"
            ))),
        }
    }

    /// The queue whose dead letters these are, where a redrive sends them.
    pub fn source(self) -> QueueName {
        match self {
            Dlq::Deliveries => QueueName::Deliveries,
            Dlq::Events => QueueName::Events,
        }
    }

    /// The dead-letter queue itself.
    pub fn queue(self) -> QueueName {
        match self {
            Dlq::Deliveries => QueueName::DeliveriesDlq,
            Dlq::Events => QueueName::EventsDlq,
        }
    }
}

/// What the arguments ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// No arguments: start the runner.
    Run,
    /// `--help`: print the usage text.
    Help,
    /// An admin command.
    Admin(AdminCommand),
}

/// An admin command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// `dlq count <queue>`.
    Count(Dlq),
    /// `keys rotate`: a new signing key, published now, signing after the activation delay.
    RotateKeys,
    /// `dlq redrive <queue> [--max N]`.
    Redrive {
        /// The dead-letter queue to empty.
        dlq: Dlq,
        /// At most this many (`None`: as many as it holds at the start).
        max: Option<usize>,
    },
}

/// Arguments that name no command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

fn usage(reason: &str) -> UsageError {
    UsageError(reason.to_string())
}

/// Reads the arguments (the program name left out).
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if args.iter().any(|a| matches!(*a, "-h" | "--help" | "help")) {
        return Ok(Command::Help);
    }
    match args.as_slice() {
        [] => Ok(Command::Run),
        ["dlq", "count", queue] => Ok(Command::Admin(AdminCommand::Count(Dlq::parse(queue)?))),
        ["keys", "rotate"] => Ok(Command::Admin(AdminCommand::RotateKeys)),
        ["keys", ..] => Err(usage("keys takes one command: rotate")),
        ["dlq", "count", ..] => Err(usage("dlq count takes one queue: deliveries or events")),
        ["dlq", "redrive", queue, rest @ ..] => {
            let dlq = Dlq::parse(queue)?;
            let max = match rest {
                [] => None,
                ["--max", n] => Some(parse_max(n)?),
                [flag] if flag.starts_with("--max=") => Some(parse_max(&flag["--max=".len()..])?),
                [other, ..] => {
                    return Err(UsageError(format!(
                        "dlq redrive: unexpected '{other}' (the only option is --max N)"
                    )));
                }
            };
            Ok(Command::Admin(AdminCommand::Redrive { dlq, max }))
        }
        ["dlq", "redrive"] => Err(usage("dlq redrive needs a queue: deliveries or events")),
        ["dlq", other, ..] => Err(UsageError(format!(
            "'dlq {other}' is not a command: use dlq count or dlq redrive"
        ))),
        ["dlq"] => Err(usage("dlq needs a command: count or redrive")),
        [other, ..] => Err(UsageError(format!("'{other}' is not a command"))),
    }
}

fn parse_max(n: &str) -> Result<usize, UsageError> {
    match n.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(UsageError(format!(
            "--max takes a whole number of messages above 0, not '{n}'"
        ))),
    }
}

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The backend could not be opened.
    #[error("{0}")]
    Open(#[from] RunError),
    /// The embedded backend's data directory holds no database.
    #[error(
        "no Hookline database in {}: set HOOKLINE_DATA_DIR to the runner's data directory",
        .0.display()
    )]
    NoDatabase(std::path::PathBuf),
    /// A queue call failed.
    #[error("{what}: {source}")]
    Queue {
        /// What was being done.
        what: String,
        /// The port's error.
        source: PortError,
    },
}

/// Counts the messages of a dead-letter queue (approximate on SQS: visible, in flight and
/// delayed messages, as SQS reports them).
pub async fn count(queue: &dyn Queue, dlq: Dlq) -> Result<u64, AdminError> {
    queue
        .depth(dlq.queue())
        .await
        .map_err(|source| AdminError::Queue {
            what: format!("counting {}", dlq.queue().as_str()),
            source,
        })
}

/// Moves up to `max` messages (`None`: as many as the queue holds now) from a dead-letter
/// queue back to its source queue; returns how many moved.
pub async fn redrive(queue: &dyn Queue, dlq: Dlq, max: Option<usize>) -> Result<usize, AdminError> {
    let max = match max {
        Some(n) => n,
        None => usize::try_from(count(queue, dlq).await?).unwrap_or(usize::MAX),
    };
    if max == 0 {
        return Ok(0);
    }
    hookline_aws::sqs::redrive(queue, dlq.queue(), dlq.source(), max)
        .await
        .map_err(|source| AdminError::Queue {
            what: format!(
                "moving messages from {} to {}",
                dlq.queue().as_str(),
                dlq.source().as_str()
            ),
            source,
        })
}

/// Runs an admin command with the configuration `config`; returns what to print.
pub async fn execute(config: &Config, command: &AdminCommand) -> Result<String, AdminError> {
    if config.backend == Backend::Embedded {
        // Opening would create an empty database: a mistyped directory should say so instead.
        let db = config.data_dir.join(hookline_embedded::DB_FILE);
        if !db.exists() {
            return Err(AdminError::NoDatabase(config.data_dir.clone()));
        }
    }
    let (_store, queue, keys, _) = crate::backend::open_backend(config).await?;
    match *command {
        AdminCommand::RotateKeys => {
            let policy = config.stack.rotation_policy();
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let (kid, not_before) =
                hookline_handlers::auth::rotation::rotate(keys.as_ref(), now, &policy)
                    .await
                    .map_err(|source| AdminError::Queue {
                        what: "rotating the signing keys".into(),
                        source,
                    })?;
            Ok(format!(
                "new signing key {kid}: published now, signing from {} (in {} s)",
                hookline_domain::time_fmt::format(
                    time::OffsetDateTime::from_unix_timestamp(not_before)
                        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
                ),
                not_before - now
            ))
        }
        AdminCommand::Count(dlq) => Ok(count(queue.as_ref(), dlq).await?.to_string()),
        AdminCommand::Redrive { dlq, max } => {
            let moved = redrive(queue.as_ref(), dlq, max).await?;
            Ok(format!(
                "moved {moved} message(s) from {} to {}",
                dlq.queue().as_str(),
                dlq.source().as_str()
            ))
        }
    }
}

/// Runs an admin command as the binary's `main`: configuration from the environment (exit 2
/// if it is unusable), logs on stderr (warnings and errors unless `RUST_LOG` says otherwise),
/// the result on stdout (exit 0) or the error on stderr (exit 1).
pub fn main(command: AdminCommand) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hookline-local: {e}");
            return ExitCode::from(2);
        }
    };
    crate::init_logs(config.json_logs, "warn", std::io::stderr);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hookline-local: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(&config, &command)) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(AdminError::Open(RunError::InUse(dir))) => {
            eprintln!(
                "hookline-local: the data directory {} is in use by another process (a running hookline-local?). \
                 Stop the runner first: on the embedded backend the queues belong to one process at a time.",
                dir.display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("hookline-local: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use hookline_embedded::{EmbeddedBackend, QueueOptions};
    use hookline_ports::QueueMessage;

    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn admin(s: &str) -> AdminCommand {
        match parse(&args(s)) {
            Ok(Command::Admin(c)) => c,
            other => panic!("'{s}' is not an admin command: {other:?}"),
        }
    }

    #[test]
    fn no_arguments_run_the_runner_and_help_is_help() {
        assert_eq!(parse(&[]), Ok(Command::Run));
        for s in [
            "--help",
            "-h",
            "help",
            "dlq --help",
            "dlq redrive deliveries -h",
        ] {
            assert_eq!(parse(&args(s)), Ok(Command::Help), "{s}");
        }
    }

    #[test]
    fn the_dlq_commands_parse() {
        assert_eq!(
            admin("dlq count deliveries"),
            AdminCommand::Count(Dlq::Deliveries)
        );
        assert_eq!(admin("dlq count events"), AdminCommand::Count(Dlq::Events));
        assert_eq!(
            admin("dlq redrive deliveries"),
            AdminCommand::Redrive {
                dlq: Dlq::Deliveries,
                max: None
            }
        );
        assert_eq!(
            admin("dlq redrive events --max 25"),
            AdminCommand::Redrive {
                dlq: Dlq::Events,
                max: Some(25)
            }
        );
        assert_eq!(
            admin("dlq redrive events --max=3"),
            AdminCommand::Redrive {
                dlq: Dlq::Events,
                max: Some(3)
            }
        );
    }

    #[test]
    fn anything_else_is_a_usage_error() {
        for s in [
            "run",
            "dlq",
            "dlq count",
            "dlq count deliveries events",
            "dlq count deliveries-dlq",
            "dlq redrive",
            "dlq redrive other",
            "dlq redrive deliveries --max",
            "dlq redrive deliveries --max 0",
            "dlq redrive deliveries --max -1",
            "dlq redrive deliveries --max ten",
            "dlq redrive deliveries --max 1 --max 2",
            "dlq redrive deliveries --all",
            "dlq purge deliveries",
        ] {
            assert!(parse(&args(s)).is_err(), "'{s}' must be refused");
        }
    }

    /// A fresh data directory under the system's temporary directory.
    fn temp_dir(name: &str) -> PathBuf {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("hookline-admin-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    }

    async fn bodies(queue: &dyn Queue, name: QueueName) -> Vec<String> {
        let mut got: Vec<String> = queue
            .receive(name, 10, Duration::ZERO, Duration::from_secs(30))
            .await
            .expect("receive")
            .into_iter()
            .map(|m| m.body)
            .collect();
        got.sort();
        got
    }

    #[tokio::test]
    async fn a_redrive_moves_what_the_dead_letter_queue_holds_back_to_its_source() {
        let dir = temp_dir("redrive");
        let backend =
            EmbeddedBackend::open(&dir, QueueOptions::default()).expect("the embedded backend");
        let queue = backend.queue();
        let msgs = |bodies: &[&str]| {
            bodies
                .iter()
                .map(|b| QueueMessage::now((*b).to_string()))
                .collect()
        };
        queue
            .send(QueueName::EventsDlq, msgs(&["{\"event_id\":\"evt_1\"}"]))
            .await
            .expect("send");
        queue
            .send(
                QueueName::DeliveriesDlq,
                msgs(&["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"]),
            )
            .await
            .expect("send");
        assert_eq!(count(queue.as_ref(), Dlq::Deliveries).await.unwrap(), 3);
        assert_eq!(count(queue.as_ref(), Dlq::Events).await.unwrap(), 1);

        let moved = redrive(queue.as_ref(), Dlq::Deliveries, Some(2))
            .await
            .expect("redrive");
        assert_eq!(moved, 2, "--max bounds the move");
        assert_eq!(count(queue.as_ref(), Dlq::Deliveries).await.unwrap(), 1);
        let moved = redrive(queue.as_ref(), Dlq::Deliveries, None)
            .await
            .expect("redrive");
        assert_eq!(moved, 1, "the rest");
        assert_eq!(count(queue.as_ref(), Dlq::Deliveries).await.unwrap(), 0);
        assert_eq!(
            bodies(queue.as_ref(), QueueName::Deliveries).await,
            ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"],
            "every body arrives unchanged, once"
        );
        assert_eq!(
            bodies(queue.as_ref(), QueueName::Events).await,
            Vec::<String>::new(),
            "the events queue is left alone"
        );

        let moved = redrive(queue.as_ref(), Dlq::Events, None)
            .await
            .expect("redrive");
        assert_eq!(moved, 1);
        assert_eq!(
            bodies(queue.as_ref(), QueueName::Events).await,
            ["{\"event_id\":\"evt_1\"}"]
        );
        assert_eq!(
            redrive(queue.as_ref(), Dlq::Events, None).await.unwrap(),
            0,
            "an empty dead-letter queue moves nothing"
        );
        drop(queue);
        drop(backend);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
