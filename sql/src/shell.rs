//! The interactive shell of `tunggal sql`: statements end with `;` and may span lines;
//! backslash commands describe the tables; every statement prints its run time.
//!
//! Line editing and history come from rustyline; the history file is
//! `$TUNGGAL_SQL_HISTORY` or `~/.tunggal_sql_history`, written only for an interactive
//! terminal (it holds the queries typed, which may name NIKs, like any SQL client's history).
//! Everything the shell does with a line lives in [`Shell::handle`], which tests drive
//! without a terminal.
//!
//! | command | does |
//! | --- | --- |
//! | `\d` | lists every table with its one-line summary from docs/tables.md |
//! | `\d TABLE` | prints the table's entry of docs/tables.md (columns and their meaning) |
//! | `\saved` | lists the saved queries |
//! | `\saved NAME [k=v …]` | runs a saved query |
//! | `\format table\|csv\|json` | changes the output format |
//! | `\?` | help |
//! | `\q` | quits (so does Ctrl-D) |

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::{catalog, saved, Format, Session, SqlError};

const HELP: &str = "\
Statements end with ';' and may span lines. Commands:
  \\d              list tables
  \\d TABLE        columns of TABLE and what they mean (docs/tables.md)
  \\saved          list saved queries
  \\saved NAME k=v run a saved query with parameters
  \\format FORMAT  table, csv or json
  \\?              this help
  \\q              quit (or Ctrl-D)";

/// Whether the shell goes on after a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// The user asked to quit.
    Quit,
}

/// The shell's state between lines: the session, the output format and the statement being
/// typed.
pub struct Shell<'a> {
    session: &'a Session,
    format: Format,
    pending: String,
}

impl<'a> Shell<'a> {
    /// A shell over `session`, printing results in `format`.
    pub fn new(session: &'a Session, format: Format) -> Shell<'a> {
        Shell {
            session,
            format,
            pending: String::new(),
        }
    }

    /// The prompt for the next line: `tunggal> `, or `     ..> ` inside a statement.
    pub fn prompt(&self) -> &'static str {
        if self.pending.trim().is_empty() {
            "tunggal> "
        } else {
            "     ..> "
        }
    }

    /// Handles one line of input, writing results and errors to `out`. A query error is
    /// printed, not returned: the shell goes on.
    pub async fn handle(&mut self, line: &str, out: &mut dyn Write) -> Result<Flow, SqlError> {
        let trimmed = line.trim();
        if self.pending.trim().is_empty() && trimmed.starts_with('\\') {
            return self.command(trimmed, out).await;
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        if trimmed.ends_with(';') {
            self.finish(out).await?;
        }
        Ok(Flow::Continue)
    }

    /// Runs whatever statement is still pending (at end of input).
    pub async fn finish(&mut self, out: &mut dyn Write) -> Result<(), SqlError> {
        let sql = std::mem::take(&mut self.pending);
        if sql.trim().is_empty() {
            return Ok(());
        }
        self.execute(&sql, out).await
    }

    /// Drops the statement being typed (Ctrl-C).
    pub fn cancel(&mut self) {
        self.pending.clear();
    }

    async fn execute(&self, sql: &str, out: &mut dyn Write) -> Result<(), SqlError> {
        let started = Instant::now();
        match self.session.run_script(sql).await {
            Ok(results) => {
                for result in &results {
                    result.write(self.format, out)?;
                }
                let rows: usize = results.iter().map(|r| r.num_rows()).sum();
                writeln!(
                    out,
                    "({rows} row{}, {:.3} s)",
                    if rows == 1 { "" } else { "s" },
                    started.elapsed().as_secs_f64()
                )?;
            }
            Err(err) => writeln!(out, "error: {err}")?,
        }
        Ok(())
    }

    async fn command(&mut self, command: &str, out: &mut dyn Write) -> Result<Flow, SqlError> {
        let mut words = command.split_whitespace();
        let head = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match (head, args.as_slice()) {
            ("\\q", _) => return Ok(Flow::Quit),
            ("\\?" | "\\h" | "\\help", _) => writeln!(out, "{HELP}")?,
            ("\\d", []) => writeln!(out, "{}", self.table_list())?,
            ("\\d", [name]) => writeln!(out, "{}", self.describe(name).await)?,
            ("\\saved", []) => write!(out, "{}", saved::listing())?,
            ("\\saved", [name, params @ ..]) => {
                let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
                let bound = saved::parse_params(&params)
                    .and_then(|p| saved::get(name).and_then(|q| q.bind(&p)));
                match bound {
                    Ok(sql) => self.execute(&sql, out).await?,
                    Err(err) => writeln!(out, "error: {err}")?,
                }
            }
            ("\\format", [name]) => match name.parse::<Format>() {
                Ok(Format::Parquet) => {
                    writeln!(out, "error: parquet is written to a file: use --out")?
                }
                Ok(format) => self.format = format,
                Err(err) => writeln!(out, "error: {err}")?,
            },
            _ => writeln!(out, "unknown command {command:?}; \\? lists the commands")?,
        }
        Ok(Flow::Continue)
    }

    /// `\d`: every registered table with its summary from docs/tables.md.
    fn table_list(&self) -> String {
        let docs = catalog::tables();
        let names = self.session.table_names();
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
        names
            .iter()
            .map(|name| {
                let summary = docs
                    .iter()
                    .find(|d| &d.name == name)
                    .map_or("(not in docs/tables.md)", |d| d.summary.as_str());
                format!("{name:width$}  {summary}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `\d TABLE`: the table's entry of docs/tables.md, or its bare schema when undocumented.
    async fn describe(&self, name: &str) -> String {
        if let Some(doc) = catalog::table(name) {
            return doc.text;
        }
        if !self.session.table_names().iter().any(|n| n == name) {
            return format!("no table {name:?}; \\d lists them");
        }
        let schema = self
            .session
            .context()
            .table_provider(name)
            .await
            .map(|t| t.schema());
        match schema {
            Ok(schema) => schema
                .fields()
                .iter()
                .map(|f| format!("{}  {}", f.name(), f.data_type()))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(err) => format!("error: {err}"),
        }
    }
}

/// Where the shell keeps its history.
pub fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TUNGGAL_SQL_HISTORY") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".tunggal_sql_history"))
}

/// Runs the interactive shell on the terminal (or on piped standard input) until `\q` or
/// end of input.
pub async fn run(session: &Session, format: Format) -> Result<(), SqlError> {
    use rustyline::error::ReadlineError;
    use std::io::IsTerminal;

    let interactive = std::io::stdin().is_terminal();
    let mut editor = rustyline::DefaultEditor::new()
        .map_err(|e| SqlError::Io(std::io::Error::other(e.to_string())))?;
    let history = history_path().filter(|_| interactive);
    if let Some(path) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    if interactive {
        println!(
            "tunggal sql: {} tables; \\d lists them, \\? helps, \\q quits",
            session.table_names().len()
        );
    }
    let mut shell = Shell::new(session, format);
    let stdout = std::io::stdout();
    loop {
        match editor.readline(shell.prompt()) {
            Ok(line) => {
                if interactive && !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let mut out = stdout.lock();
                let flow = shell.handle(&line, &mut out).await?;
                out.flush()?;
                if flow == Flow::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => shell.cancel(),
            Err(ReadlineError::Eof) => {
                let mut out = stdout.lock();
                shell.finish(&mut out).await?;
                out.flush()?;
                break;
            }
            Err(err) => return Err(SqlError::Io(std::io::Error::other(err.to_string()))),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn session() -> (tempfile::TempDir, Session) {
        let dir = tempfile::tempdir().unwrap();
        let store = lake::Store::open_folder(dir.path()).unwrap();
        let session = Session::open(&store, crate::Access::Analyst).await.unwrap();
        (dir, session)
    }

    async fn feed(shell: &mut Shell<'_>, lines: &[&str]) -> String {
        let mut out = Vec::new();
        for line in lines {
            shell.handle(line, &mut out).await.unwrap();
        }
        shell.finish(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn a_statement_may_span_lines_and_prints_its_time() {
        let (_dir, session) = session().await;
        let mut shell = Shell::new(&session, Format::Csv);
        let text = feed(&mut shell, &["SELECT 1 + 1", "  AS two;"]).await;
        assert!(text.starts_with("two\n2\n"), "{text}");
        assert!(text.contains("(1 row, "), "{text}");
    }

    #[tokio::test]
    async fn backslash_d_lists_tables_and_describes_one_from_the_docs() {
        let (_dir, session) = session().await;
        let mut shell = Shell::new(&session, Format::Table);
        let text = feed(&mut shell, &["\\d"]).await;
        assert!(
            text.contains("packets") && text.contains("identity_status"),
            "{text}"
        );
        let text = feed(&mut shell, &["\\d packets"]).await;
        assert_eq!(text.trim_end(), catalog::table("packets").unwrap().text);
        let text = feed(&mut shell, &["\\d nothing"]).await;
        assert!(text.contains("no table"), "{text}");
    }

    #[tokio::test]
    async fn errors_are_printed_and_the_shell_goes_on() {
        let (_dir, session) = session().await;
        let mut shell = Shell::new(&session, Format::Csv);
        let text = feed(&mut shell, &["SELECT * FROM nowhere;", "SELECT 3 AS x;"]).await;
        assert!(
            text.contains("error: ") && text.contains("nowhere"),
            "{text}"
        );
        assert!(text.contains("x\n3\n"), "{text}");
        let mut out = Vec::new();
        assert_eq!(shell.handle("\\q", &mut out).await.unwrap(), Flow::Quit);
    }

    #[tokio::test]
    async fn the_shell_refuses_to_write_the_lake() {
        let (_dir, session) = session().await;
        let mut shell = Shell::new(&session, Format::Csv);
        let text = feed(&mut shell, &["DELETE FROM packets;"]).await;
        assert!(text.contains("error: "), "{text}");
    }
}
