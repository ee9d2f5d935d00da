//! Comparison rates per core: fingerprint 1:1 on prepared FVC2002 DB1 templates, iris with and
//! without rotation search beside a raw popcount loop (the hardware limit), and fused person
//! comparisons. Template preparation is outside the comparison loops and timed on its own.
//! Run: `cargo bench -p biometrics`.

use biometrics::finger::{compare, prepare, FingerTemplate};
use biometrics::fusion::{compare_persons, Fusion, PersonTemplate};
use biometrics::iris::{self, Eye, IrisCode, ShiftedIris};
use biometrics::iso19794;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn fvc_templates() -> Vec<FingerTemplate> {
    fvc_views()
        .iter()
        .map(|(v, rx, ry)| prepare(v, *rx, *ry))
        .collect()
}

fn fvc_views() -> Vec<(iso19794::FingerView, u16, u16)> {
    let dir = std::env::var("FVC_DIR").unwrap_or_else(|_| "/work/shared/data/fvc2002/DB1_B".into());
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "iso"))
        .map(|p| {
            let rec = iso19794::parse(&std::fs::read(p).unwrap()).unwrap();
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
    // loading a gallery from its stored form.
    let views = fvc_views();
    g.throughput(Throughput::Elements(views.len() as u64));
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
        b.iter(|| {
            let p = black_box(&probe_raw);
            raw.chunks_exact(528)
                .map(|r| {
                    let (mut n, mut d) = (0u32, 0u32);
                    for w in 0..32 {
                        let word = |buf: &[u8], o: usize| {
                            u64::from_le_bytes(buf[o..o + 8].try_into().unwrap())
                        };
                        let m = word(p, 272 + 8 * w) & word(r, 272 + 8 * w);
                        n += m.count_ones();
                        d += ((word(p, 16 + 8 * w) ^ word(r, 16 + 8 * w)) & m).count_ones();
                    }
                    d as f32 / n.max(1) as f32
                })
                .sum::<f32>()
        })
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

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = finger, iris, person }
criterion_main!(benches);
