//! The bridge between the population and the biometric generators: a person's true fingers
//! and irises ([`Body`]) and one enrollment capture of them ([`Capture`]).
//!
//! A body is regenerated on demand from the person's seed rather than stored, so packets can be
//! built in parallel in any order and a fraud attempt or re-enrollment of the same person
//! reuses exactly the same fingers. Relatives derive their fingers from the base person with
//! [`FingerMaster::sibling`].

use crate::capture::CaptureQuality;
use crate::finger::{self, FingerMaster};
use crate::iris::{self, IrisMaster};
use biometrics::iris::Eye as IrisEye;
use packet::Eye;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Where a person's biometrics come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lineage {
    /// A person of their own, generated from `seed`.
    Own {
        /// Seed of the person's fingers and irises.
        seed: u64,
    },
    /// A twin or close relative of the person with seed `base`: same finger classes and
    /// flow, new minutiae; irises are independent.
    RelativeOf {
        /// Seed of the base person.
        base: u64,
        /// Seed of this person's own variation.
        seed: u64,
    },
}

/// The true biometrics of one person: ten fingers (ISO positions 1..=10) and two irises.
pub struct Body {
    fingers: Vec<FingerMaster>,
    right: IrisMaster,
    left: IrisMaster,
}

impl Body {
    /// Regenerates the body of a person from their lineage; deterministic.
    pub fn of(lineage: Lineage) -> Body {
        match lineage {
            Lineage::Own { seed } => Body::generate(seed),
            Lineage::RelativeOf { base, seed } => {
                let base = Body::generate(base);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let fingers = base.fingers.iter().map(|f| f.sibling(&mut rng)).collect();
                Body {
                    fingers,
                    right: IrisMaster::generate(IrisEye::Right, &mut rng),
                    left: IrisMaster::generate(IrisEye::Left, &mut rng),
                }
            }
        }
    }

    fn generate(seed: u64) -> Body {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let fingers = (1..=10)
            .map(|p| FingerMaster::generate(p, &mut rng))
            .collect();
        Body {
            fingers,
            right: IrisMaster::generate(IrisEye::Right, &mut rng),
            left: IrisMaster::generate(IrisEye::Left, &mut rng),
        }
    }

    /// One capture of this body: the ISO record of every finger in `fingers` and the IrisCode
    /// of every eye in `eyes`, at the given quality; deterministic for `capture_seed`.
    pub fn capture(
        &self,
        fingers: &[u8],
        eyes: &[Eye],
        quality: CaptureQuality,
        capture_seed: u64,
    ) -> Capture {
        let mut rng = ChaCha8Rng::seed_from_u64(capture_seed);
        let fingers = fingers
            .iter()
            .filter_map(|&p| {
                let master = self.fingers.get(usize::from(p).checked_sub(1)?)?;
                Some((p, finger::impression(master, quality, &mut rng).to_bytes()))
            })
            .collect();
        let irises = eyes
            .iter()
            .map(|&eye| {
                let master = match eye {
                    Eye::Right => &self.right,
                    Eye::Left => &self.left,
                };
                (eye, iris::capture(master, quality, &mut rng).to_bytes())
            })
            .collect();
        Capture { fingers, irises }
    }
}

/// Captures `body` the way a station would and prepares the result the way ingest does: the
/// finger positions whose bit is set in `fingers` (bit `p−1` for ISO position `p`), the eyes
/// flagged in `eyes` (right, left). The matcher's view of a synthetic person, for benchmarks
/// and index experiments that skip the packet round trip.
pub fn person_template(
    lineage: Lineage,
    fingers: u16,
    eyes: [bool; 2],
    quality: CaptureQuality,
    capture_seed: u64,
) -> biometrics::fusion::PersonTemplate {
    let positions: Vec<u8> = (1..=10u8).filter(|p| fingers >> (p - 1) & 1 == 1).collect();
    let eye_list: Vec<Eye> = Eye::BOTH
        .into_iter()
        .zip(eyes)
        .filter(|e| e.1)
        .map(|e| e.0)
        .collect();
    let cap = Body::of(lineage).capture(&positions, &eye_list, quality, capture_seed);
    let mut person = biometrics::fusion::PersonTemplate::default();
    for (pos, bytes) in &cap.fingers {
        if let Ok(rec) = biometrics::iso19794::parse(bytes) {
            if let Some(view) = rec.views.first() {
                person.fingers[usize::from(*pos) - 1] =
                    Some(biometrics::finger::prepare(view, rec.res_x, rec.res_y));
            }
        }
    }
    for (eye, bytes) in &cap.irises {
        if let Ok(code) = biometrics::iris::IrisCode::from_bytes(bytes) {
            person.irises[usize::from(*eye == Eye::Left)] = Some(code);
        }
    }
    person
}

/// The biometric members of one packet.
pub struct Capture {
    /// `(ISO position, ISO/IEC 19794-2:2005 bytes)`.
    pub fingers: Vec<(u8, Vec<u8>)>,
    /// `(eye, IrisCode bytes)`.
    pub irises: Vec<(Eye, Vec<u8>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_parse_and_are_deterministic() {
        let body = Body::of(Lineage::Own { seed: 5 });
        let all: Vec<u8> = (1..=10).collect();
        let a = body.capture(&all, &Eye::BOTH, CaptureQuality::Good, 9);
        let b =
            Body::of(Lineage::Own { seed: 5 }).capture(&all, &Eye::BOTH, CaptureQuality::Good, 9);
        assert_eq!(a.fingers, b.fingers);
        assert_eq!(a.irises, b.irises);
        for (p, bytes) in &a.fingers {
            let rec = biometrics::iso19794::parse(bytes).unwrap();
            assert_eq!(rec.views[0].position, *p);
        }
        for (eye, bytes) in &a.irises {
            packet::templates::parse_iris(*eye, bytes.clone()).unwrap();
        }
        let other = body.capture(&all, &Eye::BOTH, CaptureQuality::Good, 10);
        assert_ne!(a.fingers, other.fingers, "new capture, new noise");
    }
}
