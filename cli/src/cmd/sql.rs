//! `tunggal sql`: DataFusion SQL over the lake tables — one query, a file of statements, a
//! saved query, or (with none of those) the interactive shell.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// Flags of `tunggal sql`.
#[derive(clap::Args, Debug)]
pub struct SqlArgs {
    /// The SQL statement (tables listed by `--help`). With no query, no -f and no --saved:
    /// the interactive shell.
    #[arg(long_help = query_help())]
    pub query: Option<String>,

    /// Run the statements of this file (separated by `;`) instead.
    #[arg(short = 'f', long = "file", conflicts_with = "query")]
    pub file: Option<PathBuf>,

    /// Run the saved query NAME (sql/saved/NAME.sql); without NAME, list the saved queries.
    #[arg(long, num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["query", "file"])]
    pub saved: Option<String>,

    /// A parameter of the saved query, `name=value` (repeatable), e.g. `--param region=33.74`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,

    /// Output format: an aligned table, CSV with a header row, a JSON array of objects, or
    /// Parquet (with --out).
    #[arg(long, default_value = "table")]
    pub format: sql::Format,

    /// Write the result to this file instead of standard output (required for parquet).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The long help of the query argument, with every table a query can name: the lake tables
/// from `lake::Table::ALL` and the views over them (so a new table is listed without editing
/// this), then the reference tables.
fn query_help() -> String {
    let mut lake: Vec<&str> = lake::Table::ALL.iter().map(|t| t.name()).collect();
    lake.extend(lake::tables::VIEWS.iter().map(|(name, _)| *name));
    lake.sort_unstable();
    let reference = [
        lake::reference::REGIONS,
        lake::reference::RESIDENTS,
        lake::reference::STATIONS,
    ];
    format!(
        "The SQL statement. With no query, no -f and no --saved: the interactive shell.\n\n\
         Lake tables: {}.\nReference tables: {}.",
        lake.join(", "),
        reference.join(", ")
    )
}

/// Runs the query, file, saved query or shell and prints the result; a bad query is an error
/// with DataFusion's message (the binary exits non-zero).
pub async fn run(store: &lake::Store, args: &SqlArgs) -> Result<()> {
    if args.format == sql::Format::Parquet && args.out.is_none() {
        bail!("--format parquet writes a file: give it with --out FILE");
    }
    if !args.params.is_empty() && args.saved.as_deref().is_none_or(str::is_empty) {
        bail!("--param is for saved queries: use it with --saved NAME");
    }
    let script = match (&args.query, &args.file, &args.saved) {
        (_, _, Some(name)) if name.is_empty() => {
            print!("{}", sql::saved::listing());
            return Ok(());
        }
        (_, _, Some(name)) => {
            let params: BTreeMap<String, String> = sql::saved::parse_params(&args.params)?;
            sql::saved::get(name)?.bind(&params)?
        }
        (Some(query), _, _) => query.clone(),
        (None, Some(file), _) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?,
        (None, None, None) => {
            let session = sql::Session::open(store, sql::Access::Analyst).await?;
            let format = match args.format {
                sql::Format::Parquet => sql::Format::Table,
                other => other,
            };
            sql::shell::run(&session, format).await?;
            return Ok(());
        }
    };
    let session = sql::Session::open(store, sql::Access::Analyst).await?;
    let results = session.run_script(&script).await?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    if args.format == sql::Format::Parquet && results.len() > 1 {
        bail!("--format parquet holds one result: give one statement");
    }
    for result in &results {
        result.write(args.format, &mut *out)?;
    }
    out.flush()?;
    Ok(())
}
