//! `tunggal console`: the adjudicators' web console over the lake of `--store`, with its case
//! store in SQLite. Thin glue over [`adjudication::serve`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

/// Where the case store lives: `--case-db`, `TUNGGAL_CASE_DB`, or beside a local store.
#[derive(clap::Args, Debug, Clone)]
pub struct CaseDbArg {
    /// The case store (SQLite) file. Default: `<store folder>/adjudication/cases.sqlite` for a
    /// local store, `./tunggal-cases.sqlite` for an object store.
    #[arg(long, env = adjudication::CASE_DB_ENV)]
    pub case_db: Option<PathBuf>,
}

impl CaseDbArg {
    /// The case store file for `store`.
    pub fn path(&self, store: &lake::Store) -> PathBuf {
        self.case_db
            .clone()
            .unwrap_or_else(|| adjudication::default_case_db(store))
    }
}

/// Flags of `tunggal console`.
#[derive(clap::Args, Debug)]
pub struct ConsoleArgs {
    /// Address to listen on (port 0: any free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,

    #[command(flatten)]
    pub case_db: CaseDbArg,

    /// Send cookies without the `Secure` flag: only behind a TLS-terminating proxy that talks
    /// plain HTTP to the console on a non-loopback address.
    #[arg(long)]
    pub insecure_cookies: bool,

    /// Minutes a claim holds a case before it returns to the queue.
    #[arg(long, default_value_t = 30)]
    pub claim_minutes: i64,

    /// Hours a login session lasts.
    #[arg(long, default_value_t = 8)]
    pub session_hours: i64,

    /// Seconds between re-reads of the lake's clusters into cases (and decision exports).
    #[arg(long, default_value_t = 300)]
    pub sync_seconds: u64,

    /// Header carrying the real client address set by the DC's reverse proxy, e.g.
    /// `X-Forwarded-For`; believed only from `--trusted-proxy` addresses (docs/security.md).
    #[arg(long, requires = "trusted_proxies")]
    pub client_ip_header: Option<String>,

    /// Address or network (CIDR) of a reverse proxy whose `--client-ip-header` is believed
    /// (repeatable).
    #[arg(long = "trusted-proxy", value_name = "ADDR_OR_CIDR", value_parser = adjudication::web::auth::parse_trusted_proxy)]
    pub trusted_proxies: Vec<adjudication::web::auth::ProxyNet>,

    /// A file holding the token a Prometheus scraper sends as `Authorization: Bearer TOKEN`
    /// to read `/metrics` from another host. Without it, `/metrics` answers only clients on
    /// this host (docs/security.md).
    #[arg(long, value_name = "PATH", env = "TUNGGAL_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,
}

/// Serves the console until interrupted.
pub async fn run(store: &lake::Store, args: &ConsoleArgs) -> Result<()> {
    let metrics_access = match &args.metrics_token_file {
        Some(path) => {
            let token = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the metrics token {}", path.display()))?;
            if token.trim().len() < 16 {
                anyhow::bail!(
                    "the metrics token in {} is shorter than 16 characters",
                    path.display()
                );
            }
            adjudication::web::metrics::MetricsAccess::with_token(&token)
        }
        None => adjudication::web::metrics::MetricsAccess::default(),
    };
    lake::metrics::record_start("console");
    let config = adjudication::ConsoleConfig {
        bind: args.bind.clone(),
        secure_cookies: !args.insecure_cookies,
        claim_seconds: args.claim_minutes * 60,
        session_seconds: args.session_hours * 3600,
        sync_every: Duration::from_secs(args.sync_seconds.max(1)),
        client_address: adjudication::web::auth::ClientAddress {
            header: args.client_ip_header.clone(),
            trusted_proxies: args.trusted_proxies.clone(),
        },
        metrics_access,
        ..Default::default()
    };
    adjudication::serve(store.clone(), &args.case_db.path(store), config).await?;
    Ok(())
}
