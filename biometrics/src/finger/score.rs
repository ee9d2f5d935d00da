//! The matching pipeline behind [`super::compare`] and [`super::explain`]: local similarity
//! matrix → LSS-R → consolidation into one score and the pairing it rests on.
//!
//! All working memory lives in a per-thread [`Scratch`] that is reused from one comparison to
//! the next, so a comparison allocates nothing once a thread has warmed up.

use std::cell::RefCell;
use std::cmp::Ordering;

use super::consolidate::{consolidate, ConsolidateScratch};
use super::local::similarity_matrix;
use super::params::{GLOBAL_EXPONENT, GLOBAL_SEEDS};
use super::relax::{relax, score_pairs, top_pairs, Pair, RelaxScratch};
use super::template::FingerTemplate;

/// Outcome of one comparison: the score and the pairs it was computed from, indices in the
/// caller's (a, b) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Similarity in [0, 1].
    pub score: f32,
    /// Paired minutiae with their contribution to the score.
    pub pairs: Vec<Pair>,
}

/// Reusable working memory of one comparison.
#[derive(Debug, Default)]
struct Scratch {
    sim: Vec<f32>,
    /// Each row's largest pair key (the greedy pairing's state).
    row_best: Vec<u64>,
    /// The greedy pairing's rows by best column.
    lists: Vec<u16>,
    used_b: Vec<bool>,
    pairs: Vec<Pair>,
    eff: Vec<f32>,
    order: Vec<u16>,
    seeds: Vec<Pair>,
    relax: RelaxScratch,
    cons: ConsolidateScratch,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The score alone, without building the pairing (the 1:N hot path).
pub fn score(a: &FingerTemplate, b: &FingerTemplate) -> f32 {
    let (a, b) = canonical(a, b).0;
    with_scratch(|s| run_ordered(a, b, false, s))
}

/// Runs the pipeline with the two sides in canonical order, so the result is symmetric.
pub fn run(a: &FingerTemplate, b: &FingerTemplate) -> Outcome {
    let ((x, y), swap) = canonical(a, b);
    with_scratch(|s| {
        let score = run_ordered(x, y, true, s);
        // Contributions: each consistent pair's share of the score, proportional to its
        // local similarity, so that they sum to the score.
        let total: f32 = s.cons.best.iter().map(|p| p.sim.max(1e-6)).sum();
        let pairs = s
            .cons
            .best
            .iter()
            .map(|p| {
                let (pa, pb) = if swap { (p.b, p.a) } else { (p.a, p.b) };
                Pair {
                    a: pa,
                    b: pb,
                    sim: score * p.sim.max(1e-6) / total,
                }
            })
            .collect();
        Outcome { score, pairs }
    })
}

/// The two sides in canonical order, and whether they were swapped.
fn canonical<'t>(
    a: &'t FingerTemplate,
    b: &'t FingerTemplate,
) -> ((&'t FingerTemplate, &'t FingerTemplate), bool) {
    if (b.points.len(), b.digest) < (a.points.len(), a.digest) {
        ((b, a), true)
    } else {
        ((a, b), false)
    }
}

fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Only reachable if a comparison were started from inside another one.
        Err(_) => f(&mut Scratch::default()),
    })
}

fn run_ordered(a: &FingerTemplate, b: &FingerTemplate, want_pairs: bool, s: &mut Scratch) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::avx512f() {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { run_ordered_avx512(a, b, want_pairs, s) };
    }
    run_ordered_body(a, b, want_pairs, s)
}

/// [`run_ordered`] compiled for AVX-512F: the vector loops of the relaxation and of the
/// consolidation's partner search run 16 lanes wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,popcnt")]
unsafe fn run_ordered_avx512(
    a: &FingerTemplate,
    b: &FingerTemplate,
    want_pairs: bool,
    s: &mut Scratch,
) -> f32 {
    run_ordered_body(a, b, want_pairs, s)
}

#[inline(always)]
fn run_ordered_body(
    a: &FingerTemplate,
    b: &FingerTemplate,
    want_pairs: bool,
    s: &mut Scratch,
) -> f32 {
    let (na, nb) = (a.points.len(), b.points.len());
    s.cons.best.clear();
    if na == 0 || nb == 0 {
        return 0.0;
    }
    similarity_matrix(a, b, &mut s.sim, &mut s.row_best);
    top_pairs(
        &s.sim,
        nb,
        na.min(nb),
        &mut s.row_best,
        &mut s.used_b,
        &mut s.lists,
        &mut s.pairs,
    );
    relax(a, b, &mut s.pairs, &mut s.eff, &mut s.relax);
    let np = score_pairs(na, nb);
    // The n_P most efficient pairs give the LSS-R score.
    s.order.clear();
    s.order.extend(0..s.pairs.len() as u16);
    let eff = &s.eff;
    sort_head(&mut s.order, np, want_pairs, |&x, &y| {
        eff[y as usize].total_cmp(&eff[x as usize]).then(x.cmp(&y))
    });
    let chosen: f32 = s
        .order
        .iter()
        .take(np)
        .map(|&i| s.pairs[i as usize].sim)
        .sum();
    let lss = (chosen / np as f32).clamp(0.0, 1.0);
    if lss == 0.0 && !want_pairs {
        // The score is LSS-R · global^e: nothing to consolidate.
        return 0.0;
    }
    s.seeds.clone_from(&s.pairs);
    sort_head(&mut s.seeds, GLOBAL_SEEDS, want_pairs, |x, y| {
        y.sim.total_cmp(&x.sim).then(x.a.cmp(&y.a))
    });

    let global = consolidate(a, b, &s.sim, &s.seeds, want_pairs, &mut s.cons);

    // Both stages must agree: the local evidence (LSS-R) scaled by the global consistency.
    (lss * global.powf(GLOBAL_EXPONENT)).clamp(0.0, 1.0)
}

/// Sorts the first `head` places of `v` by the total order `cmp` (all of `v` when `all`):
/// the rest holds the other elements in no particular order. With a total order the head
/// is the same as a full sort's.
#[inline(always)]
fn sort_head<T>(v: &mut [T], head: usize, all: bool, cmp: impl Fn(&T, &T) -> Ordering) {
    if !all && head < v.len() {
        v.select_nth_unstable_by(head, &cmp);
        v[..head].sort_unstable_by(cmp);
    } else {
        v.sort_unstable_by(cmp);
    }
}

/// The stages of one comparison, for diagnostics (see [`super::trace`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StageTrace {
    /// The final score ([`super::compare`]'s value).
    pub score: f32,
    /// The relaxation run on the consolidation's pairing instead of the LSS candidates:
    /// the sum of the n_P largest relaxed similarities over n_P.
    pub verified_lss: f32,
    /// Number of pairs in the consolidation's pairing.
    pub verified_pairs: usize,
    /// The LSS-R score (mean relaxed similarity of the n_P most efficient pairs).
    pub lss: f32,
    /// The consolidation score in [0, 1].
    pub global: f32,
    /// n_P: the number of pairs averaged into the LSS-R score.
    pub np: usize,
    /// The LSS-R pairs (a, b, relaxed similarity), most efficient first (the first n_P
    /// make the LSS-R score); indices in the caller's (a, b) order.
    pub by_efficiency: Vec<(usize, usize, f32)>,
    /// Local similarity of every minutia pair, row-major `a.len() × b.len()` in the caller's
    /// order (0 where the cylinders are not comparable).
    pub local: Vec<f32>,
    /// Whether each minutia of A, then of B, has a usable cylinder.
    pub usable: (Vec<bool>, Vec<bool>),
    /// The consolidation's seeds in the order they are tried (a, b, relaxed similarity) and
    /// the score each one's rigid alignment alone gets; the first 20 (only the first
    /// [`super::params::GLOBAL_SEEDS`] are tried by the matcher).
    pub seeds: Vec<(usize, usize, f32, f32)>,
}

/// Runs the pipeline and records its stages ([`StageTrace`]); the score is the same as
/// [`score`]'s.
pub fn trace(a: &FingerTemplate, b: &FingerTemplate) -> StageTrace {
    let ((x, y), swap) = canonical(a, b);
    let mut s = Scratch::default();
    let score = run_ordered(x, y, true, &mut s);
    let np = score_pairs(x.points.len(), y.points.len());
    // The stages, from what the run left in the scratch (pairs, order, seeds) and by running
    // the consolidation once more (deterministic: the same value the score used).
    let global = consolidate(x, y, &s.sim, &s.seeds, true, &mut s.cons);
    // Relaxation on the consolidation's pairing: the LSS-R of the verified pairs.
    let mut verified = s.cons.best.clone();
    relax(
        x,
        y,
        &mut verified,
        &mut Vec::new(),
        &mut RelaxScratch::default(),
    );
    let mut relaxed: Vec<f32> = verified.iter().map(|p| p.sim).collect();
    relaxed.sort_by(|p, q| q.total_cmp(p));
    let verified_lss = relaxed.iter().take(np).sum::<f32>() / np as f32;
    let orient = |p: &Pair| {
        if swap {
            (p.b as usize, p.a as usize)
        } else {
            (p.a as usize, p.b as usize)
        }
    };
    let by_efficiency: Vec<(usize, usize, f32)> = s
        .order
        .iter()
        .map(|&i| {
            let p = &s.pairs[i as usize];
            let (pa, pb) = orient(p);
            (pa, pb, p.sim)
        })
        .collect();
    let lss = (by_efficiency.iter().take(np).map(|p| p.2).sum::<f32>() / np as f32).clamp(0.0, 1.0);
    let seed_scores = super::consolidate::seed_scores(x, y, &s.sim, &s.seeds, 20, &mut s.cons);
    let seeds = s
        .seeds
        .iter()
        .zip(seed_scores)
        .map(|(p, sc)| {
            let (pa, pb) = orient(p);
            (pa, pb, p.sim, sc)
        })
        .collect();
    let (nx, ny) = (x.points.len(), y.points.len());
    let mut local = vec![0f32; nx * ny];
    if !s.sim.is_empty() {
        for i in 0..nx {
            for j in 0..ny {
                // x = a unless swapped; a row of the caller's matrix is as long as b.
                let k = if swap { j * nx + i } else { i * ny + j };
                local[k] = s.sim[i * ny + j];
            }
        }
    }
    let usable = |t: &FingerTemplate| {
        let mut u = vec![false; t.points.len()];
        for &i in &t.usable {
            u[i as usize] = true;
        }
        u
    };
    StageTrace {
        score,
        verified_lss,
        verified_pairs: verified.len(),
        lss,
        global,
        np,
        by_efficiency,
        local,
        usable: (usable(a), usable(b)),
        seeds,
    }
}
