//! Throughput benchmark of `synth::run`: writes one batch into a local folder and prints the
//! summary (packets/s). Re-run with
//! `cargo run --release -p synth --example synth_bench -- [PEOPLE] [FOLDER]`
//! (defaults: 10000 packets into a fresh temporary folder; FOLDER `memory` uses an in-memory
//! store to separate generation from disk cost).

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::ObjectStore;
use synth::{ProgressMode, SynthConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let people: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir()?;
    let folder = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let store: Box<dyn ObjectStore> = if folder.as_os_str() == "memory" {
        Box::new(InMemory::new())
    } else {
        std::fs::create_dir_all(&folder)?;
        Box::new(LocalFileSystem::new_with_prefix(&folder)?)
    };
    let mut config = SynthConfig::new(people, 2026);
    config.progress = ProgressMode::Log;
    let summary = synth::run(&config, store.as_ref(), &Path::from("")).await?;
    print!("{summary}");
    Ok(())
}
