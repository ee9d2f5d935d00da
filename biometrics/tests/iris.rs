//! IrisCode record and matcher: byte round trip, header checks, rotation search.

use biometrics::iris::{compare, Eye, IrisCode, IRIS_CODE_LEN};
use biometrics::TemplateError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_code(rng: &mut ChaCha8Rng) -> IrisCode {
    IrisCode {
        eye: Eye::Left,
        quality: 77,
        code: std::array::from_fn(|_| rng.gen()),
        mask: std::array::from_fn(|_| rng.gen::<u64>() | rng.gen::<u64>()),
    }
}

/// Rotates by `s` angular samples the slow, obvious way (bit by bit) as an oracle.
fn rotate_slow(words: &[u64; 32], s: i32) -> [u64; 32] {
    let mut out = [0u64; 32];
    for i in 0..2048usize {
        let (r, a, p) = (i / 256, (i % 256) / 2, i % 2);
        let bit = (words[i / 64] >> (i % 64)) & 1;
        let a2 = (a as i32 + s).rem_euclid(128) as usize;
        let j = 256 * r + 2 * a2 + p;
        out[j / 64] |= bit << (j % 64);
    }
    out
}

#[test]
fn round_trip_and_header_checks() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let c = random_code(&mut rng);
    let bytes = c.to_bytes();
    assert_eq!(bytes.len(), IRIS_CODE_LEN);
    assert_eq!(
        &bytes[..16],
        &[b'I', b'R', b'C', 0, 1, 2, 0, 8, 0, 128, 0, 2, 77, 0, 0, 0]
    );
    assert_eq!(IrisCode::from_bytes(&bytes).unwrap(), c);
    assert!(matches!(
        IrisCode::from_bytes(&bytes[..527]),
        Err(TemplateError::Truncated { .. })
    ));
    assert!(matches!(
        IrisCode::from_bytes(b"FMR\0"),
        Err(TemplateError::BadMagic { .. })
    ));
    let mut bad = bytes.clone();
    bad[5] = 3;
    assert!(matches!(
        IrisCode::from_bytes(&bad),
        Err(TemplateError::InvalidField { field: "eye", .. })
    ));
    let mut bad = bytes.clone();
    bad[4] = 2;
    assert!(matches!(
        IrisCode::from_bytes(&bad),
        Err(TemplateError::UnsupportedVersion { .. })
    ));
}

#[test]
fn finds_the_rotation() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let a = random_code(&mut rng);
    for s in [-5, -1, 0, 3, 8] {
        let b = IrisCode {
            code: rotate_slow(&a.code, s),
            mask: rotate_slow(&a.mask, s),
            ..a.clone()
        };
        let score = compare(&a, &b, 8);
        assert_eq!(score.shift, s);
        assert_eq!(score.hd_raw, 0.0);
        assert!(score.similarity() > 0.9);
        let back = compare(&b, &a, 8);
        assert_eq!(back.shift, -s);
        assert_eq!(back.hd_norm, score.hd_norm);
    }
}

#[test]
fn impostors_sit_near_half() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..20 {
        let (a, b) = (random_code(&mut rng), random_code(&mut rng));
        let s = compare(&a, &b, 8);
        assert!(s.hd_raw > 0.4 && s.hd_raw < 0.5, "{s:?}");
        assert!(s.similarity() < 0.2);
    }
    let empty = IrisCode {
        mask: [0; 32],
        ..random_code(&mut rng)
    };
    let s = compare(&empty, &empty, 2);
    assert_eq!((s.hd_norm, s.bits_compared, s.similarity()), (0.5, 0, 0.0));
}
