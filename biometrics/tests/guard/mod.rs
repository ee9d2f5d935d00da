//! The bit-exact guard's digests (shared by `finger_bit_exact` and
//! `finger_bit_exact_portable`): each function panics when a recorded digest does not match.

use biometrics::finger::{compare, explain, prepare, FingerTemplate};
use biometrics::iso19794::{self, FingerView};
use std::path::PathBuf;

fn fvc() -> PathBuf {
    match std::env::var_os("TUNGGAL_SHARED_DATA") {
        Some(p) => PathBuf::from(p).join("fvc2002"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fvc2002"),
    }
}

/// The templates of `views`, prepared at their records' resolutions.
fn prepared(views: &[(FingerView, u16, u16)]) -> Vec<FingerTemplate> {
    views
        .iter()
        .map(|(v, rx, ry)| prepare(v, *rx, *ry))
        .collect()
}

/// Every FVC2002 view with its resolutions, DB1..DB4 in file-name order.
fn views() -> Vec<(FingerView, u16, u16)> {
    let mut out = Vec::new();
    for db in ["DB1_B", "DB2_B", "DB3_B", "DB4_B"] {
        for (_, bytes) in biometrics::eval::read_fvc_folder(&fvc().join(db)).unwrap() {
            let rec = iso19794::parse(&bytes).unwrap();
            out.push((rec.views[0].clone(), rec.res_x, rec.res_y));
        }
    }
    assert_eq!(out.len(), 320, "the FVC2002 B sets hold 4 × 80 records");
    out
}

/// Templates derived from the real ones that reach edge cases: sparse, tiny and rescaled.
fn derived(views: &[(FingerView, u16, u16)]) -> Vec<FingerTemplate> {
    let mut out = Vec::new();
    for (k, (v, rx, ry)) in views.iter().enumerate() {
        let mut sparse = v.clone();
        sparse.minutiae = v.minutiae.iter().step_by(2).cloned().collect();
        out.push(prepare(&sparse, *rx, *ry));
        let mut tiny = v.clone();
        tiny.minutiae.truncate(3 + k % 10);
        out.push(prepare(&tiny, *rx, *ry));
        // Non-square and other resolutions: 500 dpi (0), 1000 dpi in x only.
        out.push(prepare(v, 0, *ry));
        out.push(prepare(v, 394, *ry));
    }
    out
}

/// FNV-1a over a stream of 32-bit words.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn word(&mut self, w: u32) {
        for b in w.to_le_bytes() {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn print() -> bool {
    std::env::var_os("GUARD_PRINT").is_some()
}

/// Prints the digest and count with `GUARD_PRINT` set (to record new ones), then checks both
/// against the recorded `want` (count, digest); `detail` is added to the message.
fn expect(what: &str, h: Fnv, count: (&str, usize), want: (usize, u64), detail: &str) {
    if print() {
        println!(
            "{what}: digest {:#018x}, {} {}{detail}",
            h.0, count.0, count.1
        );
    }
    assert_eq!(count.1, want.0, "{what}: {} changed", count.0);
    assert_eq!(h.0, want.1, "{what}: some value changed{detail}");
}

/// All 51,360 pairs (i ≤ j) of the 320 FVC2002 templates.
pub fn all_pairs() {
    let views = views();
    let t = prepared(&views);
    let mut h = Fnv::new();
    let (mut positive, mut sum) = (0usize, 0f64);
    for i in 0..t.len() {
        for j in i..t.len() {
            let s = compare(&t[i], &t[j]);
            h.word(s.to_bits());
            positive += (s > 0.0) as usize;
            sum += s as f64;
            if print() && i + 1 == j && i % 40 == 0 {
                println!("pair {i} {j}: {s:e}");
            }
        }
    }
    // 51,360 comparisons (i ≤ j), self-comparisons included.
    expect(
        "all FVC2002 pairs",
        h,
        ("positive", positive),
        (51_160, 0x9833_41cb_e696_0699),
        &format!(", sum {sum}"),
    );
}

/// Derived templates (sparse, tiny, rescaled) against originals and each other.
pub fn derived_edge_cases() {
    let views = views();
    let t = prepared(&views);
    let d = derived(&views);
    let mut h = Fnv::new();
    let mut positive = 0usize;
    // Each derived template against its own original, the next original, and the next
    // derived template; every pair in both orders (the matcher is exactly symmetric).
    for (k, x) in d.iter().enumerate() {
        let o = k / 4;
        for y in [&t[o], &t[(o + 1) % t.len()], &d[(k + 1) % d.len()]] {
            let s = compare(x, y);
            assert_eq!(s.to_bits(), compare(y, x).to_bits(), "derived {k}");
            h.word(s.to_bits());
            positive += (s > 0.0) as usize;
        }
    }
    expect(
        "derived templates",
        h,
        ("positive", positive),
        (3_682, 0xe82c_7419_73a9_64d4),
        "",
    );
}

/// Explanations of genuine and impostor neighbours.
pub fn explanations() {
    let views = views();
    let t = prepared(&views);
    let mut h = Fnv::new();
    let mut pairs = 0usize;
    // Genuine neighbours (impressions k and k+1 of a finger) and impostors (the same
    // impression of the next finger).
    for i in 0..t.len() {
        for j in [i + 1, i + 8] {
            let Some(b) = t.get(j) else { continue };
            let e = explain(&t[i], b);
            assert_eq!(e.score.to_bits(), compare(&t[i], b).to_bits());
            h.word(e.score.to_bits());
            for p in &e.pairs {
                h.word(p.a as u32);
                h.word(p.b as u32);
                h.word(p.contribution.to_bits());
            }
            pairs += e.pairs.len();
        }
    }
    expect(
        "explanations",
        h,
        ("pairs", pairs),
        (7_864, 0xb28e_11e2_2b20_63c8),
        "",
    );
}
