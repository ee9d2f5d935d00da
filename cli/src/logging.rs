//! Log setup: human-readable lines on stderr, level from `-v` or `RUST_LOG`.
//!
//! The one rule for everything logged anywhere in tunggal: no NIK, name or biometric. Logs
//! name packets by object path and enrollments by `enrollment_id`, never by person.

use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber; `verbose` counts `-v` flags.
pub fn init(verbose: u8) {
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
