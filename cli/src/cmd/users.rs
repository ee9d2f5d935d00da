//! `tunggal users add|disable|reset-password|list`: the console's accounts, in the case store.
//!
//! Every change is audited (`user_add`, `user_disable`, `user_reset_password`), with the
//! operating-system user as its address. Passwords never appear on the command line: they are read from `TUNGGAL_PASSWORD` or, when
//! that is unset, from the first line of standard input.

use std::io::BufRead;

use anyhow::{bail, Context, Result};

use super::console::CaseDbArg;

/// Environment variable a script may use to pass the password.
pub const PASSWORD_ENV: &str = "TUNGGAL_PASSWORD";

/// `tunggal users …`.
#[derive(clap::Args, Debug)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub command: UsersCommand,
    #[command(flatten)]
    pub case_db: CaseDbArg,
}

/// What to do with an account.
#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user; the password comes from TUNGGAL_PASSWORD or the first line of stdin.
    ///
    /// The user name is 1 to 64 letters, digits, '.', '-' or '_'; the password has at least
    /// 10 characters.
    Add {
        /// Login name: 1 to 64 letters, digits, '.', '-' or '_'.
        username: String,
        /// adjudicator, supervisor, auditor or analyst (SQL only; docs/security.md).
        #[arg(long)]
        role: String,
    },
    /// Disable a user and end their sessions.
    Disable {
        /// Login name.
        username: String,
    },
    /// Set a new password (TUNGGAL_PASSWORD or stdin), re-enable the user, end their sessions.
    ///
    /// The password has at least 10 characters.
    ResetPassword {
        /// Login name.
        username: String,
    },
    /// List the users and their roles.
    List,
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("no password: set {PASSWORD_ENV} or give it on standard input");
    }
    Ok(p)
}

/// An adjudication error as a person at a terminal reads it: the web layer's kinds ("bad
/// request: …", "not found: …") are HTTP status names, meaningless here, so only their message
/// is kept.
fn plain(err: adjudication::AdjudicationError) -> anyhow::Error {
    use adjudication::AdjudicationError as E;
    match err {
        E::BadRequest(m) | E::NotFound(m) | E::Conflict(m) | E::Forbidden(m) => anyhow::anyhow!(m),
        other => other.into(),
    }
}

/// Runs one account command.
pub fn run(store: &lake::Store, args: &UsersArgs) -> Result<()> {
    run_inner(store, args).map_err(|e| match e.downcast::<adjudication::AdjudicationError>() {
        Ok(err) => plain(err),
        Err(other) => other,
    })
}

fn run_inner(store: &lake::Store, args: &UsersArgs) -> Result<()> {
    // Account changes are audited with the operating-system account that made them.
    let operator = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let cases = adjudication::CaseStore::open(&args.case_db.path(store))?
        .with_actor(format!("local:{operator}"));
    match &args.command {
        UsersCommand::Add { username, role } => {
            let role = adjudication::Role::parse(role)?;
            cases.add_user(username, role, &read_password()?)?;
            println!("added {username} ({})", role.as_str());
        }
        UsersCommand::Disable { username } => {
            cases.disable_user(username)?;
            println!("disabled {username}");
        }
        UsersCommand::ResetPassword { username } => {
            cases.reset_password(username, &read_password()?)?;
            println!("new password set for {username}");
        }
        UsersCommand::List => {
            for u in cases.users()? {
                println!(
                    "{}\t{}{}",
                    u.username,
                    u.role.as_str(),
                    if u.disabled { "\tdisabled" } else { "" }
                );
            }
        }
    }
    Ok(())
}
