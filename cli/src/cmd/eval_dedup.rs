//! `tunggal eval dedup`: glue to [`evaluation::eval_dedup`].

use anyhow::Result;

/// Prints FNIR, FPIR and adjudication load against the store's synth truth.
pub async fn run(store: &lake::Store) -> Result<()> {
    let ev = evaluation::eval_dedup::evaluate(store).await?;
    println!("{ev}");
    Ok(())
}
