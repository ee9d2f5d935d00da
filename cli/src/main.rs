//! `tunggal` — the one binary of the e-KTP data center.
//!
//! The binary is deliberately thin (see STYLE.md, after ripgrep): it parses flags, opens the
//! object store named by `--store`, and hands over to a library crate. Every capability lives
//! in `biometrics`, `lake`, `synth`, `ingest` or `sql`, where tests can drive it without a CLI.

mod cmd;
mod logging;

use anyhow::Result;
use clap::{Parser, Subcommand};

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

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic country in miniature: SIAK extract, stations, packets, planted truth.
    Synth(cmd::synth::SynthArgs),
    /// Validate every packet in landing/ not yet recorded and commit it to the lake tables.
    Ingest(cmd::ingest::IngestArgs),
    /// The nightly job: every stage that exists, in order, safe to re-run.
    Nightly(cmd::nightly::NightlyArgs),
    /// Run DataFusion SQL over the lake tables.
    Sql(cmd::sql::SqlArgs),
    /// Compare two fingerprint templates, or a CSV of template pairs.
    Match(cmd::fingerprint::MatchArgs),
    /// Accuracy evaluations.
    #[command(subcommand)]
    Eval(cmd::fingerprint::EvalCommand),
    /// Benchmarks that print a table (performance is measured here, never in tests).
    #[command(subcommand)]
    Bench(cmd::BenchCommand),
}

fn main() {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    if let Err(err) = run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match &cli.command {
            Command::Match(args) => cmd::fingerprint::run_match(args),
            Command::Eval(eval) => cmd::fingerprint::run_eval(eval),
            command => {
                let store = lake::Store::open(&cli.store)?;
                match command {
                    Command::Synth(args) => cmd::synth::run(&store, args).await,
                    Command::Ingest(args) => cmd::ingest::run(&store, args).await,
                    Command::Nightly(args) => cmd::nightly::run(&store, args).await,
                    Command::Sql(args) => cmd::sql::run(&store, args).await,
                    Command::Bench(bench) => cmd::run_bench(&store, bench).await,
                    Command::Match(_) | Command::Eval(_) => unreachable!("handled above"),
                }
            }
        }
    })
}
