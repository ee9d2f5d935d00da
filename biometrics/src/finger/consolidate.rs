//! Global consolidation: the strongest LSS-R pairs each propose a rigid alignment of A onto B;
//! under each, minutiae of A are paired one-to-one with minutiae of B that lie close with a
//! similar direction. The alignment with the best overlap-normalised count wins. Counting
//! geometrically consistent pairs over the whole overlap is what separates a genuine print
//! from an impostor whose few look-alike neighbourhoods do not line up globally.

use super::geometry::{angle_diff, near_hull, Point};
use super::params::*;
use super::relax::Pair;
use super::template::FingerTemplate;

/// Result of the consolidation: the best alignment's pairs and its overlap-normalised score.
#[derive(Debug, Clone, PartialEq)]
pub struct Consolidated {
    /// Score in [0, 1]: weighted matches² / (minutiae of A in the overlap · minutiae of B in
    /// the overlap), each overlap count floored at [`MIN_OVERLAP_MINUTIAE`].
    pub score: f32,
    /// Geometrically consistent pairs (sim = local similarity of the pair).
    pub pairs: Vec<Pair>,
}

/// A rigid transform mapping A's frame onto B's.
#[derive(Debug, Clone, Copy)]
struct Rigid {
    cos: f32,
    sin: f32,
    rot: f32,
    tx: f32,
    ty: f32,
}

impl Rigid {
    fn from_pair(a: &Point, b: &Point) -> Rigid {
        let rot = angle_diff(b.theta, a.theta);
        let (sin, cos) = rot.sin_cos();
        Rigid {
            cos,
            sin,
            rot,
            tx: b.x - (cos * a.x - sin * a.y),
            ty: b.y - (sin * a.x + cos * a.y),
        }
    }

    fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            self.cos * x - self.sin * y + self.tx,
            self.sin * x + self.cos * y + self.ty,
        )
    }
}

/// Consolidates the candidate `seeds` (LSS-R pairs, best first) into a global pairing.
pub fn consolidate(
    a: &FingerTemplate,
    b: &FingerTemplate,
    sim: &[f32],
    seeds: &[Pair],
) -> Consolidated {
    let nb = b.points.len();
    let mut best = Consolidated {
        score: 0.0,
        pairs: Vec::new(),
    };
    let mut moved: Vec<(f32, f32, f32)> = Vec::with_capacity(a.points.len());
    let mut candidates: Vec<(f32, u16, u16)> = Vec::new();
    let tol = GLOBAL_DIST_TOL;
    for seed in seeds.iter().take(GLOBAL_SEEDS) {
        let t = Rigid::from_pair(&a.points[seed.a as usize], &b.points[seed.b as usize]);
        moved.clear();
        moved.extend(a.points.iter().map(|p| {
            let (x, y) = t.apply(p.x, p.y);
            (x, y, p.theta + t.rot)
        }));
        candidates.clear();
        for (i, &(x, y, th)) in moved.iter().enumerate() {
            for (j, q) in b.points.iter().enumerate() {
                let d2 = (x - q.x).powi(2) + (y - q.y).powi(2);
                if d2 > tol * tol || angle_diff(th, q.theta).abs() > GLOBAL_ANGLE_TOL {
                    continue;
                }
                let closeness = 1.0 - d2.sqrt() / tol;
                candidates.push((closeness + sim[i * nb + j], i as u16, j as u16));
            }
        }
        candidates
            .sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        let mut used_a = vec![false; a.points.len()];
        let mut used_b = vec![false; nb];
        let mut pairs = Vec::new();
        for &(_, i, j) in &candidates {
            if !used_a[i as usize] && !used_b[j as usize] {
                used_a[i as usize] = true;
                used_b[j as usize] = true;
                pairs.push(Pair {
                    a: i,
                    b: j,
                    sim: sim[i as usize * nb + j as usize],
                });
            }
        }
        // Minutiae of each print that lie where the other print has ridge area.
        let hull_a: Vec<(f32, f32)> = a.hull.iter().map(|&(x, y)| t.apply(x, y)).collect();
        let ov_a = moved
            .iter()
            .filter(|m| near_hull(&b.hull, (m.0, m.1), OVERLAP_MARGIN))
            .count();
        let ov_b = b
            .points
            .iter()
            .filter(|q| near_hull(&hull_a, (q.x, q.y), OVERLAP_MARGIN))
            .count();
        // Pairs count by their local similarity, so that a pair whose neighbourhoods disagree
        // adds little even when its positions line up.
        let m =
            (SIM_COUNT_WEIGHT * pairs.iter().map(|p| p.sim).sum::<f32>()).min(pairs.len() as f32);
        let floor = |ov: usize| ov.max(MIN_OVERLAP_MINUTIAE).max(pairs.len()) as f32;
        let score = (m * m / (floor(ov_a) * floor(ov_b))).min(1.0);
        if score > best.score {
            best = Consolidated { score, pairs };
        }
    }
    best
}
