//! `tunggal audit verify`: checks the adjudication audit trail's hash chain in the case store
//! and in the lake, and that the two agree (see `adjudication::lakeview::verify_audit`).

use anyhow::{bail, Result};

use super::console::CaseDbArg;

/// `tunggal audit …`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    #[command(flatten)]
    pub case_db: CaseDbArg,
}

/// What to do with the audit trail.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Detect deleted or edited audit rows: exit 0 when both chains hold and agree, 1 with
    /// the problems listed otherwise; prints the chain's head hash to keep elsewhere.
    Verify,
}

/// Runs one audit command.
pub async fn run(store: &lake::Store, args: &AuditArgs) -> Result<()> {
    match args.command {
        AuditCommand::Verify => {
            let cases = adjudication::CaseStore::open(&args.case_db.path(store))?;
            let (local, in_lake) = adjudication::lakeview::verify_audit(store, &cases).await?;
            for (place, report) in [("case store", &local), ("lake", &in_lake)] {
                let head = report
                    .head
                    .as_ref()
                    .map_or_else(|| "none".to_string(), |(seq, hash)| format!("{seq} {hash}"));
                println!(
                    "{place}: {} rows ({} before the chain), head {head}",
                    report.rows, report.unchained
                );
                for problem in &report.problems {
                    println!("{place}: PROBLEM: {problem}");
                }
            }
            let problems = local.problems.len() + in_lake.problems.len();
            if problems > 0 {
                bail!("the audit trail was tampered with: {problems} problem(s)");
            }
            println!("audit trail intact");
        }
    }
    Ok(())
}
