//! Fuzz target: decoding a stored finger template must return, never panic; what it accepts
//! must match itself and encode back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = biometrics::finger::FingerTemplate::from_bytes(data) {
        assert_eq!(t.to_bytes(), data);
        let s = biometrics::finger::compare(&t, &t);
        assert!((0.0..=1.0).contains(&s));
    }
});
