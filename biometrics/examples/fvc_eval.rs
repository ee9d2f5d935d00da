//! Runs the FVC verification protocol over a folder of ISO 19794-2 records named
//! `<finger>_<impression>.iso` and prints the accuracy report.
//!
//! `cargo run --release -p biometrics --example fvc_eval -- /work/shared/data/fvc2002/DB1_B`
//! (several folders may be given; each is reported on its own line). With `QUANTILES=1` it
//! also prints score quantiles (genuine p5 / p50, impostor p99 / p99.9 / max): the scale the
//! fusion calibration's knots rest on, to see whether a matcher change moved it.

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        eprintln!("usage: fvc_eval DIR [DIR…]");
        std::process::exit(2);
    }
    for dir in dirs {
        let templates = biometrics::eval::read_fvc_folder(std::path::Path::new(&dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        let t0 = std::time::Instant::now();
        match biometrics::eval::fvc_protocol(&templates) {
            Ok(r) => println!("{dir}: {r}  ({:.2}s)", t0.elapsed().as_secs_f64()),
            Err(e) => println!("{dir}: error: {e}"),
        }
        if std::env::var_os("QUANTILES").is_some() {
            let s = biometrics::eval::fvc_scores(&templates).expect("scores");
            let q = |v: &[f32], p: f64| {
                let mut v = v.to_vec();
                v.sort_by(f32::total_cmp);
                v[((v.len() - 1) as f64 * p).round() as usize]
            };
            println!(
                "  genuine p5 {:.4} p50 {:.4}; impostor p99 {:.4} p99.9 {:.4} max {:.4}",
                q(&s.genuine, 0.05),
                q(&s.genuine, 0.5),
                q(&s.impostor, 0.99),
                q(&s.impostor, 0.999),
                q(&s.impostor, 1.0)
            );
        }
    }
}
