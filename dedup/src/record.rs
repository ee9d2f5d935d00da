//! Turning a scored pair into a `match_candidates` row.

use biometrics::fusion::{Modality, PersonScore};
use biometrics::iris::Eye;
use chrono::{DateTime, Utc};
use lake::tables::match_candidates::MatchCandidateRecord;

use lake::vocabulary::{Band, CandidateSource, Relation};

use crate::thresholds::Thresholds;

/// The facts of one scored pair.
pub struct Pair<'a> {
    /// Dedup run.
    pub run_id: &'a str,
    /// Enrollment searched.
    pub probe_id: &'a str,
    /// Enrollment matched.
    pub candidate_id: &'a str,
    /// Gallery member or another probe of this run.
    pub source: CandidateSource,
    /// Whether both were enrolled under the same NIK.
    pub same_nik: bool,
    /// The fused score.
    pub score: &'a PersonScore,
    /// When scored.
    pub created: DateTime<Utc>,
}

/// The row for a pair, or `None` when its score is below the `possible` band.
pub fn row(pair: &Pair<'_>, thresholds: &Thresholds) -> Option<MatchCandidateRecord> {
    let llr = pair.score.llr;
    let band = if llr >= thresholds.match_llr {
        Band::Match
    } else if llr >= thresholds.possible_llr {
        Band::Possible
    } else {
        return None;
    };
    let mut parts = serde_json::Map::new();
    let (mut finger_llr, mut iris_llr) = (0f64, 0f64);
    let mut fingers = std::collections::BTreeSet::new();
    let mut irises = 0i16;
    for p in &pair.score.parts {
        let key = match p.what {
            Modality::Finger(a, b) if a == b => {
                fingers.insert(a);
                finger_llr += p.llr as f64;
                format!("f{a}")
            }
            Modality::Finger(a, b) => {
                finger_llr += p.llr as f64;
                format!("f{a}-f{b}")
            }
            Modality::Iris(eye) => {
                irises += 1;
                iris_llr += p.llr as f64;
                match eye {
                    Eye::Right => "right".to_string(),
                    Eye::Left => "left".to_string(),
                }
            }
        };
        parts.insert(
            key,
            serde_json::json!({
                "similarity": round(p.similarity as f64),
                "llr": round(p.llr as f64),
            }),
        );
    }
    Some(MatchCandidateRecord {
        run_id: pair.run_id.to_string(),
        probe_id: pair.probe_id.to_string(),
        candidate_id: pair.candidate_id.to_string(),
        candidate_source: pair.source,
        relation: if pair.same_nik {
            Relation::SameNik
        } else {
            Relation::DifferentNik
        },
        llr: llr as f64,
        band,
        finger_llr,
        iris_llr,
        fingers_compared: fingers.len() as i16,
        irises_compared: irises,
        swapped: pair.score.swapped.map(|(a, b)| format!("{a}-{b}")),
        parts: serde_json::Value::Object(parts).to_string(),
        created: pair.created,
    })
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use biometrics::fusion::ModalityScore;

    #[test]
    fn bands_and_parts() {
        let score = PersonScore {
            llr: 30.0,
            parts: vec![
                ModalityScore {
                    what: Modality::Finger(2, 2),
                    similarity: 0.5,
                    llr: 10.0,
                },
                ModalityScore {
                    what: Modality::Iris(Eye::Left),
                    similarity: 0.9,
                    llr: 20.0,
                },
            ],
            swapped: None,
        };
        let t = Thresholds {
            match_llr: 25.0,
            possible_llr: 15.0,
            gallery: 10,
        };
        let now = Utc::now();
        let pair = Pair {
            run_id: "r",
            probe_id: "p",
            candidate_id: "c",
            source: CandidateSource::Gallery,
            same_nik: false,
            score: &score,
            created: now,
        };
        let r = row(&pair, &t).unwrap();
        assert_eq!(r.band, Band::Match);
        assert_eq!((r.fingers_compared, r.irises_compared), (1, 1));
        assert_eq!((r.finger_llr, r.iris_llr), (10.0, 20.0));
        let parts: serde_json::Value = serde_json::from_str(&r.parts).unwrap();
        assert_eq!(parts["f2"]["llr"], 10.0);
        assert_eq!(parts["left"]["similarity"], 0.9);
        let low = PersonScore {
            llr: 20.0,
            ..score.clone()
        };
        assert_eq!(
            row(
                &Pair {
                    score: &low,
                    ..pair
                },
                &t
            )
            .unwrap()
            .band,
            Band::Possible
        );
        let lower = PersonScore {
            llr: 10.0,
            ..score.clone()
        };
        assert!(row(
            &Pair {
                score: &lower,
                ..pair
            },
            &t
        )
        .is_none());
    }
}
