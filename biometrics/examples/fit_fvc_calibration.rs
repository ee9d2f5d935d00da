//! `fit_fvc_calibration DIR`: fits the fingerprint [`biometrics::fusion::Calibration`] on the
//! FVC genuine/impostor scores of a folder of `<finger>_<impression>.iso` records and prints
//! the knots (named apart from synth's `fit_calibration`: cargo warns when two examples of a
//! workspace share a name, as their outputs would collide). The defaults now come from
//! synthetic distributions (`cargo run --release -p synth --example fit_calibration`, which
//! also runs this FVC2002 DB1_B fit as a cross-check).

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: fit_fvc_calibration DIR");
    let templates =
        biometrics::eval::read_fvc_folder(std::path::Path::new(&dir)).expect("readable folder");
    let s = biometrics::eval::fvc_scores(&templates).expect("valid templates");
    let c = biometrics::fusion::Calibration::fit(&s.genuine, &s.impostor);
    let knots: Vec<String> = c
        .knots
        .iter()
        .map(|(x, y)| format!("({x:.4}, {y:.3})"))
        .collect();
    println!("&[{}]", knots.join(", "));
}
