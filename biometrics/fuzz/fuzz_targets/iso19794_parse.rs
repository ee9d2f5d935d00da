//! Fuzz target: the ISO/IEC 19794-2 reader must return, never panic; what it accepts must
//! survive a write/read round trip (reserved bits are written as zero, so bytes may differ).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = biometrics::iso19794::parse(data) {
        assert_eq!(biometrics::iso19794::parse(&rec.to_bytes()).as_ref(), Ok(&rec));
    }
});
