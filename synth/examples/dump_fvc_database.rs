//! Writes a synthetic FVC-shaped database as ISO 19794-2 records `<finger>_<impression>.iso`,
//! exactly the database `tunggal eval fvc --synthetic N --distortion MODEL --seed S` scores,
//! so the matcher can be tuned with the fast biometrics-only `fvc_eval` example on it.
//!
//! `cargo run --release -p synth --example dump_fvc_database -- DIR [fvc2004|live-scan] [FINGERS] [SEED]`
//! (defaults: fvc2004, 100 fingers, seed 2004; 8 impressions each).

use synth::finger::{fvc_database, Distortion};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: dump_fvc_database DIR [fvc2004|live-scan] [FINGERS] [SEED]");
        std::process::exit(2);
    };
    let model = match args.get(1).map(String::as_str).unwrap_or("fvc2004") {
        "fvc2004" => Distortion::FVC2004,
        "live-scan" => Distortion::LIVE_SCAN,
        other => panic!("unknown capture model {other}"),
    };
    let fingers = args.get(2).map_or(100, |s| s.parse().expect("FINGERS"));
    let seed = args.get(3).map_or(2004, |s| s.parse().expect("SEED"));
    std::fs::create_dir_all(dir).expect("create the dump folder");
    for (name, bytes) in fvc_database(fingers, 8, &model, seed) {
        std::fs::write(format!("{dir}/{name}.iso"), bytes).expect("write a record");
    }
}
