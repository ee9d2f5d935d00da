//! Runs the FVC verification protocol over a folder of ISO 19794-2 records named
//! `<finger>_<impression>.iso` and prints the accuracy report.
//!
//! `cargo run --release -p biometrics --example fvc_eval -- /work/shared/data/fvc2002/DB1_B`
//! (several folders may be given; each is reported on its own line).

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        eprintln!("usage: fvc_eval DIR [DIR…]");
        std::process::exit(2);
    }
    for dir in dirs {
        let mut templates = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "iso"))
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            templates.push((name, std::fs::read(&p).unwrap()));
        }
        let t0 = std::time::Instant::now();
        match biometrics::eval::fvc_protocol(&templates) {
            Ok(r) => println!("{dir}: {r}  ({:.2}s)", t0.elapsed().as_secs_f64()),
            Err(e) => println!("{dir}: error: {e}"),
        }
    }
}
