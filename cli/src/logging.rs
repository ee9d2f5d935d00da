//! Log setup: human-readable lines (or one JSON object a line) on stderr, level from `-v` or
//! `RUST_LOG`.
//!
//! The one rule for everything logged anywhere in tunggal: no NIK, name or biometric. Logs
//! name packets by object path and enrollments by `enrollment_id`, never by person.
//!
//! Human lines carry colour only when stderr is a terminal and `NO_COLOR` is unset or empty, so
//! a log redirected to a file or a pipe holds no terminal escape codes.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colour only on a terminal, never with `NO_COLOR`).
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields` with `message`), for log
    /// shippers.
    Json,
}

/// Whether human lines may carry colour: stderr is a terminal and `NO_COLOR` is unset or empty.
fn use_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// Installs the global tracing subscriber; `verbose` counts `-v` flags.
pub fn init(verbose: u8, format: LogFormat) {
    // Our own crates log at the chosen level; the data stack (DataFusion, deltalake, object
    // store clients) only warns, unless RUST_LOG says otherwise.
    let ours = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let default = format!(
        "warn,tunggal={ours},biometrics={ours},lake={ours},ingest={ours},synth={ours},packet={ours},reference={ours},sql={ours},dedup={ours},adjudication={ours},personalization_export={ours},cluster={ours},nightly={ours},evaluation={ours},tunggal_sql={ours}"
    );
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => builder.with_ansi(use_colour()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}
