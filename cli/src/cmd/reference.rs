//! `tunggal reference load`: takes new SIAK extracts and station registry files from
//! `reference/` in the store into the lake's reference tables (`lake::reference::load`), once
//! each, under the nightly lock. Ingest (and so `nightly`) runs the same load before it
//! checks packets; this verb is for loading a new extract ahead of the night.

use anyhow::Result;

/// Flags of `tunggal reference`.
#[derive(clap::Args, Debug)]
pub struct ReferenceArgs {
    /// What to do with the reference data.
    #[command(subcommand)]
    pub command: ReferenceCommand,
}

/// The `tunggal reference` verbs.
#[derive(clap::Subcommand, Debug)]
pub enum ReferenceCommand {
    /// Load every file under reference/siak/ and reference/stations/ not loaded yet (by name
    /// and SHA-256) into resident_history / station_history; corrections and retirements are
    /// appended as history. Loading the same files again changes nothing.
    Load(LoadArgs),
}

/// Flags of `tunggal reference load`.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub lock: super::lock::LockArgs,
}

/// Runs a `tunggal reference` verb and prints its summary.
pub async fn run(store: &lake::Store, args: &ReferenceArgs) -> Result<()> {
    match &args.command {
        ReferenceCommand::Load(load) => {
            let _lock = load.lock.hold(store)?;
            let summary = lake::reference::load(store).await?;
            for path in &summary.files_loaded {
                println!("loaded {path}");
            }
            println!("{summary}");
            Ok(())
        }
    }
}
