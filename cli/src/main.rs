//! `tunggal` — the one binary of the e-KTP data center.
//!
//! The binary is deliberately thin (see STYLE.md, after ripgrep): it parses flags, opens the
//! object store named by `--store`, and hands over to a library crate. Every capability lives
//! in one, where tests can drive it without a CLI: `biometrics` (templates, matchers, fusion),
//! `reference` (SIAK extract, regions), `packet` (enrollment packets), `synth` (synthetic
//! countries), `lake` (the Delta tables), `ingest`, `dedup` (1:N), `adjudication` (cases and
//! the console), `personalization-export`, `sql` (package `tunggal-sql`: analysts' SQL and
//! Flight SQL), `evaluation` (benchmarks, accuracy evaluations, test fixtures) and `nightly`
//! (the nightly job).

mod cmd;
mod config;
mod logging;

use anyhow::Result;

/// mimalloc instead of the system allocator: DataFusion's hash joins and aggregations and
/// the matcher's per-comparison buffers are allocation-heavy, and glibc malloc showed up in
/// the analyst-SQL profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mimalloc.h` (v3, the version libmimalloc-sys builds
/// by default): how long freed memory waits before it is returned to the operating system, in
/// ms (−1: never).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The purge delay for the nightly verbs: mimalloc v2's default. v3 waits 1,000 ms, so a stage
/// that frees what it read and reads on within a second holds both, and the peak memory grew
/// with the bytes a night's look-ups read while the live heap stayed flat (docs/benchmarks.md,
/// "A night as the country grows", fifth and sixth runs).
const NIGHTLY_PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Chooses how long freed memory stays with the process. A long-lived analyst session
/// (`sql`, `serve-sql`) keeps what its queries free for the next ones: returning it made
/// every query re-fault and re-zero the pages of its hash tables — on the 1M lake
/// sla_by_service_point took 0.66–0.90 s between other queries instead of 0.44 s — so the
/// session holds its peak until it ends, as a database's buffer pool does. Every other verb
/// returns freed memory after [`NIGHTLY_PURGE_DELAY_MS`], so its peak is what it holds at
/// once, not what it freed in the last second. `MIMALLOC_PURGE_DELAY` in the environment
/// still wins, for measurements.
fn choose_purge_delay(command: &Command) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    let delay = match command {
        Command::Sql(_) | Command::ServeSql(_) => -1,
        _ => NIGHTLY_PURGE_DELAY_MS,
    };
    // SAFETY: sets a process-wide allocator option (an integer); mimalloc reads it when it
    // next decides whether to purge, and any value is valid.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay) };
}
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Command line of `tunggal`.
#[derive(Parser)]
#[command(
    name = "tunggal",
    version,
    about = "e-KTP data center: ingest, 1:N deduplication, adjudication, personalization"
)]
struct Cli {
    /// Object store root: a local folder, `file:///…`, or `s3://bucket/prefix`
    /// (credentials, region and endpoint from the usual AWS_* variables and AWS_ENDPOINT_URL).
    #[arg(
        long,
        global = true,
        env = "TUNGGAL_STORE",
        default_value = "./tunggal-data"
    )]
    store: String,

    /// More log output (-v: debug, -vv: trace). Logs never contain NIKs, names or biometrics.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Configuration file: every flag's default by verb, flag > environment > file >
    /// built-in default (docs/operations.md). Default: ./tunggal.toml when present.
    #[arg(long, global = true, env = config::CONFIG_ENV, value_name = "PATH")]
    config: Option<std::path::PathBuf>,

    /// Log lines as human-readable text, or one JSON object a line for log shippers.
    #[arg(
        long,
        global = true,
        env = "TUNGGAL_LOG_FORMAT",
        value_enum,
        default_value_t = logging::LogFormat::Text
    )]
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an empty store at --store (landing/, reference/, a marker) for real stations;
    /// every other verb but `synth` refuses a location without a store.
    Init,
    /// Write a synthetic country in miniature: SIAK extract, stations, packets, planted truth.
    Synth(cmd::synth::SynthArgs),
    /// Validate every packet in landing/ not yet recorded and commit it to the lake tables.
    Ingest(cmd::ingest::IngestCommandArgs),
    /// The nightly job: every stage that exists, in order, safe to re-run.
    Nightly(cmd::nightly::NightlyArgs),
    /// Housekeeping: compact, vacuum and checkpoint the lake tables, compact the gallery.
    Maintain(cmd::maintain::MaintainArgs),
    /// Reference data: `reference load` takes new SIAK extracts and station registry files
    /// into the lake's reference tables, once each.
    Reference(cmd::reference::ReferenceArgs),
    /// The store's state on one screen: last runs, backlog, SLA; exit 0 healthy, 1 attention.
    Status(cmd::status::StatusArgs),
    /// 1:N deduplication of every enrollment not yet searched: statuses and clusters.
    Dedup(cmd::dedup::DedupCommandArgs),
    /// Write signed personalization jobs per regency/city; `export check DIR` verifies one.
    Export(cmd::export::ExportArgs),
    /// 1:1 check of the fingers a card names against its chip at pickup: berhasil, gagal, or ulangi (recapture).
    Verify(cmd::verify::VerifyArgs),
    /// Run DataFusion SQL over the lake tables: a query, -f FILE, --saved NAME, or the shell.
    Sql(cmd::sql::SqlArgs),
    /// Serve the lake tables over Arrow Flight SQL (authenticated, read-only) for BI tools.
    ServeSql(cmd::serve_sql::ServeSqlArgs),
    /// The adjudicators' web console: case queue, evidence, two-person decisions, audit.
    Console(cmd::console::ConsoleArgs),
    /// Console accounts: add, disable, reset-password, list (passwords from stdin or env).
    Users(cmd::users::UsersArgs),
    /// The audit trail: `audit verify` detects deleted or edited rows (hash chain).
    Audit(cmd::audit::AuditArgs),
    /// Compare two fingerprint templates, or a CSV of template pairs.
    Match(cmd::fingerprint::MatchArgs),
    /// A Ballista scheduler for `--cluster` searches (gRPC and REST on one port).
    Scheduler(cmd::cluster::SchedulerArgs),
    /// A Ballista executor that runs the search tasks; one per machine.
    Executor(cmd::cluster::ExecutorArgs),
    /// Accuracy evaluations.
    #[command(subcommand)]
    Eval(cmd::fingerprint::EvalCommand),
    /// Benchmarks that print a table (performance is measured here, never in tests).
    #[command(subcommand)]
    Bench(cmd::BenchCommand),
}

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = config::apply(Cli::command(), &args).unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    });
    let cli = Cli::from_arg_matches(&command.get_matches_from(args)).unwrap_or_else(|e| e.exit());
    logging::init(cli.verbose, cli.log_format);
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    choose_purge_delay(&cli.command);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match &cli.command {
            Command::Match(args) => cmd::fingerprint::run_match(args),
            Command::Scheduler(args) => cmd::cluster::run_scheduler(args).await,
            Command::Executor(args) => cmd::cluster::run_executor(&cli.store, args).await,
            Command::Verify(args) => std::process::exit(cmd::verify::run(&cli.store, args).await),
            Command::Status(args) => std::process::exit(cmd::status::run(&cli.store, args).await),
            Command::Eval(eval) if !eval.needs_store() => cmd::fingerprint::run_eval(eval),
            Command::Init => cmd::init::run(&cli.store).await,
            command => {
                // Only `synth` (and `init` above) create a store; the benchmarks make their
                // own work area and `export check DIR` reads a local job folder.
                let creates = matches!(command, Command::Synth(_) | Command::Bench(_))
                    || matches!(command, Command::Export(e) if e.command.is_some());
                let store = if creates {
                    lake::Store::open(&cli.store)?
                } else {
                    lake::Store::open_existing(&cli.store).await?
                };
                match command {
                    Command::Synth(args) => cmd::synth::run(&store, args).await,
                    Command::Ingest(args) => cmd::ingest::run(&store, args).await,
                    Command::Nightly(args) => cmd::nightly::run(&store, args).await,
                    Command::Maintain(args) => cmd::maintain::run(&store, args).await,
                    Command::Reference(args) => cmd::reference::run(&store, args).await,
                    Command::Dedup(args) => cmd::dedup::run(&store, args).await,
                    Command::Export(args) => cmd::export::run(&store, args).await,
                    Command::Verify(_) => unreachable!("handled above"),
                    Command::Status(_) => unreachable!("handled above"),
                    Command::Eval(cmd::fingerprint::EvalCommand::Pickup(args)) => {
                        cmd::eval_pickup::run(&store, args).await
                    }
                    Command::Eval(_) => cmd::eval_dedup::run(&store).await,
                    Command::Sql(args) => cmd::sql::run(&store, args).await,
                    Command::ServeSql(args) => cmd::serve_sql::run(&store, args).await,
                    Command::Console(args) => cmd::console::run(&store, args).await,
                    Command::Users(args) => cmd::users::run(&store, args),
                    Command::Audit(args) => cmd::audit::run(&store, args).await,
                    Command::Bench(bench) => cmd::run_bench(&store, bench).await,
                    Command::Match(_)
                    | Command::Scheduler(_)
                    | Command::Executor(_)
                    | Command::Init => {
                        unreachable!("handled above")
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option index is the purge delay of the mimalloc that is linked: v3's default of
    /// 1,000 ms sits at no other index (a libmimalloc-sys upgrade that moves the enum fails
    /// here instead of silently setting another option), and `choose_purge_delay` sets it.
    #[test]
    fn purge_delay_option_is_the_one_the_nightly_verbs_shorten() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads and sets process-wide integer options of the allocator.
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(before, 1000, "not mimalloc v3's purge_delay default");
        let cli = Cli::try_parse_from(["tunggal", "maintain"]).expect("maintain parses");
        choose_purge_delay(&cli.command);
        let nightly = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(nightly, NIGHTLY_PURGE_DELAY_MS);
        let cli = Cli::try_parse_from(["tunggal", "sql", "SELECT 1"]).expect("sql parses");
        choose_purge_delay(&cli.command);
        let sql = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(sql, -1);
    }
}
