//! Person-level fusion: missing modalities, iris contribution, swapped finger labels.

use biometrics::finger::prepare;
use biometrics::fusion::{compare_persons, llr_threshold_for_fmr, Fusion, PersonTemplate};
use biometrics::iris::{Eye, IrisCode};
use biometrics::iso19794;

fn finger(name: &str) -> biometrics::finger::FingerTemplate {
    let bytes = std::fs::read(format!("/work/shared/data/fvc2002/DB1_B/{name}.iso")).unwrap();
    let rec = iso19794::parse(&bytes).unwrap();
    prepare(&rec.views[0], rec.res_x, rec.res_y)
}

fn iris(seed: u64) -> IrisCode {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    IrisCode {
        eye: Eye::Right,
        quality: 0,
        code: std::array::from_fn(|_| next()),
        mask: [u64::MAX; 32],
    }
}

/// Person with fingers at positions 2 and 7 from impression `imp` of fingers 101 and 102.
fn person(imp: u8, iris_seed: Option<u64>) -> PersonTemplate {
    let mut p = PersonTemplate::default();
    p.fingers[1] = Some(finger(&format!("101_{imp}")));
    p.fingers[6] = Some(finger(&format!("102_{imp}")));
    p.irises[0] = iris_seed.map(iris);
    p
}

#[test]
fn genuine_beats_impostor_and_missing_is_neutral() {
    let f = Fusion::default();
    let a = person(1, None);
    let b = person(2, None);
    let mut c = PersonTemplate::default();
    c.fingers[1] = Some(finger("103_1"));
    c.fingers[6] = Some(finger("104_1"));
    let g = compare_persons(&a, &b, &f);
    let i = compare_persons(&a, &c, &f);
    assert!(g.llr > llr_threshold_for_fmr(1e-3), "{g:?}");
    assert!(i.llr < 0.0, "{i:?}");
    assert_eq!(g.parts.len(), 2);
    // Nothing in common to compare: LLR 0 (no evidence either way).
    let empty = PersonTemplate::default();
    assert_eq!(compare_persons(&a, &empty, &f).llr, 0.0);
}

#[test]
fn iris_adds_evidence() {
    let f = Fusion::default();
    let with = compare_persons(&person(1, Some(7)), &person(2, Some(7)), &f);
    let without = compare_persons(&person(1, None), &person(2, None), &f);
    assert!(with.llr > without.llr + 5.0, "{with:?}");
    let other = compare_persons(&person(1, Some(7)), &person(2, Some(8)), &f);
    assert!(other.llr < without.llr);
}

#[test]
fn swapped_index_fingers_are_recovered() {
    let f = Fusion::default();
    let a = person(1, None);
    let mut b = person(3, None);
    b.fingers.swap(1, 6);
    let s = compare_persons(&a, &b, &f);
    assert_eq!(s.swapped, Some((2, 7)), "{s:?}");
    let straight = compare_persons(&a, &person(3, None), &f);
    assert!((straight.llr - f.cross_position.penalty - s.llr).abs() < 1e-3);
    let mut off = f.clone();
    off.cross_position.enabled = false;
    assert!(compare_persons(&a, &b, &off).llr < 0.0);
}
