//! `tunggal status`: the store's state on one screen (or as JSON) for the engineer on call
//! and for a monitoring check: exit 0 healthy, 1 needs attention, 2 the store cannot be read.
//! The library side is `nightly::status`; this module only opens the store without creating
//! one (`lake::Store::open_existing`: a path without a store is exit 2) and picks the output.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use nightly::status::{Status, StatusOptions};

/// Exit status when the store cannot be read, or there is no store at that path.
pub const UNREADABLE_EXIT: i32 = 2;

/// Output of `tunggal status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// One screen for people.
    #[default]
    Text,
    /// One JSON object with every row (for scripts and monitoring).
    Json,
}

/// Flags of `tunggal status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Output: one screen (`text`) or one JSON object with every row (`json`).
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    format: StatusFormat,

    /// The adjudication case store (SQLite), read only; never created. Default:
    /// `<store>/adjudication/cases.sqlite` for a local store, else `./tunggal-cases.sqlite`.
    #[arg(long, env = adjudication::CASE_DB_ENV)]
    case_db: Option<PathBuf>,

    /// The nightly lock file, to tell a running night from a dead one (same default as
    /// `tunggal nightly`).
    #[arg(long, env = nightly::lock::LOCK_FILE_ENV)]
    lock_file: Option<PathBuf>,
}

/// Runs `tunggal status` on the store at `location` and returns the exit status: prints the
/// status (0 or 1), or why the store cannot be read (2). Never creates a store.
pub async fn run(location: &str, args: &StatusArgs) -> i32 {
    let store = match lake::Store::open_existing(location).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: cannot read the store: {e}");
            return UNREADABLE_EXIT;
        }
    };
    let options = StatusOptions {
        case_db: args.case_db.clone(),
        lock_file: args.lock_file.clone(),
        ..Default::default()
    };
    let status = match Status::compute(&store, &options).await {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: cannot read the store {}: {e}", store.url());
            return UNREADABLE_EXIT;
        }
    };
    let text = match args.format {
        StatusFormat::Text => status.render(use_colour()),
        StatusFormat::Json => match serde_json::to_string_pretty(&status) {
            Ok(json) => json,
            Err(e) => {
                eprintln!("error: {e}");
                return UNREADABLE_EXIT;
            }
        },
    };
    // A closed pipe (`tunggal status | head`) is not an error of the status.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    status.exit_code()
}

/// Colour on the headline only when stdout is a terminal and `NO_COLOR` is unset or empty
/// (the rule of the log lines, cli/src/logging.rs, applied to stdout).
fn use_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}
