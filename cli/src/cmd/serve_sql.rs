//! `tunggal serve-sql`: the lake tables over Arrow Flight SQL for BI tools, authenticated and
//! read-only (see `sql::flight`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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

    /// Hours a login token lasts (console users' tokens also end when the user is disabled or
    /// their password reset).
    #[arg(long, default_value_t = 8)]
    pub token_hours: u64,

    /// Memory all running queries may hold together, e.g. `512MiB`, `2GiB` (a query needing
    /// more fails; the server stays up).
    #[arg(long, default_value = "1GiB", value_parser = parse_bytes)]
    pub memory_limit: usize,

    /// Seconds a query may run before it is stopped.
    #[arg(long, default_value_t = 300)]
    pub query_timeout_seconds: u64,

    /// Queries running at once (others wait, then are refused).
    #[arg(long, default_value_t = 4)]
    pub max_queries: usize,

    /// Serve over TLS (`grpc+tls://`) with this PEM certificate chain (server certificate
    /// first); needs `--tls-key`.
    #[arg(long, requires = "tls_key", env = "TUNGGAL_SQL_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert", env = "TUNGGAL_SQL_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Serve Prometheus metrics at `http://ADDR/metrics` (off by default). Whoever reaches
    /// ADDR may scrape: bind it to loopback or the management network (docs/operations.md).
    #[arg(long, value_name = "ADDR", env = "TUNGGAL_SQL_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

/// Parses a byte count: a number with an optional `KiB`, `MiB` or `GiB` suffix.
fn parse_bytes(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 512MiB"))?;
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} (KiB, MiB or GiB)")),
    };
    n.checked_mul(scale)
        .filter(|b| *b >= 1 << 20)
        .ok_or_else(|| format!("{text:?}: give at least 1MiB"))
}

/// Flight SQL logins checked against the console's user store: the same names, passwords
/// (argon2), roles, disabled flags and lockout as the web console. A token is a case store
/// session (only its hash is stored), so `users disable` and `users reset-password` end it,
/// and every statement lands in the console's audit trail.
struct ConsoleUsers {
    cases: adjudication::CaseStore,
    token_seconds: i64,
}

impl sql::flight::Authenticator for ConsoleUsers {
    fn login(
        &self,
        user: &str,
        password: &str,
        remote: &str,
    ) -> Result<(String, sql::flight::Principal), sql::flight::LoginError> {
        use adjudication::AdjudicationError as E;
        match self
            .cases
            .login_via(user, password, remote, "flight-sql", self.token_seconds)
        {
            Ok((token, session)) => Ok((token, principal(&session))),
            Err(E::Unauthenticated(_)) => Err(sql::flight::LoginError::Refused),
            Err(E::TooManyAttempts(_)) => Err(sql::flight::LoginError::LockedOut),
            Err(e) => Err(sql::flight::LoginError::Unavailable(e.to_string())),
        }
    }

    fn session(&self, token: &str) -> Option<sql::flight::Principal> {
        self.cases
            .session(token)
            .ok()
            .flatten()
            .map(|s| principal(&s))
    }

    fn audit(
        &self,
        who: &sql::flight::Principal,
        remote: &str,
        record: &sql::flight::StatementRecord,
    ) {
        let mut detail = record.detail();
        if who.user.is_none() {
            detail.push_str(" caller=shared-token");
        }
        let written = self.cases.audit(
            who.user.as_deref(),
            adjudication::store::AuditAction::SqlQuery,
            None,
            None,
            Some(&detail),
            remote,
        );
        if let Err(e) = written {
            tracing::error!(error = %e, "serve-sql: cannot audit a statement");
        }
    }
}

fn principal(session: &adjudication::store::Session) -> sql::flight::Principal {
    sql::flight::Principal {
        user: Some(session.user.username.clone()),
        role: session.user.role.as_str().to_string(),
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
    let lifetime = Duration::from_secs(args.token_hours.max(1) * 3600);
    let authenticator: Option<Arc<dyn sql::flight::Authenticator>> = if args.console_users {
        let case_db = args
            .case_db
            .clone()
            .unwrap_or_else(|| adjudication::default_case_db(store));
        Some(Arc::new(ConsoleUsers {
            cases: adjudication::CaseStore::open(&case_db)?,
            token_seconds: i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
        }))
    } else {
        (!users.is_empty()).then(|| {
            Arc::new(sql::flight::StaticUsers::new(users, lifetime))
                as Arc<dyn sql::flight::Authenticator>
        })
    };
    let auth = sql::flight::Auth {
        token: args.token.clone(),
        users: authenticator,
    };
    let limits = sql::flight::Limits {
        memory_bytes: args.memory_limit,
        query_timeout: Duration::from_secs(args.query_timeout_seconds.max(1)),
        max_queries: args.max_queries.max(1),
        ..Default::default()
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(sql::tls::Tls::from_files(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "grpc+tls" } else { "grpc" };
    let server = sql::flight::serve(store.clone(), auth, limits, args.bind, tls).await?;
    lake::metrics::record_start("serve-sql");
    let metrics = match args.metrics_bind {
        Some(addr) => Some(
            lake::metrics::serve(addr)
                .await
                .with_context(|| format!("cannot serve metrics on {addr}"))?,
        ),
        None => None,
    };
    // One line (a start-up script reads the first): the addresses, chosen ports included.
    let metrics_note = metrics
        .as_ref()
        .map(|m| format!("; metrics on http://{}/metrics", m.local_addr()))
        .unwrap_or_default();
    println!(
        "serve-sql: Arrow Flight SQL on {scheme}://{} (read-only){metrics_note}",
        server.addr
    );
    tracing::info!(addr = %server.addr, "serve-sql listening");
    server.wait().await?;
    drop(metrics);
    Ok(())
}
