//! Is a live capture good enough to decide on? The check `tunggal verify` runs on each live
//! finger at card pickup before matching it, so that a capture too poor to decide is recaptured
//! (*ulangi*) instead of being counted as a failed attempt (*gagal*).
//!
//! A capture is refused when any of these holds (thresholds and their measurement in
//! docs/biometrics.md, "Live-capture quality at pickup"):
//! - fewer than [`MIN_MINUTIAE`] minutiae: below that, a genuine comparison's score collapses
//!   under the pickup threshold (measured on the real FVC2002 templates);
//! - an ISO finger quality (when the device computed one) under [`MIN_FINGER_QUALITY`];
//! - a mean minutia quality (over the minutiae whose quality is reported) under
//!   [`MIN_MEAN_MINUTIA_QUALITY`];
//! - a minutiae area (convex hull, in mm² at the record's resolution) under [`MIN_AREA_MM2`]:
//!   a fingertip barely touching the sensor.
//!
//! Those refusals are *blocking*: such a capture is never matched. One more check only
//! *advises* a recapture: an ISO finger quality under [`COUNTER_FINGER_QUALITY`] (NFIQ 4–5 on
//! the usual 20/40/60/80/100 mapping). A capture that poor still decides often, but fails a
//! card holder several times as often as a good one, and a fresh press usually does better; the
//! counter asks for it, and on the operator's last try ([`CaptureAssessment::is_matchable`])
//! matches it anyway, so a citizen whose fingers never give a better print is not sent away.
//!
//! Quality values 0 mean "not computed" in ISO/IEC 19794-2 and are never held against a
//! capture.

use crate::iso19794::FingerView;

/// Fewest minutiae a live capture must have to be matched (see the module doc).
pub const MIN_MINUTIAE: usize = 12;
/// Lowest ISO finger quality (1..100) accepted when the capture device reports one.
pub const MIN_FINGER_QUALITY: u8 = 10;
/// ISO finger quality under which the counter asks for a recapture before matching (an
/// advisory check, see the module doc): NFIQ 4 and 5 map to ISO 40 and 20.
pub const COUNTER_FINGER_QUALITY: u8 = 45;
/// Lowest mean minutia quality (1..100) accepted over the minutiae that report one.
pub const MIN_MEAN_MINUTIA_QUALITY: u8 = 10;
/// Smallest area (mm²) of the convex hull of the minutiae accepted.
pub const MIN_AREA_MM2: f64 = 15.0;

/// Why a live capture is too poor to decide on.
#[derive(Debug, Clone, PartialEq)]
pub enum PoorCapture {
    /// Fewer minutiae than [`MIN_MINUTIAE`].
    TooFewMinutiae {
        /// Minutiae found in the capture.
        found: usize,
        /// The minimum.
        min: usize,
    },
    /// ISO finger quality under [`MIN_FINGER_QUALITY`].
    LowFingerQuality {
        /// The capture's finger quality.
        quality: u8,
        /// The minimum.
        min: u8,
    },
    /// ISO finger quality under [`COUNTER_FINGER_QUALITY`] (but not under
    /// [`MIN_FINGER_QUALITY`]): worth a recapture, matched on the operator's last try.
    FingerQualityBelowCounter {
        /// The capture's finger quality.
        quality: u8,
        /// The counter's threshold.
        min: u8,
    },
    /// Mean minutia quality under [`MIN_MEAN_MINUTIA_QUALITY`].
    LowMinutiaQuality {
        /// The mean over the minutiae that report a quality.
        mean: u8,
        /// The minimum.
        min: u8,
    },
    /// Minutiae area under [`MIN_AREA_MM2`].
    SmallArea {
        /// Convex-hull area of the minutiae in mm².
        area_mm2: f64,
        /// The minimum.
        min_mm2: f64,
    },
}

impl PoorCapture {
    /// `false` for a problem that only advises a recapture
    /// ([`PoorCapture::FingerQualityBelowCounter`]); `true` when the capture cannot be matched.
    pub fn is_blocking(&self) -> bool {
        !matches!(self, PoorCapture::FingerQualityBelowCounter { .. })
    }

    /// The reason in Bahasa Indonesia, as told to the counter operator.
    pub fn alasan(&self) -> String {
        match self {
            PoorCapture::TooFewMinutiae { found, min } => {
                format!("terlalu sedikit minutiae ({found} < {min})")
            }
            PoorCapture::LowFingerQuality { quality, min } => {
                format!("kualitas jari rendah ({quality} < {min})")
            }
            PoorCapture::FingerQualityBelowCounter { quality, min } => {
                format!("kualitas jari kurang ({quality} < {min}); tekan ulang jari")
            }
            PoorCapture::LowMinutiaQuality { mean, min } => {
                format!("kualitas minutiae rendah (rata-rata {mean} < {min})")
            }
            PoorCapture::SmallArea { area_mm2, min_mm2 } => {
                format!("area sidik jari terlalu kecil ({area_mm2:.0} mm² < {min_mm2:.0} mm²)")
            }
        }
    }
}

impl std::fmt::Display for PoorCapture {
    /// The reason in English.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoorCapture::TooFewMinutiae { found, min } => {
                write!(f, "too few minutiae ({found} < {min})")
            }
            PoorCapture::LowFingerQuality { quality, min } => {
                write!(f, "low finger quality ({quality} < {min})")
            }
            PoorCapture::FingerQualityBelowCounter { quality, min } => {
                write!(
                    f,
                    "finger quality below the counter's ({quality} < {min}); press again"
                )
            }
            PoorCapture::LowMinutiaQuality { mean, min } => {
                write!(f, "low minutia quality (mean {mean} < {min})")
            }
            PoorCapture::SmallArea { area_mm2, min_mm2 } => write!(
                f,
                "capture area too small ({area_mm2:.0} mm² < {min_mm2:.0} mm²)"
            ),
        }
    }
}

/// The assessment of one live capture: what was measured and, if any, why it is too poor.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureAssessment {
    /// Minutiae in the capture.
    pub minutiae: usize,
    /// Convex-hull area of the minutiae in mm².
    pub area_mm2: f64,
    /// Every reason the capture is too poor to decide on; empty when it is good enough.
    pub problems: Vec<PoorCapture>,
}

impl CaptureAssessment {
    /// `true` when nothing speaks against the capture: no blocking problem and no advice to
    /// recapture.
    pub fn is_acceptable(&self) -> bool {
        self.problems.is_empty()
    }

    /// `true` when the capture can be matched on the operator's last try: no blocking problem
    /// ([`PoorCapture::is_blocking`]).
    pub fn is_matchable(&self) -> bool {
        !self.problems.iter().any(PoorCapture::is_blocking)
    }
}

/// Assesses a live finger view captured at resolution `res_x` × `res_y` (pixels per
/// centimetre, as in the ISO record header; 0 is read as 197 ≈ 500 dpi). Pure and cheap
/// (linear in the minutiae, plus a sort for the hull).
pub fn capture_quality(view: &FingerView, res_x: u16, res_y: u16) -> CaptureAssessment {
    let minutiae = view.minutiae.len();
    let mut problems = Vec::new();
    if minutiae < MIN_MINUTIAE {
        problems.push(PoorCapture::TooFewMinutiae {
            found: minutiae,
            min: MIN_MINUTIAE,
        });
    }
    if view.quality != 0 && view.quality < MIN_FINGER_QUALITY {
        problems.push(PoorCapture::LowFingerQuality {
            quality: view.quality,
            min: MIN_FINGER_QUALITY,
        });
    } else if view.quality != 0 && view.quality < COUNTER_FINGER_QUALITY {
        problems.push(PoorCapture::FingerQualityBelowCounter {
            quality: view.quality,
            min: COUNTER_FINGER_QUALITY,
        });
    }
    let reported: Vec<u32> = view
        .minutiae
        .iter()
        .filter(|m| m.quality != 0)
        .map(|m| u32::from(m.quality))
        .collect();
    if !reported.is_empty() {
        let mean = (reported.iter().sum::<u32>() / reported.len() as u32) as u8;
        if mean < MIN_MEAN_MINUTIA_QUALITY {
            problems.push(PoorCapture::LowMinutiaQuality {
                mean,
                min: MIN_MEAN_MINUTIA_QUALITY,
            });
        }
    }
    let mm = |res: u16| 10.0 / f64::from(if res == 0 { 197 } else { res });
    let (sx, sy) = (mm(res_x), mm(res_y));
    let points: Vec<(f64, f64)> = view
        .minutiae
        .iter()
        .map(|m| (f64::from(m.x) * sx, f64::from(m.y) * sy))
        .collect();
    let area_mm2 = hull_area(points);
    // Too few minutiae already says it; a hull of two points is no news.
    if minutiae >= MIN_MINUTIAE && area_mm2 < MIN_AREA_MM2 {
        problems.push(PoorCapture::SmallArea {
            area_mm2,
            min_mm2: MIN_AREA_MM2,
        });
    }
    CaptureAssessment {
        minutiae,
        area_mm2,
        problems,
    }
}

/// Area of the convex hull of `points` (Andrew's monotone chain, then the shoelace formula).
fn hull_area(mut points: Vec<(f64, f64)>) -> f64 {
    points.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    points.dedup();
    if points.len() < 3 {
        return 0.0;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f64, f64)>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    let n = hull.len();
    let twice: f64 = (0..n)
        .map(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    twice.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso19794::{self, Minutia, MinutiaKind};
    use std::path::PathBuf;

    fn fvc() -> PathBuf {
        match std::env::var_os("TUNGGAL_SHARED_DATA") {
            Some(p) => PathBuf::from(p).join("fvc2002"),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fvc2002"),
        }
    }

    fn record(db: &str, name: &str) -> iso19794::FingerRecord {
        iso19794::parse(&std::fs::read(fvc().join(db).join(name)).unwrap()).unwrap()
    }

    #[test]
    fn a_real_template_is_refused_once_too_few_minutiae_remain() {
        let rec = record("DB1_B", "101_1.iso");
        let mut view = rec.views[0].clone();
        assert!(view.minutiae.len() > MIN_MINUTIAE);
        let full = capture_quality(&view, rec.res_x, rec.res_y);
        assert!(full.is_acceptable(), "{full:?}");
        assert!(full.area_mm2 > MIN_AREA_MM2, "{full:?}");
        // Remove minutiae one at a time, as a dry or partial press loses them.
        while view.minutiae.len() > MIN_MINUTIAE {
            view.minutiae.pop();
        }
        let at_min = capture_quality(&view, rec.res_x, rec.res_y);
        assert_eq!(at_min.minutiae, MIN_MINUTIAE);
        view.minutiae.pop();
        let a = capture_quality(&view, rec.res_x, rec.res_y);
        assert!(!a.is_acceptable());
        assert_eq!(
            a.problems,
            vec![PoorCapture::TooFewMinutiae {
                found: MIN_MINUTIAE - 1,
                min: MIN_MINUTIAE
            }]
        );
        assert_eq!(
            a.problems[0].alasan(),
            format!(
                "terlalu sedikit minutiae ({} < {MIN_MINUTIAE})",
                MIN_MINUTIAE - 1
            )
        );
        assert!(a.problems[0].to_string().starts_with("too few minutiae"));
    }

    #[test]
    fn every_real_fvc2002_impression_with_enough_minutiae_is_accepted() {
        for db in ["DB1_B", "DB2_B", "DB3_B", "DB4_B"] {
            for entry in std::fs::read_dir(fvc().join(db)).unwrap() {
                let path = entry.unwrap().path();
                let rec = iso19794::parse(&std::fs::read(&path).unwrap()).unwrap();
                let a = capture_quality(&rec.views[0], rec.res_x, rec.res_y);
                if a.minutiae >= MIN_MINUTIAE {
                    assert!(a.is_acceptable(), "{}: {a:?}", path.display());
                }
            }
        }
    }

    fn view_with(minutiae: Vec<Minutia>, quality: u8) -> FingerView {
        FingerView {
            position: 2,
            view_number: 0,
            impression_type: 0,
            quality,
            minutiae,
            extended: Vec::new(),
        }
    }

    fn grid(n: usize, step: u16, quality: u8) -> Vec<Minutia> {
        (0..n)
            .map(|i| Minutia {
                kind: MinutiaKind::RidgeEnding,
                x: 50 + (i as u16 % 5) * step,
                y: 50 + (i as u16 / 5) * step,
                angle: (i * 17) as u8,
                quality,
            })
            .collect()
    }

    #[test]
    fn low_reported_qualities_and_a_small_area_are_refused_unreported_ones_are_not() {
        // 20 minutiae on a 5×4 grid, 40 px apart at 197 px/cm: ~8.1 × 6.1 mm ≈ 50 mm².
        let good = capture_quality(&view_with(grid(20, 40, 0), 0), 197, 197);
        assert!(good.is_acceptable(), "{good:?}");
        assert!((good.area_mm2 - 160.0 * 120.0 / 19.7 / 19.7).abs() < 1e-6);

        let low = capture_quality(&view_with(grid(20, 40, 60), 9), 197, 197);
        assert_eq!(
            low.problems,
            vec![PoorCapture::LowFingerQuality {
                quality: 9,
                min: MIN_FINGER_QUALITY
            }]
        );
        assert!(!low.is_matchable());
        // From the floor up to the counter's threshold: a recapture is advised, not required.
        let fair = capture_quality(&view_with(grid(20, 40, 60), 10), 197, 197);
        assert_eq!(
            fair.problems,
            vec![PoorCapture::FingerQualityBelowCounter {
                quality: 10,
                min: COUNTER_FINGER_QUALITY
            }]
        );
        assert!(!fair.is_acceptable() && fair.is_matchable());
        let top = COUNTER_FINGER_QUALITY - 1;
        assert!(!capture_quality(&view_with(grid(20, 40, 60), top), 197, 197).is_acceptable());
        let at = capture_quality(&view_with(grid(20, 40, 60), top + 1), 197, 197);
        assert!(at.is_acceptable(), "{at:?}");
        let low = capture_quality(&view_with(grid(20, 40, 5), 80), 197, 197);
        assert_eq!(
            low.problems,
            vec![PoorCapture::LowMinutiaQuality {
                mean: 5,
                min: MIN_MEAN_MINUTIA_QUALITY
            }]
        );
        // The same 20 minutiae squeezed into 2 mm × 1.5 mm.
        let small = capture_quality(&view_with(grid(20, 10, 0), 0), 197, 197);
        assert!(matches!(
            small.problems[..],
            [PoorCapture::SmallArea { .. }]
        ));
        assert!(small.problems[0].alasan().starts_with("area sidik jari"));
    }

    /// The measurement behind [`MIN_MINUTIAE`] and [`MIN_AREA_MM2`] (docs/biometrics.md): for
    /// every FVC2002 genuine pair, the probe keeps a random `k` of its minutiae, and we count
    /// how often the finger's LLR still reaches its half of the pickup threshold.
    #[test]
    #[ignore = "a measurement: cargo test --workspace --lib capture_quality -- --ignored --nocapture"]
    fn measure_genuine_scores_against_minutiae_kept() {
        use crate::finger::{compare, prepare};
        use crate::fusion::{llr_threshold_for_fmr, Calibration};
        let cal = Calibration::finger_default();
        let half = llr_threshold_for_fmr(1e-4) / 2.0;
        let ks = [4usize, 6, 8, 10, 12, 14, 16, 20, 25, 30, 1000];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut min_n, mut min_area) = (usize::MAX, f64::MAX);
        for db in ["DB1_B", "DB2_B", "DB3_B", "DB4_B"] {
            let mut recs: Vec<(String, iso19794::FingerRecord)> = std::fs::read_dir(fvc().join(db))
                .unwrap()
                .map(|e| {
                    let p = e.unwrap().path();
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, iso19794::parse(&std::fs::read(&p).unwrap()).unwrap())
                })
                .collect();
            recs.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, r) in &recs {
                let a = capture_quality(&r.views[0], r.res_x, r.res_y);
                min_n = min_n.min(a.minutiae);
                min_area = min_area.min(a.area_mm2);
            }
            let mut line = format!("{db}:");
            for &k in &ks {
                let (mut pass, mut total) = (0usize, 0usize);
                for (i, (na, ra)) in recs.iter().enumerate() {
                    for (nb, rb) in recs.iter().skip(i + 1) {
                        if na.split('_').next() != nb.split('_').next() {
                            continue;
                        }
                        let enrolled = prepare(&rb.views[0], rb.res_x, rb.res_y);
                        for _ in 0..if k >= 1000 { 1 } else { 3 } {
                            let mut v = ra.views[0].clone();
                            while v.minutiae.len() > k {
                                let j = (next() % v.minutiae.len() as u64) as usize;
                                v.minutiae.swap_remove(j);
                            }
                            let probe = prepare(&v, ra.res_x, ra.res_y);
                            total += 1;
                            if cal.llr(compare(&probe, &enrolled)) >= half {
                                pass += 1;
                            }
                        }
                    }
                }
                line += &format!(" k={k}:{:.1}%", 100.0 * pass as f64 / total as f64);
            }
            println!("{line}");
        }
        println!("fewest minutiae {min_n}, smallest hull area {min_area:.1} mm²");
    }
}
