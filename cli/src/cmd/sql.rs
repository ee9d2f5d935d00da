//! `tunggal sql "QUERY" [--format table|csv|json]`: DataFusion SQL over the lake tables.

use std::io::Write;

use anyhow::Result;

/// Flags of `tunggal sql`.
#[derive(clap::Args, Debug)]
pub struct SqlArgs {
    /// The SQL statement; tables: packets, enrollments, fingerprints, irises, runs, regions,
    /// residents, stations.
    pub query: String,

    /// Output format: an aligned table, CSV with a header row, or a JSON array of objects.
    #[arg(long, default_value = "table")]
    pub format: sql::Format,
}

/// Runs the query and prints the result on stdout; a bad query is an error with
/// DataFusion's message (the binary exits non-zero).
pub async fn run(store: &lake::Store, args: &SqlArgs) -> Result<()> {
    let result = sql::query(store, &args.query).await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    result.write(args.format, &mut out)?;
    out.flush()?;
    Ok(())
}
