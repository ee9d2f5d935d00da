//! The finger 1:1 rate of two versions of the matcher side by side (driven by
//! `scripts/ab-finger.py`): `bio_old` (the `biometrics` crate of an earlier revision) and
//! `biometrics` (the working tree), alternated round by round in one process, each round
//! timed in the thread's CPU time over all pairs of the FVC folder; the scores of both are
//! compared bit for bit first.
use std::path::Path;

/// CPU time of this thread in seconds (other processes on the machine do not count).
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("FVC folder");
    let rounds: usize = args.next().map_or(21, |a| a.parse().expect("rounds"));
    let records = biometrics::eval::read_fvc_folder(Path::new(&dir)).expect("FVC folder");
    // The same preparation through either crate (their template types differ).
    macro_rules! prepared {
        ($krate:ident) => {
            records
                .iter()
                .map(|(_, bytes)| {
                    let r = $krate::iso19794::parse(bytes).expect("ISO record");
                    $krate::finger::prepare(&r.views[0], r.res_x, r.res_y)
                })
                .collect::<Vec<_>>()
        };
    }
    let new = prepared!(biometrics);
    let old = prepared!(bio_old);
    let pairs: Vec<(usize, usize)> = (0..new.len())
        .flat_map(|i| (i + 1..new.len()).map(move |j| (i, j)))
        .collect();
    let differing = pairs
        .iter()
        .filter(|&&(i, j)| {
            let (x, y) = (
                bio_old::finger::compare(&old[i], &old[j]),
                biometrics::finger::compare(&new[i], &new[j]),
            );
            x.to_bits() != y.to_bits()
        })
        .count();
    println!(
        "{} templates, {} pairs; scores differing bit for bit: {differing}",
        new.len(),
        pairs.len()
    );
    let (mut best_old, mut best_new, mut ratios) = (0f64, 0f64, Vec::new());
    for _ in 0..rounds {
        let t0 = thread_cpu_seconds();
        let s0: f32 = pairs
            .iter()
            .map(|&(i, j)| bio_old::finger::compare(&old[i], &old[j]))
            .sum();
        let t1 = thread_cpu_seconds();
        let s1: f32 = pairs
            .iter()
            .map(|&(i, j)| biometrics::finger::compare(&new[i], &new[j]))
            .sum();
        let t2 = thread_cpu_seconds();
        std::hint::black_box((s0, s1));
        let (r_old, r_new) = (
            pairs.len() as f64 / (t1 - t0),
            pairs.len() as f64 / (t2 - t1),
        );
        best_old = best_old.max(r_old);
        best_new = best_new.max(r_new);
        ratios.push(r_new / r_old);
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    println!("| | comparisons/s/core (best of {rounds} rounds) |");
    println!("|---|---:|");
    println!("| old | {best_old:.0} |");
    println!("| new | {best_new:.0} |");
    println!(
        "new/old: {:.3} (best rounds), {:.3} (median of the {rounds} per-round ratios, range {:.3}–{:.3})",
        best_new / best_old,
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
}
