//! From index evidence to the members a probe is fully compared with: the shortlist, and
//! the iris check of the members just behind it.
//!
//! The index's evidence ranks a genuine mate first for most probes, but a poor capture (dry
//! or smudged fingers: few cylinders in common) can push it far down — in the 100,000-person
//! night every missed duplicate ranked between 73 and 619, while its full fused score was
//! five times the threshold. Irises settle that cheaply: comparing two iris codes is a few
//! popcounts (microseconds, nothing to rebuild), against ~1.5 ms for a full fused comparison
//! whose fingers must be rebuilt. So the members down to [`SearchParams::iris_depth`] in
//! evidence order get their irises compared with the probe's, and those whose iris LLR
//! alone reaches [`SearchParams::iris_admit_llr`] join the shortlist. A different person's
//! iris passes that level with probability at most `e^-iris_admit_llr` (the calibration's
//! likelihood-ratio property), so admissions are nearly all genuine and add few comparisons.

use super::SearchParams;
use crate::fusion::{Fusion, PersonTemplate};
use crate::iris::{Eye, IrisCode, ShiftedIris};
use std::cmp::Ordering;

/// The probe's irises rotated once, for comparing many members' irises.
pub(crate) struct IrisCheck {
    eyes: [Option<ShiftedIris>; 2],
    /// The highest LLR one eye can score: what the second eye can add at most.
    max_llr: f32,
}

impl IrisCheck {
    /// The check for `probe`, or `None` when it has no iris or the search checks none.
    pub(crate) fn new(probe: &PersonTemplate, params: &SearchParams) -> Option<IrisCheck> {
        if !IrisCheck::applies(probe, params) {
            return None;
        }
        let eyes = [Eye::Right, Eye::Left].map(|eye| {
            probe
                .iris(eye)
                .map(|c| ShiftedIris::new(c, params.fusion.iris_max_shift))
        });
        Some(IrisCheck {
            eyes,
            max_llr: params.fusion.iris.max_llr(),
        })
    }

    /// Whether `probe` gets an iris check at all (it has an iris and the search checks).
    pub(crate) fn applies(probe: &PersonTemplate, params: &SearchParams) -> bool {
        params.iris_depth > params.shortlist && probe.irises.iter().any(Option::is_some)
    }

    /// Whether the summed iris LLR of the eyes both have (as
    /// [`crate::fusion::compare_persons`] scores them; 0 when they share no eye) reaches
    /// `admit`. Gives up after the first eye when the second could not make up the
    /// difference even at the calibration's highest LLR: most members behind a shortlist are
    /// strangers, whose first eye alone rules them out.
    pub(crate) fn admits<'a>(
        &self,
        fusion: &Fusion,
        iris: impl Fn(Eye) -> Option<&'a IrisCode>,
        admit: f32,
    ) -> bool {
        let pairs: [Option<(&ShiftedIris, &IrisCode)>; 2] =
            [Eye::Right, Eye::Left].map(|eye| Some((self.eyes[eye.slot()].as_ref()?, iris(eye)?)));
        let mut left = pairs.iter().flatten().count() as f32;
        let mut sum = 0.0f32;
        for (mine, theirs) in pairs.into_iter().flatten() {
            sum += fusion.iris.llr(mine.compare(theirs).similarity());
            left -= 1.0;
            if sum + left * self.max_llr < admit {
                return false;
            }
        }
        sum >= admit
    }
}

/// Best first: evidence descending, then votes descending, then member ascending.
pub(crate) fn best_first<T: Ord>(a: &(f32, u32, T), b: &(f32, u32, T)) -> Ordering {
    b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2))
}

/// The members of one probe to compare fully, ascending: every member with at least
/// `always_votes` votes, the `shortlist` with the most evidence, and, when `iris_llr` is
/// given, those down to `iris_depth` it admits (their iris LLR reaches `iris_admit_llr`,
/// [`IrisCheck::admits`]). Also returns how many members' irises were compared. `scored`
/// holds (evidence, votes, member).
pub(crate) fn choose<T: Copy + Ord>(
    mut scored: Vec<(f32, u32, T)>,
    params: &SearchParams,
    iris_admits: Option<impl Fn(T) -> bool>,
) -> (Vec<T>, u64) {
    let mut out: Vec<T> = scored
        .iter()
        .filter(|s| s.1 >= params.always_votes)
        .map(|s| s.2)
        .collect();
    let k = params.shortlist;
    let depth = if iris_admits.is_some() {
        params.iris_depth.max(k)
    } else {
        k
    };
    if scored.len() > depth && depth > 0 {
        scored.select_nth_unstable_by(depth - 1, best_first);
    }
    scored.truncate(depth);
    if scored.len() > k && k > 0 {
        scored.select_nth_unstable_by(k - 1, best_first);
    }
    let behind = scored.split_off(k.min(scored.len()));
    out.extend(scored.iter().map(|s| s.2));
    let mut checked = 0u64;
    if let Some(iris_admits) = iris_admits {
        checked = behind.len() as u64;
        out.extend(behind.iter().filter(|s| iris_admits(s.2)).map(|s| s.2));
    }
    out.sort_unstable();
    out.dedup();
    (out, checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(shortlist: usize, depth: usize) -> SearchParams {
        SearchParams {
            shortlist,
            iris_depth: depth,
            iris_admit_llr: 5.0,
            always_votes: 100,
            ..SearchParams::default()
        }
    }

    #[test]
    fn the_iris_check_admits_exactly_when_the_summed_iris_llr_reaches_the_level() {
        use crate::iris::compare;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut code = |eye: Eye| IrisCode {
            eye,
            quality: 80,
            code: std::array::from_fn(|_| rng.gen()),
            mask: [u64::MAX; 32],
        };
        let fusion = Fusion::default();
        let probe = [code(Eye::Right), code(Eye::Left)];
        let check = IrisCheck {
            eyes: probe
                .clone()
                .map(|c| Some(ShiftedIris::new(&c, fusion.iris_max_shift))),
            max_llr: fusion.iris.max_llr(),
        };
        let (mut admitted, mut refused) = (0, 0);
        for k in 0..300u32 {
            // Members from strangers to near copies of the probe, eye by eye.
            let member = [0, 1].map(|e| {
                let mut c = code(probe[e].eye);
                let keep = (k + 7 * e as u32) % 10;
                for (w, x) in c.code.iter_mut().enumerate() {
                    if (w as u32 * 7 + k) % 10 < keep {
                        *x = probe[e].code[w];
                    }
                }
                c
            });
            let whole: f32 = (0..2)
                .map(|e| {
                    let s = compare(&probe[e], &member[e], fusion.iris_max_shift).similarity();
                    fusion.iris.llr(s)
                })
                .sum();
            for admit in [-30.0, 0.0, 6.0, 15.0, 24.0] {
                let said = check.admits(&fusion, |eye| Some(&member[eye.slot()]), admit);
                assert_eq!(said, whole >= admit, "member {k}, level {admit}: {whole}");
                if admit == 6.0 {
                    admitted += said as u32;
                    refused += !said as u32;
                }
            }
        }
        assert!(admitted > 20 && refused > 20, "{admitted} / {refused}");
        // One eye shared: only its LLR counts.
        let one = |eye: Eye| (eye == Eye::Left).then_some(&probe[1]);
        assert!(check.admits(&fusion, one, 11.9));
        assert!(!check.admits(&fusion, one, 12.1));
    }

    #[test]
    fn the_iris_check_admits_members_behind_the_shortlist_down_to_its_depth() {
        // member m has evidence 100 - m: the shortlist of 3 is 0, 1, 2.
        let scored: Vec<(f32, u32, u32)> = (0..20).map(|m| (100.0 - m as f32, 5, m)).collect();
        // irises pass for 1 (in the shortlist anyway), 7 and 15 (beyond the depth of 10)
        let iris = |m: u32| [1, 7, 15].contains(&m);
        let (chosen, checked) = choose(scored.clone(), &params(3, 10), Some(iris));
        assert_eq!(chosen, vec![0, 1, 2, 7]);
        assert_eq!(checked, 7);
        let none: Option<fn(u32) -> bool> = None;
        assert_eq!(
            choose(scored.clone(), &params(3, 10), none),
            (vec![0, 1, 2], 0)
        );
        // many votes always count, whatever the evidence
        let mut voted = scored;
        voted[19].1 = 100;
        assert_eq!(choose(voted, &params(3, 10), none).0, vec![0, 1, 2, 19]);
    }
}
