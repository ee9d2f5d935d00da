//! `tunggal init`: create an empty store, the one explicit way besides `synth` to make one.
//!
//! Every other verb refuses a location without a store (`lake::Store::open_existing`), so a
//! command run in the wrong folder says so instead of answering from empty tables.

use anyhow::Result;

/// Creates the store layout at `location` (safe on an existing store) and says what it did.
pub async fn run(location: &str) -> Result<()> {
    let (store, new) = lake::Store::init(location).await?;
    if new {
        println!(
            "created an empty tunggal store at {}\n  stations upload to landing/<site>/<date>/; \
             the SIAK extract and station registry go in reference/; `tunggal nightly` \
             does the rest",
            store.url()
        );
    } else {
        println!(
            "a tunggal store is already at {}: nothing to do",
            store.url()
        );
    }
    Ok(())
}
