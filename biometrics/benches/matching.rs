//! Comparison rates per core: fingerprint 1:1 on prepared FVC2002 DB1 templates, iris with and
//! without rotation search beside a raw popcount loop (the hardware limit), and fused person
//! comparisons. Template preparation is outside the comparison loops and timed on its own,
//! beside parsing the ISO records alone (its floor).
//!
//! After the criterion groups, a `summary` prints each figure beside its goal or limit,
//! measured in the same run (best of several short rounds, one thread).
//! Run: `cargo bench -p biometrics --bench matching` (filter: `-- finger`, `-- summary`, …).

use biometrics::finger::{compare, prepare, FingerTemplate};
use biometrics::fusion::{compare_persons, Fusion, PersonTemplate};
use biometrics::iris::{self, Eye, IrisCode, ShiftedIris};
use biometrics::iso19794;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn fvc_templates() -> Vec<FingerTemplate> {
    fvc_views()
        .iter()
        .map(|(v, rx, ry)| prepare(v, *rx, *ry))
        .collect()
}

/// The raw ISO records of `FVC_DIR` (default FVC2002 DB1_B), in file-name order.
fn fvc_records() -> Vec<Vec<u8>> {
    let dir = std::env::var("FVC_DIR").unwrap_or_else(|_| "/work/shared/data/fvc2002/DB1_B".into());
    biometrics::eval::read_fvc_folder(std::path::Path::new(&dir))
        .unwrap()
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect()
}

fn fvc_views() -> Vec<(iso19794::FingerView, u16, u16)> {
    fvc_records()
        .iter()
        .map(|r| {
            let rec = iso19794::parse(r).unwrap();
            (rec.views[0].clone(), rec.res_x, rec.res_y)
        })
        .collect()
}

fn random_iris(rng: &mut ChaCha8Rng, eye: Eye) -> IrisCode {
    IrisCode {
        eye,
        quality: 0,
        code: std::array::from_fn(|_| rng.gen()),
        mask: std::array::from_fn(|_| rng.gen::<u64>() | rng.gen::<u64>() | rng.gen::<u64>()),
    }
}

fn finger(c: &mut Criterion) {
    let t = fvc_templates();
    let pairs: Vec<(usize, usize)> = (0..t.len())
        .flat_map(|i| (0..t.len()).map(move |j| (i, j)))
        .filter(|(i, j)| i < j)
        .step_by(7)
        .collect();
    let mut g = c.benchmark_group("finger");
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("compare_fvc2002_db1", |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|&(i, j)| compare(black_box(&t[i]), black_box(&t[j])))
                .sum::<f32>()
        })
    });
    // Building the in-memory form (cylinders, pairwise geometry) once per template, as on
    // loading a gallery from its stored form; beside it, parsing the ISO records alone.
    let views = fvc_views();
    let records = fvc_records();
    g.throughput(Throughput::Elements(views.len() as u64));
    g.bench_function("parse_iso_fvc2002_db1", |b| {
        b.iter(|| {
            records
                .iter()
                .map(|r| iso19794::parse(black_box(r)).unwrap().views.len())
                .sum::<usize>()
        })
    });
    g.bench_function("prepare_fvc2002_db1", |b| {
        b.iter(|| {
            views
                .iter()
                .map(|(v, rx, ry)| prepare(black_box(v), *rx, *ry).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn iris(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let gallery: Vec<IrisCode> = (0..1000)
        .map(|_| random_iris(&mut rng, Eye::Left))
        .collect();
    let probe = random_iris(&mut rng, Eye::Left);
    let shifted = ShiftedIris::new(&probe, iris::DEFAULT_MAX_SHIFT);
    let unshifted = ShiftedIris::new(&probe, 0);
    let raw: Vec<u8> = gallery.iter().flat_map(|g| g.to_bytes()).collect();
    let probe_raw = probe.to_bytes();
    let mut g = c.benchmark_group("iris");
    g.throughput(Throughput::Elements(gallery.len() as u64));
    g.bench_function("compare_shift8_probe_precomputed", |b| {
        b.iter(|| {
            gallery
                .iter()
                .map(|x| shifted.compare(black_box(x)).hd_norm)
                .sum::<f32>()
        })
    });
    g.bench_function("compare_shift8_from_scratch", |b| {
        b.iter(|| {
            gallery
                .iter()
                .map(|x| iris::compare(black_box(&probe), x, 8).hd_norm)
                .sum::<f32>()
        })
    });
    g.bench_function("compare_no_rotation", |b| {
        b.iter(|| {
            gallery
                .iter()
                .map(|x| unshifted.compare(black_box(x)).hd_norm)
                .sum::<f32>()
        })
    });
    // The hardware limit: masked XOR popcount straight over the stored 528-byte records.
    g.bench_function("raw_popcount_528_byte_records", |b| {
        b.iter(|| raw_popcount(black_box(&probe_raw), &raw))
    });
    g.finish();
}

fn person(c: &mut Criterion) {
    let t = fvc_templates();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // Ten fingers (FVC templates stand in) and two irises per person.
    let people: Vec<PersonTemplate> = (0..8)
        .map(|k| PersonTemplate {
            fingers: std::array::from_fn(|f| Some(t[(k * 10 + f) % t.len()].clone())),
            irises: [
                Some(random_iris(&mut rng, Eye::Right)),
                Some(random_iris(&mut rng, Eye::Left)),
            ],
        })
        .collect();
    let fusion = Fusion::default();
    let mut g = c.benchmark_group("person");
    g.throughput(Throughput::Elements(28));
    g.bench_function("fused_10_fingers_2_irises", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for i in 0..people.len() {
                for j in i + 1..people.len() {
                    s += compare_persons(black_box(&people[i]), &people[j], &fusion).llr;
                }
            }
            s
        })
    });
    g.finish();
}

/// Operations per second of `f` (which performs `n` operations), best of `rounds` rounds of
/// at least 200 ms each: the least disturbed round on a shared machine.
fn rate(n: usize, rounds: usize, mut f: impl FnMut() -> f32) -> f64 {
    let mut best = 0f64;
    for _ in 0..rounds {
        let t = Instant::now();
        let mut reps = 0;
        while t.elapsed().as_millis() < 200 {
            black_box(f());
            reps += 1;
        }
        best = best.max((reps * n) as f64 / t.elapsed().as_secs_f64());
    }
    best
}

/// Whether the command line's filter (if any) selects the summary.
fn summary_selected() -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| "summary".contains(f.as_str()))
}

/// Each figure beside its goal or limit, measured here in one run.
fn summary(_: &mut Criterion) {
    if !summary_selected() {
        return;
    }
    let records = fvc_records();
    let views = fvc_views();
    let t = fvc_templates();
    let pairs: Vec<(usize, usize)> = (0..t.len())
        .flat_map(|i| (i + 1..t.len()).map(move |j| (i, j)))
        .collect();
    let cmp = rate(pairs.len(), 5, || {
        pairs.iter().map(|&(i, j)| compare(&t[i], &t[j])).sum()
    });
    let prep = rate(views.len(), 5, || {
        views
            .iter()
            .map(|(v, rx, ry)| prepare(v, *rx, *ry).len() as f32)
            .sum()
    });
    let parse = rate(records.len(), 5, || {
        records
            .iter()
            .map(|r| iso19794::parse(r).unwrap().views.len() as f32)
            .sum()
    });
    let parse_prep = rate(records.len(), 5, || {
        records
            .iter()
            .map(|r| {
                let rec = iso19794::parse(r).unwrap();
                prepare(&rec.views[0], rec.res_x, rec.res_y).len() as f32
            })
            .sum()
    });
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let gallery: Vec<IrisCode> = (0..1000)
        .map(|_| random_iris(&mut rng, Eye::Left))
        .collect();
    let probe = random_iris(&mut rng, Eye::Left);
    let unshifted = ShiftedIris::new(&probe, 0);
    let shifted = ShiftedIris::new(&probe, iris::DEFAULT_MAX_SHIFT);
    let raw: Vec<u8> = gallery.iter().flat_map(|g| g.to_bytes()).collect();
    let probe_raw = probe.to_bytes();
    let iris0 = rate(gallery.len(), 5, || {
        gallery.iter().map(|x| unshifted.compare(x).hd_norm).sum()
    });
    let iris8 = rate(gallery.len(), 5, || {
        gallery.iter().map(|x| shifted.compare(x).hd_norm).sum()
    });
    let popcount = rate(gallery.len(), 5, || raw_popcount(&probe_raw, &raw));
    let rotations = 2 * iris::DEFAULT_MAX_SHIFT + 1;
    println!();
    println!(
        "summary (one thread, best of 5 rounds; FVC2002 DB1_B, all {} pairs)",
        pairs.len()
    );
    println!(
        "  finger 1:1, prepared     {cmp:>12.0} /s   goal 100,000 /s ({:.2}× of it); OpenAFIS ~40,000, SourceAFIS ~12,500",
        cmp / 100_000.0
    );
    println!(
        "  finger prepare           {prep:>12.0} /s   goal  10,000 /s ({:.2}× of it)",
        prep / 10_000.0
    );
    println!(
        "  ISO parse alone          {parse:>12.0} /s   (the floor of preparation: parse + prepare {parse_prep:.0} /s, {:.1}× slower than parsing)",
        parse / parse_prep
    );
    println!(
        "  raw masked popcount      {popcount:>12.0} /s   (iris limit: XOR + mask popcount over the 528-byte records)"
    );
    println!(
        "  iris, no rotation        {iris0:>12.0} /s   {:.2}× the raw popcount's time per record (goal ≤ 1.2×)",
        popcount / iris0
    );
    println!(
        "  iris, ±{} rotations       {iris8:>12.0} /s   {:.2}× the raw popcount's time per rotation (goal ≤ 1.2×)",
        iris::DEFAULT_MAX_SHIFT,
        popcount / (iris8 * rotations as f64)
    );
}

/// Masked XOR popcount straight over the stored 528-byte records: the iris hardware limit.
fn raw_popcount(p: &[u8], raw: &[u8]) -> f32 {
    raw.chunks_exact(528)
        .map(|r| {
            let (mut n, mut d) = (0u32, 0u32);
            for w in 0..32 {
                let word =
                    |buf: &[u8], o: usize| u64::from_le_bytes(buf[o..o + 8].try_into().unwrap());
                let m = word(p, 272 + 8 * w) & word(r, 272 + 8 * w);
                n += m.count_ones();
                d += ((word(p, 16 + 8 * w) ^ word(r, 16 + 8 * w)) & m).count_ones();
            }
            d as f32 / n.max(1) as f32
        })
        .sum()
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = finger, iris, person, summary }
criterion_main!(benches);
