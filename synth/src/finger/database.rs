//! A synthetic fingerprint database in the FVC layout: `fingers` fingers, `impressions`
//! captures each, named `<finger>_<impression>` as the FVC protocol (`tunggal eval fvc`)
//! expects — the evidence to tune and check the matcher on, beside the real FVC2002
//! templates, with the distortion of one's choice ([`Distortion`]).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{impression_with, Distortion, FingerMaster};
use crate::capture::CaptureQuality;

/// `(name, ISO/IEC 19794-2 bytes)` of every capture, fingers numbered from 1 and impressions
/// from 1; deterministic for `seed`. Finger positions cycle through the ten ISO positions;
/// each capture's quality is drawn from the realistic mix ([`CaptureQuality::draw`]).
pub fn fvc_database(
    fingers: usize,
    impressions: usize,
    distortion: &Distortion,
    seed: u64,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::with_capacity(fingers * impressions);
    for f in 0..fingers {
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (f as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let master = FingerMaster::generate((f % 10) as u8 + 1, &mut rng);
        for i in 0..impressions {
            let quality = CaptureQuality::draw(&mut rng);
            let record = impression_with(&master, quality, distortion, &mut rng);
            out.push((format!("{}_{}", f + 1, i + 1), record.to_bytes()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_deterministic_named_for_the_protocol_and_fvc2004_is_harsher() {
        let a = fvc_database(6, 4, &Distortion::LIVE_SCAN, 7);
        assert_eq!(a, fvc_database(6, 4, &Distortion::LIVE_SCAN, 7));
        assert_eq!(a.len(), 24);
        assert_eq!(a[0].0, "1_1");
        assert_eq!(a[23].0, "6_4");
        let minutiae = |db: &[(String, Vec<u8>)]| -> usize {
            db.iter()
                .map(|(_, bytes)| {
                    biometrics::iso19794::parse(bytes).expect("valid ISO").views[0]
                        .minutiae
                        .len()
                })
                .sum()
        };
        let hard = fvc_database(6, 4, &Distortion::FVC2004, 7);
        assert!(
            minutiae(&hard) < minutiae(&a),
            "dry and wet prints lose minutiae: {} vs {}",
            minutiae(&hard),
            minutiae(&a)
        );
    }
}
