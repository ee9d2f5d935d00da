//! `tunggal serve-sql`: the lake tables over Arrow Flight SQL for BI tools, authenticated and
//! read-only (see `sql::flight`).

use std::net::SocketAddr;
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
    if args.token.is_none() && users.is_empty() {
        bail!("give --token (or TUNGGAL_SQL_TOKEN) or --user NAME:PASSWORD: the server admits nobody otherwise");
    }
    let auth = sql::flight::Auth {
        token: args.token.clone(),
        users: (!users.is_empty()).then(|| {
            Arc::new(sql::flight::StaticUsers::new(users)) as Arc<dyn sql::flight::Authenticator>
        }),
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
