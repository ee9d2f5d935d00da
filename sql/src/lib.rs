//! The SQL front end over the lake: DataFusion SQL against every lake and reference table,
//! the analysts' saved queries, the interactive shell and the Arrow Flight SQL server.
//!
//! - [`query`] / [`Session`]: run SQL over [`lake::sql_context`]; results print as a table,
//!   CSV, JSON or Parquet ([`render`]).
//! - [`saved`]: the documented `sql/saved/*.sql` files, embedded, with `$param` binding.
//! - [`catalog`]: docs/tables.md cut into one entry per table, for the shell's `\d`.
//! - [`shell`]: the interactive shell of `tunggal sql` (history, line editing, timing).
//! - [`flight`]: `tunggal serve-sql`, Arrow Flight SQL for BI tools, authenticated, read-only,
//!   limited and audited; [`policy`]: which role reads which tables and columns over it.
//!
//! The one idea to hold in mind: nothing here writes the lake. Every statement is checked
//! against an [`Access`] level before it runs: analysts' sessions may define in-memory views
//! but never insert, update or copy; the Flight SQL server runs queries and nothing else.

pub mod catalog;
pub mod flight;
pub mod policy;
mod render;
pub mod saved;
pub mod shell;
pub mod tls;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;
use thiserror::Error;

pub use render::{render, Format};

/// What can go wrong running or printing a query.
#[derive(Debug, Error)]
pub enum SqlError {
    /// The store or a lake table could not be opened.
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    /// DataFusion refused or failed the query; the message is DataFusion's.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// The result could not be formatted.
    #[error("cannot format result: {0}")]
    Format(#[from] arrow::error::ArrowError),
    /// The result could not be written as Parquet.
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    /// A saved query or its parameters are wrong.
    #[error(transparent)]
    Saved(#[from] saved::SavedError),
    /// The text holds no SQL statement, or more than one where one is expected.
    #[error("{0}")]
    Statements(String),
}

/// What a session may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// An analyst at the shell: queries, `SET`, and in-memory views (`CREATE VIEW`); never
    /// `INSERT`, `UPDATE`, `DELETE` or `COPY` (the lake is written by the nightly job only).
    Analyst,
    /// A remote client (Flight SQL): queries only.
    QueryOnly,
}

impl Access {
    fn options(self) -> SQLOptions {
        match self {
            Access::Analyst => SQLOptions::new().with_allow_dml(false),
            Access::QueryOnly => SQLOptions::new()
                .with_allow_dml(false)
                .with_allow_ddl(false)
                .with_allow_statements(false),
        }
    }
}

/// The result of one query: its schema (kept so an empty result still prints its header)
/// and its rows.
#[derive(Clone, Debug)]
pub struct QueryResult {
    /// Column names and types of the result.
    pub schema: SchemaRef,
    /// The rows, in DataFusion's batches.
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Writes the result to `out` in `format` (see [`render`]).
    pub fn write(&self, format: Format, out: &mut dyn std::io::Write) -> Result<(), SqlError> {
        render(&self.batches, &self.schema, format, out)
    }
}

/// A DataFusion session over one store: every lake table (`packets`, `enrollments`,
/// `fingerprints`, `irises`, `runs`, `match_candidates`, `clusters`, `identity_status`,
/// `decisions`, `personalization_jobs`) and the reference tables (`regions`, `residents`,
/// `stations`), as of the moment it was opened.
pub struct Session {
    ctx: SessionContext,
    access: Access,
}

impl Session {
    /// Opens the tables of `store` (reading the reference extracts once).
    pub async fn open(store: &lake::Store, access: Access) -> Result<Session, SqlError> {
        Ok(Session {
            ctx: lake::sql_context(store).await?,
            access,
        })
    }

    /// A remote client's session: queries only ([`Access::QueryOnly`]), in the server's
    /// `runtime` (its memory pool), over only what `grant` permits ([`policy::restrict`]).
    pub async fn open_restricted(
        store: &lake::Store,
        runtime: std::sync::Arc<datafusion::execution::runtime_env::RuntimeEnv>,
        grant: &policy::Grant,
    ) -> Result<Session, SqlError> {
        let ctx = lake::sql_context_in(store, runtime).await?;
        policy::restrict(&ctx, grant).await?;
        Ok(Session {
            ctx,
            access: Access::QueryOnly,
        })
    }

    /// The DataFusion context, e.g. to list tables or plan without running.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Names of the registered tables, sorted.
    pub fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .map(|s| s.table_names())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Plans one statement, refusing what the session's [`Access`] forbids; returns the
    /// DataFrame ready to run (its schema is known without running it).
    pub async fn plan(&self, sql: &str) -> Result<datafusion::dataframe::DataFrame, SqlError> {
        let mut statements = DFParser::parse_sql(sql)?;
        let statement = match (statements.pop_front(), statements.is_empty()) {
            (Some(s), true) => s,
            (None, _) => return Err(SqlError::Statements("no SQL statement given".into())),
            (Some(_), false) => {
                return Err(SqlError::Statements(
                    "one statement at a time, please (got several)".into(),
                ))
            }
        };
        self.plan_statement(statement).await
    }

    async fn plan_statement(
        &self,
        statement: datafusion::sql::parser::Statement,
    ) -> Result<datafusion::dataframe::DataFrame, SqlError> {
        let plan = self.ctx.state().statement_to_plan(statement).await?;
        self.access.options().verify_plan(&plan)?;
        Ok(self.ctx.execute_logical_plan(plan).await?)
    }

    /// Runs one statement and collects its rows.
    pub async fn run(&self, sql: &str) -> Result<QueryResult, SqlError> {
        collect(self.plan(sql).await?).await
    }

    /// Runs every `;`-separated statement of `script` in order (as parsed by DataFusion's SQL
    /// parser, so a `;` inside a string is no separator); returns one result per statement.
    pub async fn run_script(&self, script: &str) -> Result<Vec<QueryResult>, SqlError> {
        let statements = DFParser::parse_sql(script)?;
        if statements.is_empty() {
            return Err(SqlError::Statements("no SQL statement given".into()));
        }
        let mut results = Vec::with_capacity(statements.len());
        for statement in statements {
            results.push(collect(self.plan_statement(statement).await?).await?);
        }
        Ok(results)
    }
}

async fn collect(frame: datafusion::dataframe::DataFrame) -> Result<QueryResult, SqlError> {
    let schema = frame.schema().inner().clone();
    let batches = frame.collect().await?;
    Ok(QueryResult { schema, batches })
}

/// Runs one SQL statement over every lake and reference table of `store`, as an analyst
/// (see [`Access::Analyst`]).
pub async fn query(store: &lake::Store, sql: &str) -> Result<QueryResult, SqlError> {
    Session::open(store, Access::Analyst).await?.run(sql).await
}
