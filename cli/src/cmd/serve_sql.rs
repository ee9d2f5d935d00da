//! `tunggal serve-sql`: the lake tables over Arrow Flight SQL for BI tools, authenticated and
//! read-only (see `sql::flight`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

/// Flags of `tunggal serve-sql`.
#[derive(clap::Args, Debug)]
pub struct ServeSqlArgs {
    /// Address to listen on (port 0: any free port; the address is printed on start).
    #[arg(long, default_value = "127.0.0.1:32010")]
    pub bind: SocketAddr,

    /// Shared bearer token clients send as `authorization: Bearer TOKEN`.
    #[arg(long, env = "TUNGGAL_SQL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// A user allowed to log in with user name and password, `NAME:PASSWORD` (repeatable;
    /// also `TUNGGAL_SQL_USERS`, comma-separated). The console's user store will replace this.
    #[arg(
        long = "user",
        value_name = "NAME:PASSWORD",
        env = "TUNGGAL_SQL_USERS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub users: Vec<String>,

    /// Admit the adjudication console's users (`tunggal users add`) with their console
    /// passwords; disabled users are refused.
    #[arg(long)]
    pub console_users: bool,

    /// The console's case store holding those users (default as for `tunggal console`).
    #[arg(long, env = adjudication::CASE_DB_ENV)]
    pub case_db: Option<PathBuf>,
}

/// Flight SQL logins checked against the console's user store: the same names, passwords
/// (argon2) and disabled flags as the web console.
struct ConsoleUsers {
    case_db: PathBuf,
}

impl sql::flight::Authenticator for ConsoleUsers {
    fn verify(&self, user: &str, password: &str) -> bool {
        let Ok(cases) = adjudication::CaseStore::open(&self.case_db) else {
            return false;
        };
        // A login proves the password and that the user is enabled; the session it opens is
        // closed at once (Flight SQL keeps its own bearer token).
        match cases.login(user, password, "flight-sql", 60) {
            Ok((token, _)) => {
                let _ = cases.logout(&token);
                true
            }
            Err(_) => false,
        }
    }
}

/// Starts the server and serves until the process is stopped.
pub async fn run(store: &lake::Store, args: &ServeSqlArgs) -> Result<()> {
    let mut users = Vec::new();
    for pair in &args.users {
        let (name, password) = pair
            .split_once(':')
            .with_context(|| "--user takes NAME:PASSWORD".to_string())?;
        users.push((name.to_string(), password.to_string()));
    }
    if args.token.is_none() && users.is_empty() && !args.console_users {
        bail!("give --token (or TUNGGAL_SQL_TOKEN), --console-users or --user NAME:PASSWORD: the server admits nobody otherwise");
    }
    if args.console_users && !users.is_empty() {
        bail!("--console-users and --user exclude each other");
    }
    let authenticator: Option<Arc<dyn sql::flight::Authenticator>> = if args.console_users {
        let case_db = args
            .case_db
            .clone()
            .unwrap_or_else(|| adjudication::default_case_db(store));
        Some(Arc::new(ConsoleUsers { case_db }))
    } else {
        (!users.is_empty()).then(|| {
            Arc::new(sql::flight::StaticUsers::new(users)) as Arc<dyn sql::flight::Authenticator>
        })
    };
    let auth = sql::flight::Auth {
        token: args.token.clone(),
        users: authenticator,
    };
    let server = sql::flight::serve(store.clone(), auth, args.bind).await?;
    println!(
        "serve-sql: Arrow Flight SQL on grpc://{} (read-only)",
        server.addr
    );
    tracing::info!(addr = %server.addr, "serve-sql listening");
    server.wait().await?;
    Ok(())
}
